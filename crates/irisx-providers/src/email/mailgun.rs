//! Mailgun: the Messages API (`POST /v3/{domain}/messages`, `multipart/form-data`, HTTP Basic `api:<key>`),
//! webhooks (JSON, signed inside the body: `signature.signature = hex(HMAC-SHA256(signing key, timestamp +
//! token))`) and inbound Routes (`forward()` posts the parsed message as a form, signed the same way).
//!
//! Credentials:
//! - `api_key`: the private API key.
//! - `domain`: the sending domain, e.g. `mg.example.com` (the EU region is a base URL,
//!   `https://api.eu.mailgun.net`).
//! - `webhook_signing_key` (optional): the HTTP webhook signing key; without it every webhook is refused.
//!
//! IRISX's message id travels as the custom variable `v:irisx_message_id`, echoed in `user-variables`.
//!
//! Mailgun's signature covers the timestamp and the token, not the body: a captured signature could be replayed
//! with another body. So a token is accepted once per adapter (tokens are remembered for the 300 s the
//! timestamp is accepted), which refuses such a replay as long as the same adapter instance serves the account.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use irisx_core::email::provider::{
    CallbackError, CallbackRequest, EmailAccepted, EmailProvider, EmailProviderKind, ProviderError,
};
use irisx_core::email::{
    Attachment, BounceClass, EmailEvent, EmailEventKind, InboundEmail, OutboundEmail, TrackingOutcome,
};
use reqwest::Client;
use reqwest::multipart::{Form, Part as FilePart};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::multipart::{self, Part};
use super::{json, string, unix_time};
use crate::http::{error_body, json_body, status_error, transport_error};
use crate::signing::{fresh, hmac_sha256, same};
use crate::sms::form;

const BASE_URL: &str = "https://api.mailgun.net";
const TOLERANCE_SECS: i64 = 300;
/// The custom variable that carries IRISX's message id.
pub const MESSAGE_ID_VAR: &str = "irisx_message_id";
/// Mailgun takes at most three tags per message.
const MAX_TAGS: usize = 3;

/// A Mailgun domain's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The private API key.
    pub api_key: String,
    /// The sending domain.
    pub domain: String,
    /// The HTTP webhook signing key.
    #[serde(default)]
    pub webhook_signing_key: Option<String>,
}

/// The Mailgun adapter for one domain.
pub struct Mailgun {
    creds: Credentials,
    base: String,
    http: Client,
    /// Tokens already accepted, with their timestamps.
    seen: Mutex<HashMap<String, i64>>,
}

/// The text fields of a message's form, in order (files are added by [`Mailgun::form`]).
pub fn fields(email: &OutboundEmail) -> Vec<(String, String)> {
    let mut f = vec![("from".to_owned(), email.from.to_header())];
    f.extend(email.to.iter().map(|m| ("to".to_owned(), m.to_header())));
    f.extend(email.cc.iter().map(|m| ("cc".to_owned(), m.to_header())));
    f.extend(email.bcc.iter().map(|m| ("bcc".to_owned(), m.to_header())));
    f.push(("subject".into(), email.subject.clone()));
    if let Some(text) = &email.text {
        f.push(("text".into(), text.clone()));
    }
    if let Some(html) = &email.html {
        f.push(("html".into(), html.clone()));
    }
    if let Some(r) = &email.reply_to {
        f.push(("h:Reply-To".into(), r.to_header()));
    }
    f.extend(email.headers.iter().map(|(k, v)| (format!("h:{k}"), v.clone())));
    f.extend(
        email
            .tags
            .iter()
            .take(MAX_TAGS)
            .map(|t| ("o:tag".to_owned(), t.clone())),
    );
    f.push((format!("v:{MESSAGE_ID_VAR}"), email.message_id.clone()));
    f
}

/// Signs as Mailgun does (for tests): hex HMAC-SHA256 of the timestamp followed by the token.
pub fn sign(signing_key: &str, timestamp: &str, token: &str) -> String {
    hex::encode(hmac_sha256(
        signing_key.as_bytes(),
        format!("{timestamp}{token}").as_bytes(),
    ))
}

