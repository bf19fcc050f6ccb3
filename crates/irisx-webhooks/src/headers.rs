//! The request headers: the Standard Webhooks trio, content type and user agent, then the endpoint's custom
//! headers, which may add but never replace, and never set framing or hop-by-hop headers. Also the copy kept
//! in the attempt log, with the signatures and the custom values masked.

use irisx_core::ports::webhooks::WebhookRequest;
use irisx_core::webhook::signature_header;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, USER_AGENT};

/// Header names a custom header may not use: ours, framing, and hop-by-hop (RFC 9110 §7.6.1).
const RESERVED: &[&str] = &[
    "content-type",
    "content-length",
    "user-agent",
    "host",
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// The headers to send and their masked copy for the log.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) headers: HeaderMap,
    pub(crate) recorded: Vec<(String, String)>,
}

/// Builds the headers of one attempt; fails when there is no secret to sign with or the webhook id cannot be
/// a header value.
pub(crate) fn prepare(request: &WebhookRequest, user_agent: &HeaderValue) -> Result<Prepared, String> {
    if request.secrets.is_empty() {
        return Err("no secret to sign the webhook with".to_owned());
    }
    let id = HeaderValue::from_str(&request.webhook_id)
        .map_err(|_| "the webhook id cannot be sent as a header value".to_owned())?;
    let signature = signature_header(&request.secrets, &request.webhook_id, request.timestamp, &request.body);
    let mut prepared = Prepared {
        headers: HeaderMap::new(),
        recorded: Vec::new(),
    };
    prepared.push(CONTENT_TYPE, HeaderValue::from_static("application/json"), None);
    prepared.push(USER_AGENT, user_agent.clone(), None);
    prepared.push(HeaderName::from_static("webhook-id"), id, None);
    prepared.push(
        HeaderName::from_static("webhook-timestamp"),
        request.timestamp.into(),
        None,
    );
    let masked = mask_signatures(&signature);
    let value = HeaderValue::from_str(&signature).map_err(|_| "the signature is not a header value".to_owned())?;
    prepared.push(HeaderName::from_static("webhook-signature"), value, Some(masked));
    for (name, value) in &request.headers {
        match custom(name, value) {
            Ok((name, value)) => prepared.push(name, value, Some("***".into())),
            Err(why) => tracing::warn!(header = %name, why, "custom webhook header skipped"),
        }
    }
    Ok(prepared)
}

impl Prepared {
    fn push(&mut self, name: HeaderName, value: HeaderValue, masked: Option<String>) {
        let shown = masked.unwrap_or_else(|| String::from_utf8_lossy(value.as_bytes()).into_owned());
        self.recorded.push((name.as_str().to_owned(), shown));
        self.headers.append(name, value);
    }
}

fn custom(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), &'static str> {
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| "not a valid header name")?;
    if RESERVED.contains(&name.as_str()) || name.as_str().starts_with("webhook-") {
        return Err("reserved header name");
    }
    let value = HeaderValue::from_str(value).map_err(|_| "not a valid header value")?;
    Ok((name, value))
}

/// `v1,abc= v1,def=` → `v1,*** v1,***`.
fn mask_signatures(header: &str) -> String {
    header
        .split(' ')
        .map(|sig| match sig.split_once(',') {
            Some((version, _)) => format!("{version},***"),
            None => "***".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use irisx_core::webhook::{WebhookSecret, WebhookUrl};

    use super::*;

    fn request(headers: &[(&str, &str)]) -> WebhookRequest {
        WebhookRequest {
            url: WebhookUrl::parse("https://example.com/hook").unwrap(),
            webhook_id: "msg_1".into(),
            timestamp: 1_700_000_000,
            body: r#"{"a":1}"#.into(),
            secrets: vec![WebhookSecret::generate(), WebhookSecret::generate()],
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            timeout: Duration::from_secs(5),
        }
    }

    fn prepare_ok(req: &WebhookRequest) -> Prepared {
        prepare(req, &HeaderValue::from_static("IRISX-Webhooks/test")).unwrap()
    }

    #[test]
    fn the_log_masks_signatures_and_custom_values_but_shows_the_rest() {
        let prepared = prepare_ok(&request(&[("Authorization", "Bearer secret-token")]));
        let shown: Vec<(&str, &str)> = prepared
            .recorded
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("content-type", "application/json"),
                ("user-agent", "IRISX-Webhooks/test"),
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", "1700000000"),
                ("webhook-signature", "v1,*** v1,***"),
                ("authorization", "***"),
            ]
        );
        assert_eq!(prepared.headers["authorization"], "Bearer secret-token");
        assert!(
            prepared.headers["webhook-signature"]
                .to_str()
                .unwrap()
                .starts_with("v1,")
        );
    }

    #[test]
    fn custom_headers_never_replace_ours_nor_set_hop_by_hop_headers() {
        let req = request(&[
            ("webhook-id", "forged"),
            ("Webhook-Signature", "v1,forged"),
            ("content-type", "text/plain"),
            ("Connection", "close"),
            ("transfer-encoding", "chunked"),
            ("bad name", "x"),
            ("x-bad-value", "a\nb"),
            ("X-Tenant", "acme"),
        ]);
        let prepared = prepare_ok(&req);
        assert_eq!(prepared.headers.get_all("webhook-id").iter().count(), 1);
        assert_eq!(prepared.headers["webhook-id"], "msg_1");
        assert_eq!(prepared.headers["content-type"], "application/json");
        assert_eq!(prepared.headers.get_all("webhook-signature").iter().count(), 1);
        for absent in ["connection", "transfer-encoding", "x-bad-value"] {
            assert!(!prepared.headers.contains_key(absent), "{absent}");
        }
        assert_eq!(prepared.headers["x-tenant"], "acme");
    }

    #[test]
    fn a_webhook_id_that_cannot_be_a_header_is_an_error_not_a_panic() {
        let mut req = request(&[]);
        req.webhook_id = "msg\n1".into();
        assert!(prepare(&req, &HeaderValue::from_static("ua")).is_err());
    }

    #[test]
    fn a_request_without_a_secret_is_never_sent_unsigned() {
        let mut req = request(&[]);
        req.secrets.clear();
        let err = prepare(&req, &HeaderValue::from_static("ua")).unwrap_err();
        assert!(err.contains("no secret"), "{err}");
    }
}
