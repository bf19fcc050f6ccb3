//! Twilio SendGrid: v3 Mail Send (`POST /v3/mail/send`, JSON, `Authorization: Bearer`), the Signed Event
//! Webhook (ECDSA P-256 over the timestamp header and the raw body) and the Inbound Parse Webhook
//! (`multipart/form-data`, unsigned: IRISX requires HTTP Basic credentials in its URL).
//!
//! Credentials:
//! - `api_key`: the API key with Mail Send access.
//! - `webhook_public_key` (optional): the Signed Event Webhook's verification key, base64 of the DER
//!   SubjectPublicKeyInfo, as the console shows it; without it every event webhook is refused.
//! - `inbound_user`, `inbound_password` (optional): the Basic credentials put in the Inbound Parse URL
//!   (`https://user:password@host/...`); without them every inbound post is refused.
//!
//! IRISX's message id travels as the custom argument `irisx_message_id`, which SendGrid echoes on every event.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use irisx_core::email::provider::{
    CallbackError, CallbackRequest, EmailAccepted, EmailProvider, EmailProviderKind, ProviderError,
};
use irisx_core::email::{
    Attachment, BounceClass, EmailEvent, EmailEventKind, InboundEmail, Mailbox, OutboundEmail, TrackingOutcome,
};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use reqwest::Client;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::multipart::{self, Part};
use super::{BuildError, json, string, unix_time};
use crate::http::{error_body, status_error, transport_error};
use crate::signing::{fresh, verify_basic};

const BASE_URL: &str = "https://api.sendgrid.com";
/// The header carrying the event webhook's signature.
pub const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
/// The header carrying the signed timestamp.
pub const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";
const TOLERANCE_SECS: i64 = 300;
/// The custom argument that carries IRISX's message id.
pub const MESSAGE_ID_ARG: &str = "irisx_message_id";

/// A SendGrid account's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The API key.
    pub api_key: String,
    /// The Signed Event Webhook's public key (base64 DER).
    #[serde(default)]
    pub webhook_public_key: Option<String>,
    /// The Inbound Parse URL's Basic user.
    #[serde(default)]
    pub inbound_user: Option<String>,
    /// The Inbound Parse URL's Basic password.
    #[serde(default)]
    pub inbound_password: Option<String>,
}

/// The SendGrid adapter for one account.
pub struct SendGrid {
    creds: Credentials,
    webhook_key: Option<VerifyingKey>,
    base: String,
    http: Client,
}

impl SendGrid {
    /// An adapter for one account; fails when the webhook key does not decode.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Result<Self, BuildError> {
        let webhook_key = creds.webhook_public_key.as_deref().map(decode_key).transpose()?;
        let base = base_url.unwrap_or(BASE_URL).trim_end_matches('/').to_owned();
        Ok(Self {
            creds,
            webhook_key,
            base,
            http,
        })
    }

    fn verify_events(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        let key = self.webhook_key.as_ref().ok_or_else(|| {
            CallbackError::Signature("no webhook_public_key is configured for this SendGrid account".into())
        })?;
        let sig = req
            .header(SIGNATURE_HEADER)
            .ok_or_else(|| CallbackError::Signature(format!("no {SIGNATURE_HEADER} header")))?;
        let ts = req
            .header(TIMESTAMP_HEADER)
            .ok_or_else(|| CallbackError::Signature(format!("no {TIMESTAMP_HEADER} header")))?;
        let sig = B64
            .decode(sig.trim())
            .ok()
            .and_then(|der| Signature::from_der(&der).ok())
            .ok_or_else(|| CallbackError::Signature("the signature is not base64 DER ECDSA".into()))?;
        let secs: i64 = ts
            .trim()
            .parse()
            .map_err(|_| CallbackError::Signature("the timestamp is not a number".into()))?;
        if !fresh(secs, req.received_at, TOLERANCE_SECS) {
            return Err(CallbackError::Signature(
                "the timestamp is outside the tolerance".into(),
            ));
        }
        let mut message = ts.as_bytes().to_vec();
        message.extend_from_slice(&req.body);
        key.verify(&message, &sig)
            .map_err(|_| CallbackError::Signature("the signature does not match".into()))
    }

    async fn error(resp: reqwest::Response) -> ProviderError {
        let (status, headers, body) = error_body(resp).await;
        let message = body["errors"].as_array().map_or_else(
            || body.to_string(),
            |errs| {
                let each = errs.iter().map(|e| match e["field"].as_str() {
                    Some(f) => format!("{f}: {}", e["message"].as_str().unwrap_or_default()),
                    None => e["message"].as_str().unwrap_or_default().to_owned(),
                });
                each.collect::<Vec<_>>().join("; ")
            },
        );
        status_error(status, &headers, status.as_u16().to_string(), message)
    }
}

