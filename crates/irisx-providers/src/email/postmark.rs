//! Postmark: the Email API (`POST /email`, JSON, `X-Postmark-Server-Token`), webhooks (one JSON object per
//! post, `RecordType` ∈ Delivery, Bounce, SpamComplaint, Open, Click, SubscriptionChange) and the inbound
//! webhook (JSON). Postmark signs nothing: its webhooks are authenticated with HTTP Basic credentials put in the
//! webhook URL (`https://user:password@host/...`).
//!
//! Credentials:
//! - `server_token`: the server's API token.
//! - `message_stream` (optional, default `outbound`): the transactional stream to send on.
//! - `webhook_user`, `webhook_password` (optional): the Basic credentials of the webhook URLs; without them
//!   every webhook is refused.
//!
//! IRISX's message id travels in `Metadata.irisx_message_id`, echoed on every webhook.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use irisx_core::email::provider::{
    CallbackError, CallbackRequest, EmailAccepted, EmailProvider, EmailProviderKind, ProviderError,
};
use irisx_core::email::{
    Attachment, BounceClass, EmailEvent, EmailEventKind, InboundEmail, Mailbox, OutboundEmail, TrackingOutcome,
};
use reqwest::Client;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{json, rfc3339, string};
use crate::http::{error_body, json_body, status_error, transport_error};
use crate::signing::verify_basic;

const BASE_URL: &str = "https://api.postmarkapp.com";
/// The metadata key that carries IRISX's message id.
pub const MESSAGE_ID_KEY: &str = "irisx_message_id";
/// Postmark's bounce `TypeCode` for a spam complaint.
const SPAM_COMPLAINT: i64 = 100001;

/// A Postmark server's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The server API token.
    pub server_token: String,
    /// The message stream (default `outbound`).
    #[serde(default)]
    pub message_stream: Option<String>,
    /// The webhook URLs' Basic user.
    #[serde(default)]
    pub webhook_user: Option<String>,
    /// The webhook URLs' Basic password.
    #[serde(default)]
    pub webhook_password: Option<String>,
}

/// The Postmark adapter for one server.
pub struct Postmark {
    creds: Credentials,
    base: String,
    http: Client,
}

fn joined(list: &[Mailbox]) -> String {
    list.iter().map(Mailbox::to_header).collect::<Vec<_>>().join(", ")
}

/// The `/email` body of a message.
pub fn body(email: &OutboundEmail, stream: &str) -> Value {
    let mut b = json!({
        "From": email.from.to_header(),
        "To": joined(&email.to),
        "Subject": email.subject,
        "MessageStream": stream,
        "Metadata": {MESSAGE_ID_KEY: email.message_id},
    });
    let optional = [
        ("Cc", (!email.cc.is_empty()).then(|| joined(&email.cc))),
        ("Bcc", (!email.bcc.is_empty()).then(|| joined(&email.bcc))),
        ("TextBody", email.text.clone()),
        ("HtmlBody", email.html.clone()),
        ("ReplyTo", email.reply_to.as_ref().map(Mailbox::to_header)),
        // Postmark takes one tag.
        ("Tag", email.tags.first().cloned()),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            b[k] = json!(v);
        }
    }
    if !email.headers.is_empty() {
        b["Headers"] = email
            .headers
            .iter()
            .map(|(k, v)| json!({"Name": k, "Value": v}))
            .collect();
    }
    if !email.attachments.is_empty() {
        b["Attachments"] = email
            .attachments
            .iter()
            .map(|a| json!({"Name": a.filename, "Content": B64.encode(&a.content), "ContentType": a.content_type}))
            .collect();
    }
    b
}

impl Postmark {
    /// An adapter for one server.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Self {
        let base = base_url.unwrap_or(BASE_URL).trim_end_matches('/').to_owned();
        Self { creds, base, http }
    }

    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        let (Some(user), Some(password)) = (&self.creds.webhook_user, &self.creds.webhook_password) else {
            return Err(CallbackError::Signature(
                "Postmark's webhooks are unsigned: set webhook_user and webhook_password and put them in its URLs"
                    .into(),
            ));
        };
        verify_basic(req, user, password)
    }
}

fn refusal(status: reqwest::StatusCode, headers: &reqwest::header::HeaderMap, body: &Value) -> ProviderError {
    let code = body["ErrorCode"]
        .as_i64()
        .map_or_else(|| status.as_u16().to_string(), |c| c.to_string());
    let message = body["Message"].as_str().map_or_else(|| body.to_string(), str::to_owned);
    status_error(status, headers, code, message)
}

