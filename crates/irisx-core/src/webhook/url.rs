//! The endpoint URL, checked for form only: absolute `http` or `https`, a host, no credentials, at most 2,048
//! characters. Whether its host may be called (the SSRF rules) is the sender's decision, made on the address
//! actually connected to.

use serde::{Deserialize, Serialize};

const MAX_LEN: usize = 2048;

/// A webhook endpoint URL of valid form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Parses a URL, saying what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() > MAX_LEN {
            return Err(format!("must be at most {MAX_LEN} characters"));
        }
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or("must be an absolute http:// or https:// URL")?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err("must not carry credentials; use custom headers instead".into());
        }
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        if host.is_empty() {
            return Err("must name a host".into());
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".into());
        }
        Ok(Self(text.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<WebhookUrl> for String {
    fn from(value: WebhookUrl) -> Self {
        value.0
    }
}

impl std::fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_with_a_host_are_accepted() {
        for ok in [
            "https://example.com/hooks",
            "http://example.com:8080/a?b=c",
            "https://[2001:db8::1]/x",
        ] {
            assert_eq!(WebhookUrl::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn other_schemes_credentials_and_missing_hosts_are_refused() {
        for bad in [
            "ftp://example.com",
            "example.com/hook",
            "https://user:pw@example.com/",
            "https:///path",
            "https://a b",
        ] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