impl Mailgun {
    /// An adapter for one domain.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Self {
        let base = base_url.unwrap_or(BASE_URL).trim_end_matches('/').to_owned();
        Self {
            creds,
            base,
            http,
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn form(email: &OutboundEmail) -> Result<Form, ProviderError> {
        let mut form = Form::new();
        for (k, v) in fields(email) {
            form = form.text(k, v);
        }
        for a in &email.attachments {
            let part = FilePart::bytes(a.content.to_vec())
                .file_name(a.filename.clone())
                .mime_str(&a.content_type)
                .map_err(|e| ProviderError::Permanent {
                    code: "invalid_attachment".into(),
                    message: format!("{}: {e}", a.filename),
                })?;
            form = form.part("attachment", part);
        }
        Ok(form)
    }

    /// Checks Mailgun's `timestamp`, `token` and `signature` with the webhook signing key.
    fn verify(
        &self,
        timestamp: &str,
        token: &str,
        signature: &str,
        req: &CallbackRequest,
    ) -> Result<(), CallbackError> {
        let key = self.creds.webhook_signing_key.as_deref().ok_or_else(|| {
            CallbackError::Signature("no webhook_signing_key is configured for this Mailgun domain".into())
        })?;
        let secs: i64 = timestamp
            .parse()
            .map_err(|_| CallbackError::Signature("the timestamp is not a number".into()))?;
        if !fresh(secs, req.received_at, TOLERANCE_SECS) {
            return Err(CallbackError::Signature(
                "the timestamp is outside the tolerance".into(),
            ));
        }
        let given = hex::decode(signature).map_err(|_| CallbackError::Signature("the signature is not hex".into()))?;
        let want = hmac_sha256(key.as_bytes(), format!("{timestamp}{token}").as_bytes());
        if !same(&want, &given) {
            return Err(CallbackError::Signature("the signature does not match".into()));
        }
        self.remember(token, secs, req.received_at.unix_timestamp())
    }

    /// Refuses a token seen before; forgets tokens whose timestamps are no longer accepted anyway.
    fn remember(&self, token: &str, timestamp: i64, now: i64) -> Result<(), CallbackError> {
        let mut seen = self.seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.retain(|_, t| (now - *t).abs() <= TOLERANCE_SECS);
        if seen.insert(token.to_owned(), timestamp).is_some() {
            return Err(CallbackError::Signature("the token was already used (a replay)".into()));
        }
        Ok(())
    }
}

/// Maps a webhook's `event-data` to the normalized kind; `None` for events IRISX does not track (`accepted`,
/// `stored`, list events).
pub fn normalize(data: &Value) -> Option<EmailEventKind> {
    Some(match data["event"].as_str()? {
        "delivered" => EmailEventKind::Delivered,
        // A temporary failure is retried by Mailgun.
        "failed" if data["severity"].as_str() == Some("temporary") => EmailEventKind::Deferred,
        // `suppress-bounce`, `suppress-unsubscribe`, `suppress-complaint`: never sent.
        "failed" if data["reason"].as_str().is_some_and(|r| r.starts_with("suppress")) => EmailEventKind::Dropped,
        "failed" => EmailEventKind::Bounced {
            class: BounceClass::Hard,
        },
        "rejected" => EmailEventKind::Dropped,
        "opened" => EmailEventKind::Opened,
        "clicked" => EmailEventKind::Clicked {
            url: data["url"].as_str().unwrap_or_default().to_owned(),
        },
        "complained" => EmailEventKind::SpamReport,
        "unsubscribed" => EmailEventKind::Unsubscribed,
        _ => return None,
    })
}

fn event(data: &Value) -> Option<EmailEvent> {
    let status = &data["delivery-status"];
    let reason = [&status["message"], &status["description"], &data["reason"]]
        .into_iter()
        .filter_map(Value::as_str)
        .find(|s| !s.is_empty())
        .map(str::to_owned);
    Some(EmailEvent {
        recipient: data["recipient"].as_str()?.to_owned(),
        kind: normalize(data)?,
        provider_message_id: string(&data["message"]["headers"]["message-id"]),
        message_id: string(&data["user-variables"][MESSAGE_ID_VAR]),
        provider_event_id: string(&data["id"]),
        reason,
        occurred_at: unix_time(&data["timestamp"]),
        raw: data.clone(),
    })
}

#[async_trait]
impl EmailProvider for Mailgun {
    fn kind(&self) -> EmailProviderKind {
        EmailProviderKind::Mailgun
    }