/// Maps a webhook to the normalized kind; `None` for records IRISX does not track (a re-subscription).
pub fn normalize(record: &Value) -> Option<EmailEventKind> {
    Some(match record["RecordType"].as_str()? {
        "Delivery" => EmailEventKind::Delivered,
        "Bounce" if record["TypeCode"].as_i64() == Some(SPAM_COMPLAINT) => EmailEventKind::SpamReport,
        "Bounce" => {
            let hard = record["Inactive"].as_bool() == Some(true)
                || matches!(record["Type"].as_str(), Some("HardBounce" | "BadEmailAddress"));
            EmailEventKind::Bounced {
                class: if hard { BounceClass::Hard } else { BounceClass::Soft },
            }
        }
        "SpamComplaint" => EmailEventKind::SpamReport,
        "Open" => EmailEventKind::Opened,
        "Click" => EmailEventKind::Clicked {
            url: record["OriginalLink"].as_str().unwrap_or_default().to_owned(),
        },
        "SubscriptionChange" if record["SuppressSending"].as_bool() == Some(true) => EmailEventKind::Unsubscribed,
        _ => return None,
    })
}

fn event(r: &Value) -> Option<EmailEvent> {
    let recipient = string(&r["Recipient"]).or_else(|| string(&r["Email"]))?;
    let at = ["DeliveredAt", "BouncedAt", "ReceivedAt", "ChangedAt"]
        .iter()
        .find_map(|k| rfc3339(&r[*k]));
    Some(EmailEvent {
        recipient,
        kind: normalize(r)?,
        provider_message_id: string(&r["MessageID"]),
        message_id: string(&r["Metadata"][MESSAGE_ID_KEY]),
        provider_event_id: r["ID"].as_i64().map(|id| id.to_string()),
        reason: string(&r["Description"]).or_else(|| string(&r["Details"])),
        occurred_at: at,
        raw: r.clone(),
    })
}

#[async_trait]
impl EmailProvider for Postmark {
    fn kind(&self) -> EmailProviderKind {
        EmailProviderKind::Postmark
    }

    async fn send(&self, email: &OutboundEmail) -> Result<EmailAccepted, ProviderError> {
        let stream = self.creds.message_stream.as_deref().unwrap_or("outbound");
        let resp = self
            .http
            .post(format!("{}/email", self.base))
            .header("x-postmark-server-token", &self.creds.server_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body(email, stream))
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            let (status, headers, body) = error_body(resp).await;
            return Err(refusal(status, &headers, &body));
        }
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = json_body(resp).await?;
        if body["ErrorCode"].as_i64().is_some_and(|c| c != 0) {
            return Err(refusal(status, &headers, &body));
        }
        let id = body["MessageID"].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "Postmark answered without a MessageID".into(),
        })?;
        Ok(EmailAccepted {
            provider_message_id: id.to_owned(),
            raw: body,
        })
    }

    async fn verify_and_parse_events(&self, req: &CallbackRequest) -> Result<TrackingOutcome, CallbackError> {
        self.verify(req)?;
        let record = json(&req.body)?;
        if record["RecordType"].as_str().is_none() {
            return Err(CallbackError::Malformed("no RecordType".into()));
        }
        Ok(TrackingOutcome::Events(event(&record).into_iter().collect()))
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundEmail, CallbackError> {
        self.verify(req)?;
        let m = json(&req.body)?;
        let from = string(&m["From"]).ok_or_else(|| CallbackError::Malformed("no From".into()))?;
        let to = m["ToFull"]
            .as_array()
            .map(|l| l.iter().filter_map(|a| string(&a["Email"])).collect())
            .unwrap_or_default();
        let headers = m["Headers"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|h| Some((string(&h["Name"])?, string(&h["Value"])?)))
                    .collect()
            })
            .unwrap_or_default();
        let attachments = m["Attachments"]
            .as_array()
            .map(|l| l.iter().filter_map(inbound_attachment).collect())
            .unwrap_or_default();
        let mut raw = m.clone();
        if let Some(list) = raw["Attachments"].as_array_mut() {
            list.iter_mut().for_each(|a| a["Content"] = Value::Null);
        }
        Ok(InboundEmail {
            provider_message_id: string(&m["MessageID"]),
            from,
            to,
            subject: string(&m["Subject"]).unwrap_or_default(),
            text: string(&m["TextBody"]).filter(|t| !t.is_empty()),
            html: string(&m["HtmlBody"]).filter(|t| !t.is_empty()),
            headers,
            attachments,
            raw,
        })
    }
}

fn inbound_attachment(a: &Value) -> Option<Attachment> {
    Some(Attachment {
        filename: string(&a["Name"])?,
        content_type: string(&a["ContentType"]).unwrap_or_else(|| "application/octet-stream".into()),
        content: B64.decode(a["Content"].as_str()?).ok()?.into(),
    })
}