fn decode_key(b64: &str) -> Result<VerifyingKey, BuildError> {
    let bad = |why: String| BuildError::Settings {
        provider: "sendgrid",
        message: format!("webhook_public_key: {why}"),
    };
    let der = B64.decode(b64.trim()).map_err(|e| bad(e.to_string()))?;
    VerifyingKey::from_public_key_der(&der).map_err(|e| bad(e.to_string()))
}

fn address(m: &Mailbox) -> Value {
    match &m.name {
        Some(name) => json!({"email": m.address.as_str(), "name": name}),
        None => json!({"email": m.address.as_str()}),
    }
}

/// The Mail Send body of a message.
pub fn body(email: &OutboundEmail) -> Value {
    let list = |l: &[Mailbox]| Value::Array(l.iter().map(address).collect());
    let mut personalization = json!({"to": list(&email.to), "custom_args": {MESSAGE_ID_ARG: email.message_id}});
    if !email.cc.is_empty() {
        personalization["cc"] = list(&email.cc);
    }
    if !email.bcc.is_empty() {
        personalization["bcc"] = list(&email.bcc);
    }
    let mut content = Vec::new();
    if let Some(text) = &email.text {
        content.push(json!({"type": "text/plain", "value": text}));
    }
    if let Some(html) = &email.html {
        content.push(json!({"type": "text/html", "value": html}));
    }
    let mut body = json!({
        "personalizations": [personalization],
        "from": address(&email.from),
        "subject": email.subject,
        "content": content,
    });
    if let Some(r) = &email.reply_to {
        body["reply_to"] = address(r);
    }
    if !email.attachments.is_empty() {
        body["attachments"] = email.attachments.iter().map(attachment).collect();
    }
    if !email.headers.is_empty() {
        let headers: Map<String, Value> = email.headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        body["headers"] = Value::Object(headers);
    }
    if !email.tags.is_empty() {
        body["categories"] = json!(email.tags);
    }
    body
}

fn attachment(a: &Attachment) -> Value {
    json!({
        "content": B64.encode(&a.content),
        "type": a.content_type,
        "filename": a.filename,
        "disposition": "attachment",
    })
}

/// Maps one Event Webhook event to the normalized kind; `None` for events IRISX does not track
/// (`processed`, `group_resubscribe`).
pub fn normalize(event: &Value) -> Option<EmailEventKind> {
    Some(match event["event"].as_str()? {
        "delivered" => EmailEventKind::Delivered,
        "bounce" => EmailEventKind::Bounced {
            // `blocked` is SendGrid's temporary refusal; `bounce` a permanent one.
            class: if event["type"].as_str() == Some("blocked") {
                BounceClass::Soft
            } else {
                BounceClass::Hard
            },
        },
        "dropped" => EmailEventKind::Dropped,
        "deferred" => EmailEventKind::Deferred,
        "open" => EmailEventKind::Opened,
        "click" => EmailEventKind::Clicked {
            url: event["url"].as_str().unwrap_or_default().to_owned(),
        },
        "spamreport" => EmailEventKind::SpamReport,
        "unsubscribe" | "group_unsubscribe" => EmailEventKind::Unsubscribed,
        _ => return None,
    })
}

fn event(raw: &Value) -> Option<EmailEvent> {
    Some(EmailEvent {
        recipient: raw["email"].as_str()?.to_owned(),
        kind: normalize(raw)?,
        // `sg_message_id` is the send's `X-Message-Id` followed by `.filter…` routing details.
        provider_message_id: raw["sg_message_id"]
            .as_str()
            .map(|id| id.split('.').next().unwrap_or(id).to_owned()),
        message_id: string(&raw[MESSAGE_ID_ARG]),
        provider_event_id: string(&raw["sg_event_id"]),
        reason: string(&raw["reason"]).or_else(|| string(&raw["response"])),
        occurred_at: unix_time(&raw["timestamp"]),
        raw: raw.clone(),
    })
}

#[async_trait]
impl EmailProvider for SendGrid {
    fn kind(&self) -> EmailProviderKind {
        EmailProviderKind::Sendgrid
    }

