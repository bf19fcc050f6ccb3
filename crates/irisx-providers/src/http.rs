//! The shared HTTP client and the one place transport and status failures are classified.

use std::time::Duration;

use irisx_core::sms::provider::ProviderError;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, Response, StatusCode};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// Timeouts of provider calls.
#[derive(Debug, Clone, Copy)]
pub struct HttpOptions {
    /// Connecting (a connect failure means nothing was sent).
    pub connect_timeout: Duration,
    /// The whole request (a timeout after connecting means the outcome is unknown).
    pub timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(15),
        }
    }
}

/// The client every adapter of a kind shares: pooled keep-alive connections, timeouts, no redirects.
pub fn client(options: HttpOptions) -> Client {
    Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("irisx/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| Client::new())
}

/// Classifies a failure to get any response: a connection that never carried the request is retryable;
/// anything after the request may have left (a timeout, a reset) is unknown.
pub fn transport_error(e: &reqwest::Error) -> ProviderError {
    if e.is_connect() {
        ProviderError::Retryable {
            code: "connect".into(),
            message: e.to_string(),
            after: None,
        }
    } else if e.is_timeout() {
        ProviderError::Unknown {
            message: format!("timed out after the request was sent: {e}"),
        }
    } else if e.is_builder() || e.is_request() && !e.is_body() && e.status().is_none() && e.url().is_none() {
        ProviderError::Permanent {
            code: "request".into(),
            message: e.to_string(),
        }
    } else {
        ProviderError::Unknown {
            message: format!("the request may have been processed: {e}"),
        }
    }
}

/// `Retry-After` in seconds or as an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = OffsetDateTime::parse(v, &Rfc2822).ok()?;
    Duration::try_from(at - OffsetDateTime::now_utc()).ok()
}

/// Classifies an error response: 408, 429 and 5xx are retryable (honouring `Retry-After`); every other 4xx
/// is permanent. `code` and `message` come from the vendor's error body.
pub fn status_error(status: StatusCode, headers: &HeaderMap, code: String, message: String) -> ProviderError {
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT || status.is_server_error() {
        ProviderError::Retryable {
            code,
            message,
            after: retry_after(headers),
        }
    } else {
        ProviderError::Permanent { code, message }
    }
}

/// Reads a success body as JSON; a body that is not JSON makes the outcome unknown (the provider did answer
/// 2xx, so the message may exist).
pub async fn json_body(resp: Response) -> Result<serde_json::Value, ProviderError> {
    let text = resp.text().await.map_err(|e| ProviderError::Unknown {
        message: format!("reading the answer: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| ProviderError::Unknown {
        message: format!("the provider answered 2xx with a body that is not JSON: {e}"),
    })
}

/// Reads an error body as JSON if it is, or as text.
pub async fn error_body(resp: Response) -> (StatusCode, HeaderMap, serde_json::Value) {
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_once() {
        let h = HeaderMap::new();
        let class = |s: u16| status_error(StatusCode::from_u16(s).unwrap(), &h, "c".into(), "m".into());
        assert!(matches!(class(429), ProviderError::Retryable { .. }));
        assert!(matches!(class(500), ProviderError::Retryable { .. }));
        assert!(matches!(class(503), ProviderError::Retryable { .. }));
        assert!(matches!(class(400), ProviderError::Permanent { .. }));
        assert!(matches!(class(401), ProviderError::Permanent { .. }));
        assert!(matches!(class(404), ProviderError::Permanent { .. }));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = OffsetDateTime::now_utc() + Duration::from_secs(120);
        h.insert(RETRY_AFTER, later.format(&Rfc2822).unwrap().parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120), "{d:?}");
    }
}
