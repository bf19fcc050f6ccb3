//! Shared by the adapter suites: the vendors' documented payloads, a client with short timeouts, callbacks.
#![allow(dead_code)]

use std::time::Duration;

use bytes::Bytes;
use irisx_core::sms::E164;
use irisx_core::sms::provider::{CallbackRequest, OutboundSms, ProviderError};
use irisx_providers::http::{HttpOptions, client};
use serde_json::Value;
use time::OffsetDateTime;

/// A documented payload from `tests/contracts/<provider>/<name>`.
pub fn contract(path: &str) -> Value {
    let full = format!("{}/tests/contracts/{path}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))).unwrap()
}

/// A `_form.json` payload as form pairs (arrays become repeated keys).
pub fn contract_form(path: &str) -> Vec<(String, String)> {
    let v = contract(path);
    let mut out = Vec::new();
    for (k, v) in v.as_object().expect("a form payload is an object") {
        match v {
            Value::Array(items) => out.extend(items.iter().map(|i| (k.clone(), scalar(i)))),
            other => out.push((k.clone(), scalar(other))),
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A client whose request timeout is short, so a hanging mock is an unknown outcome quickly.
pub fn http() -> reqwest::Client {
    client(HttpOptions {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_millis(700),
    })
}

/// The message the suites send.
pub fn sms() -> OutboundSms {
    OutboundSms {
        message_id: "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12".into(),
        from: "+15017122661".into(),
        to: E164::parse("to", "+15558675310").unwrap(),
        body: "Hello from IRISX".into(),
        media_urls: Vec::new(),
        status_callback: Some("https://irisx.example/v1/providers/callbacks/status".into()),
        validity_period: None,
    }
}

/// A callback request.
pub fn callback(url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> CallbackRequest {
    CallbackRequest {
        url: url.to_owned(),
        method: "POST".into(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
            .collect(),
        body: body.into(),
        received_at: OffsetDateTime::now_utc(),
    }
}

/// A local address nothing listens on (connection refused).
pub fn dead_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

/// A failure's class in one word, with its code (and `Retry-After` seconds for retryable ones):
/// `permanent:21211`, `retryable:20429:3`, `retryable:500:-`, `unknown`.
pub fn class(e: ProviderError) -> String {
    match e {
        ProviderError::Permanent { code, .. } => format!("permanent:{code}"),
        ProviderError::Retryable { code, after, .. } => {
            format!(
                "retryable:{code}:{}",
                after.map_or("-".into(), |d| d.as_secs().to_string())
            )
        }
        ProviderError::Unknown { .. } => "unknown".into(),
    }
}

/// An address for the email suites.
pub fn addr(s: &str) -> irisx_core::validate::EmailAddress {
    irisx_core::validate::EmailAddress::parse("address", s).unwrap()
}

/// The email the suites send: the documented examples' sender, recipient, reply-to, subject and bodies.
pub fn email() -> irisx_core::email::OutboundEmail {
    use irisx_core::email::{Mailbox, OutboundEmail};
    OutboundEmail {
        message_id: "msg_0193b0c8a6f47d2e9a1c3b5d7e9f0a12".into(),
        from: Mailbox::named("Example Sender", addr("sender@example.com")),
        to: vec![Mailbox::named("John Doe", addr("john.doe@example.com"))],
        cc: Vec::new(),
        bcc: Vec::new(),
        reply_to: Some(Mailbox::new(addr("support@example.com"))),
        subject: "Hello, World!".into(),
        html: Some("<p>Hello</p>".into()),
        text: Some("Hello".into()),
        attachments: Vec::new(),
        headers: Vec::new(),
        tags: vec!["transactional".into()],
    }
}

/// The same email with copies, a custom header and an attachment.
pub fn full_email() -> irisx_core::email::OutboundEmail {
    use irisx_core::email::{Attachment, Mailbox};
    let mut e = email();
    e.cc = vec![Mailbox::new(addr("cc@example.com"))];
    e.bcc = vec![Mailbox::new(addr("bcc@example.com"))];
    e.headers = vec![("X-Campaign".into(), "spring".into())];
    e.attachments = vec![Attachment {
        filename: "report.pdf".into(),
        content_type: "application/pdf".into(),
        content: bytes::Bytes::from_static(b"%PDF-1.4 test"),
    }];
    e
}

/// A `multipart/form-data` body with this boundary: text fields, then files `(field, filename, type, bytes)`.
pub fn form_data(boundary: &str, fields: &[(&str, &str)], files: &[(&str, &str, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (name, filename, ct, data) in files {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n\
                 Content-Type: {ct}\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// An `Authorization: Basic` value.
pub fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}