    async fn send(&self, email: &OutboundEmail) -> Result<EmailAccepted, ProviderError> {
        let resp = self
            .http
            .post(format!("{}/v3/mail/send", self.base))
            .bearer_auth(&self.creds.api_key)
            .json(&body(email))
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            return Err(Self::error(resp).await);
        }
        // 202 with an empty body; without the header, events still carry IRISX's id in the custom argument.
        let id = resp
            .headers()
            .get("x-message-id")
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| email.message_id.clone(), str::to_owned);
        Ok(EmailAccepted {
            raw: json!({"status": resp.status().as_u16(), "x_message_id": id}),
            provider_message_id: id,
        })
    }

    async fn verify_and_parse_events(&self, req: &CallbackRequest) -> Result<TrackingOutcome, CallbackError> {
        self.verify_events(req)?;
        let body = json(&req.body)?;
        let events = body
            .as_array()
            .ok_or_else(|| CallbackError::Malformed("the Event Webhook posts an array of events".into()))?;
        Ok(TrackingOutcome::Events(events.iter().filter_map(event).collect()))
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundEmail, CallbackError> {
        let (Some(user), Some(password)) = (&self.creds.inbound_user, &self.creds.inbound_password) else {
            return Err(CallbackError::Signature(
                "SendGrid's Inbound Parse is unsigned: set inbound_user and inbound_password and put them in its URL"
                    .into(),
            ));
        };
        verify_basic(req, user, password)?;
        let parts = multipart::parse(req.header("content-type"), &req.body)?;
        match parts.iter().find(|p| p.name == "email") {
            // "POST the raw, full MIME message": the message itself, with the envelope beside it.
            Some(raw) => {
                let envelope: Value = multipart::field(&parts, "envelope")
                    .and_then(|e| serde_json::from_str(&e).ok())
                    .unwrap_or(Value::Null);
                let to: Vec<String> = envelope["to"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(string)
                    .collect();
                irisx_core::email::mime::parse(&raw.data, &to).map_err(CallbackError::Malformed)
            }
            None => inbound(&parts),
        }
    }
}

fn inbound(parts: &[Part]) -> Result<InboundEmail, CallbackError> {
    let field = |n: &str| multipart::field(parts, n);
    let from = field("from").ok_or_else(|| CallbackError::Malformed("no `from` field".into()))?;
    let headers = multipart::header_block(&field("headers").unwrap_or_default());
    let envelope: Value = field("envelope")
        .and_then(|e| serde_json::from_str(&e).ok())
        .unwrap_or(Value::Null);
    let to = match envelope["to"].as_array() {
        Some(list) => list.iter().filter_map(string).collect(),
        None => field("to").map(|t| vec![t]).unwrap_or_default(),
    };
    let info: Value = field("attachment-info")
        .and_then(|e| serde_json::from_str(&e).ok())
        .unwrap_or(Value::Null);
    let attachments = parts
        .iter()
        .filter(|p| p.filename.is_some())
        .map(|p| Attachment {
            filename: string(&info[&p.name]["filename"])
                .or_else(|| p.filename.clone())
                .unwrap_or_default(),
            content_type: string(&info[&p.name]["type"])
                .or_else(|| p.content_type.clone())
                .unwrap_or_else(|| "application/octet-stream".into()),
            content: p.data.clone(),
        })
        .collect();
    let raw: Map<String, Value> = parts
        .iter()
        .filter(|p| p.filename.is_none())
        .map(|p| (p.name.clone(), json!(p.text())))
        .collect();
    Ok(InboundEmail {
        provider_message_id: headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("message-id"))
            .map(|(_, v)| v.clone()),
        from,
        to,
        subject: field("subject").unwrap_or_default(),
        text: field("text"),
        html: field("html"),
        headers,
        attachments,
        raw: Value::Object(raw),
    })
}

/// Signs an Event Webhook post as SendGrid does (for the sandbox and tests): base64 DER ECDSA P-256 SHA-256
/// over the timestamp followed by the body.
pub fn sign(key: &p256::ecdsa::SigningKey, timestamp: &str, body: &[u8]) -> String {
    use p256::ecdsa::signature::Signer;
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    let sig: Signature = key.sign(&message);
    B64.encode(sig.to_der().as_bytes())
}

/// The base64 DER public key of a signing key, as SendGrid's console shows it (for tests).
pub fn public_key(key: &p256::ecdsa::SigningKey) -> String {
    use p256::pkcs8::EncodePublicKey;
    let der = key.verifying_key().to_public_key_der().expect("a P-256 key encodes");
    B64.encode(der.as_bytes())
}