    async fn send(&self, email: &OutboundEmail) -> Result<EmailAccepted, ProviderError> {
        let resp = self
            .http
            .post(format!("{}/v3/{}/messages", self.base, self.creds.domain))
            .basic_auth("api", Some(&self.creds.api_key))
            .multipart(Self::form(email)?)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            let (status, headers, body) = error_body(resp).await;
            let message = body["message"].as_str().map_or_else(|| body.to_string(), str::to_owned);
            return Err(status_error(status, &headers, status.as_u16().to_string(), message));
        }
        let body = json_body(resp).await?;
        // `<id@domain>`: events carry it without the angle brackets.
        let id = body["id"].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "Mailgun answered without a message id".into(),
        })?;
        Ok(EmailAccepted {
            provider_message_id: id.trim_matches(['<', '>']).to_owned(),
            raw: body,
        })
    }

    async fn verify_and_parse_events(&self, req: &CallbackRequest) -> Result<TrackingOutcome, CallbackError> {
        let body = json(&req.body)?;
        let sig = &body["signature"];
        let (Some(ts), Some(token), Some(signature)) = (
            sig["timestamp"].as_str(),
            sig["token"].as_str(),
            sig["signature"].as_str(),
        ) else {
            return Err(CallbackError::Signature("no signature object".into()));
        };
        self.verify(ts, token, signature, req)?;
        let data = &body["event-data"];
        if !data.is_object() {
            return Err(CallbackError::Malformed("no event-data".into()));
        }
        Ok(TrackingOutcome::Events(event(data).into_iter().collect()))
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundEmail, CallbackError> {
        let parts = form_parts(req)?;
        let field = |n: &str| multipart::field(&parts, n);
        let (Some(ts), Some(token), Some(signature)) = (field("timestamp"), field("token"), field("signature")) else {
            return Err(CallbackError::Signature(
                "no timestamp, token and signature fields".into(),
            ));
        };
        self.verify(&ts, &token, &signature, req)?;
        inbound(&parts)
    }
}

/// A Routes post as parts, whether it came as `multipart/form-data` or (without attachments) urlencoded.
fn form_parts(req: &CallbackRequest) -> Result<Vec<Part>, CallbackError> {
    let ct = req.header("content-type").unwrap_or_default();
    if ct.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return Ok(form::pairs(&req.body)
            .into_iter()
            .map(|(name, v)| Part {
                name,
                filename: None,
                content_type: None,
                data: v.into(),
            })
            .collect());
    }
    multipart::parse(Some(ct), &req.body)
}

fn inbound(parts: &[Part]) -> Result<InboundEmail, CallbackError> {
    let field = |n: &str| multipart::field(parts, n);
    let from = field("from").ok_or_else(|| CallbackError::Malformed("no `from` field".into()))?;
    // `message-headers` is a JSON list of `[name, value]` pairs.
    let headers: Vec<(String, String)> = field("message-headers")
        .and_then(|h| serde_json::from_str(&h).ok())
        .unwrap_or_default();
    let to = field("recipient")
        .map(|r| {
            r.split(',')
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let attachments = parts
        .iter()
        .filter(|p| p.filename.is_some())
        .map(|p| Attachment {
            filename: p.filename.clone().unwrap_or_default(),
            content_type: p
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
            content: p.data.clone(),
        })
        .collect();
    let raw: Map<String, Value> = parts
        .iter()
        .filter(|p| p.filename.is_none())
        .map(|p| (p.name.clone(), json!(p.text())))
        .collect();
    let message_id = field("Message-Id").or_else(|| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("message-id"))
            .map(|(_, v)| v.clone())
    });
    Ok(InboundEmail {
        provider_message_id: message_id,
        from,
        to,
        subject: field("subject").unwrap_or_default(),
        text: field("body-plain"),
        html: field("body-html"),
        headers,
        attachments,
        raw: Value::Object(raw),
    })
}
