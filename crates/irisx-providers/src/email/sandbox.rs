//! The email sandbox: an email provider inside IRISX for tenants' own testing and for benchmarks. It accepts
//! sends at once and, when the account has an `events_url`, posts realistic tracking events to it, signed as
//! the SMS sandbox signs its receipts (header `x-irisx-sandbox-signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
//! "<t>.<body>")>`, 300 s tolerance).
//!
//! Magic recipients, by the part before `@` (any domain):
//!
//! | recipient | outcome |
//! |---|---|
//! | `reject@…` | refused: invalid recipient (`invalid_recipient`, permanent) |
//! | `unavailable@…` | refused: sandbox unavailable (`503`, retryable) |
//! | `timeout@…` | taken, but the answer is lost (unknown) |
//! | `bounce@…` | accepted, then `bounced` (hard) |
//! | `softbounce@…` | accepted, then `deferred` and `bounced` (soft) |
//! | `complaint@…` | accepted, then `delivered` and `spam_report` |
//! | anything else | accepted, then `delivered` |
//!
//! Credentials: `secret` (signs the events), `events_url` (optional), `event_delay_ms` (optional, default 50).

use std::time::Duration;

use async_trait::async_trait;
use irisx_core::email::provider::{
    CallbackError, CallbackRequest, EmailAccepted, EmailProvider, EmailProviderKind, ProviderError,
};
use irisx_core::email::{BounceClass, EmailEvent, EmailEventKind, OutboundEmail, TrackingOutcome};
use reqwest::Client;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{json, string};
use crate::sms::sandbox::{HEADER, sign, verify};

/// The sandbox's settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Signs the events it posts.
    pub secret: String,
    /// Where it posts events.
    #[serde(default)]
    pub events_url: Option<String>,
    /// Pause before each event, in milliseconds (default 50).
    #[serde(default)]
    pub event_delay_ms: Option<u64>,
}

/// The email sandbox adapter.
pub struct Sandbox {
    creds: Credentials,
    http: Client,
}

/// The id the sandbox gives a message: stable, derived from IRISX's id.
pub fn provider_id(message_id: &str) -> String {
    format!("SBE{}", &hex::encode(Sha256::digest(message_id.as_bytes()))[..32])
}

fn local_part(address: &str) -> &str {
    address.split('@').next().unwrap_or_default()
}

fn refusal(email: &OutboundEmail) -> Option<ProviderError> {
    email.recipients().find_map(|m| match local_part(m.address.as_str()) {
        "reject" => Some(ProviderError::Permanent {
            code: "invalid_recipient".into(),
            message: format!("{} does not accept mail", m.address),
        }),
        "unavailable" => Some(ProviderError::Retryable {
            code: "503".into(),
            message: "the sandbox is unavailable".into(),
            after: None,
        }),
        "timeout" => Some(ProviderError::Unknown {
            message: "the sandbox took the message and lost the answer".into(),
        }),
        _ => None,
    })
}

/// The event names the sandbox posts for a recipient, in order.
pub fn script(recipient: &str) -> &'static [&'static str] {
    match local_part(recipient) {
        "bounce" => &["bounced_hard"],
        "softbounce" => &["deferred", "bounced_soft"],
        "complaint" => &["delivered", "spam_report"],
        _ => &["delivered"],
    }
}

fn kind(name: &str, url: Option<String>) -> Option<EmailEventKind> {
    Some(match name {
        "delivered" => EmailEventKind::Delivered,
        "bounced_hard" => EmailEventKind::Bounced {
            class: BounceClass::Hard,
        },
        "bounced_soft" => EmailEventKind::Bounced {
            class: BounceClass::Soft,
        },
        "dropped" => EmailEventKind::Dropped,
        "deferred" => EmailEventKind::Deferred,
        "opened" => EmailEventKind::Opened,
        "clicked" => EmailEventKind::Clicked { url: url? },
        "spam_report" => EmailEventKind::SpamReport,
        "unsubscribed" => EmailEventKind::Unsubscribed,
        _ => return None,
    })
}

impl Sandbox {
    /// A sandbox with these settings.
    pub fn new(creds: Credentials, http: Client) -> Self {
        Self { creds, http }
    }

    fn post_events(&self, url: String, email: &OutboundEmail, id: &str) {
        let (http, secret) = (self.http.clone(), self.creds.secret.clone());
        let delay = Duration::from_millis(self.creds.event_delay_ms.unwrap_or(50));
        let steps: Vec<(String, &'static str)> = email
            .recipients()
            .flat_map(|m| script(m.address.as_str()).iter().map(|s| (m.address.to_string(), *s)))
            .collect();
        let (message_id, provider_message_id) = (email.message_id.clone(), id.to_owned());
        tokio::spawn(async move {
            for (n, (recipient, event)) in steps.into_iter().enumerate() {
                tokio::time::sleep(delay).await;
                let now = OffsetDateTime::now_utc().unix_timestamp();
                let body = json!({"events": [{
                    "id": format!("{provider_message_id}-{n}"),
                    "message_id": message_id,
                    "provider_message_id": provider_message_id,
                    "recipient": recipient,
                    "event": event,
                    "occurred_at": now,
                }]})
                .to_string();
                let sent = http
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(HEADER, sign(&secret, now, body.as_bytes()))
                    .body(body)
                    .send()
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "the email sandbox could not post an event");
                    return;
                }
            }
        });
    }
}

fn event(raw: &Value) -> Option<EmailEvent> {
    Some(EmailEvent {
        recipient: string(&raw["recipient"])?,
        kind: kind(raw["event"].as_str()?, string(&raw["url"]))?,
        provider_message_id: string(&raw["provider_message_id"]),
        message_id: string(&raw["message_id"]),
        provider_event_id: string(&raw["id"]),
        reason: string(&raw["reason"]),
        occurred_at: raw["occurred_at"]
            .as_i64()
            .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
        raw: raw.clone(),
    })
}

#[async_trait]
impl EmailProvider for Sandbox {
    fn kind(&self) -> EmailProviderKind {
        EmailProviderKind::Sandbox
    }

    async fn send(&self, email: &OutboundEmail) -> Result<EmailAccepted, ProviderError> {
        if let Some(e) = refusal(email) {
            return Err(e);
        }
        let id = provider_id(&email.message_id);
        if let Some(url) = &self.creds.events_url {
            self.post_events(url.clone(), email, &id);
        }
        Ok(EmailAccepted {
            raw: json!({"id": id, "status": "accepted"}),
            provider_message_id: id,
        })
    }

    async fn verify_and_parse_events(&self, req: &CallbackRequest) -> Result<TrackingOutcome, CallbackError> {
        verify(&self.creds.secret, req)?;
        let body = json(&req.body)?;
        let events = body["events"]
            .as_array()
            .ok_or_else(|| CallbackError::Malformed("no events".into()))?;
        Ok(TrackingOutcome::Events(events.iter().filter_map(event).collect()))
    }
}
