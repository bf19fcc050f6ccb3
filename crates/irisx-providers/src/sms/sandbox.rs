//! The sandbox: an SMS provider inside IRISX for tenants' own testing and for benchmarks. It accepts sends at
//! once and, when the message has a status callback, posts realistic receipts to it (`sent`, then `delivered`
//! or `undelivered`), signed like a real provider: header `x-irisx-sandbox-signature: t=<unix>,v1=<hex
//! HMAC-SHA256(secret, "<t>.<body>")>`, with a 300 s tolerance.
//!
//! Magic recipients behave like Twilio's test numbers:
//!
//! | to | outcome |
//! |---|---|
//! | `+15005550001` | refused: invalid number (`21211`, permanent) |
//! | `+15005550002` | refused: unroutable (`21612`, permanent) |
//! | `+15005550003` | refused: provider unavailable (`503`, retryable) |
//! | `+15005550004` | taken, but the answer is lost (unknown; reconciliation finds it `sent`) |
//! | `+15005550009` | accepted, then `undelivered` with `30003` |
//! | anything else | accepted, then `sent` and `delivered` |

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{
    Accepted, CallbackError, CallbackRequest, InboundSms, OutboundSms, ProviderError, ProviderKind, SmsProvider,
    StatusUpdate,
};
use reqwest::Client;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{BuildError, credentials};
use crate::signing::{fresh, hmac_sha256, same};

/// The header carrying the sandbox's signature.
pub const HEADER: &str = "x-irisx-sandbox-signature";
const TOLERANCE_SECS: i64 = 300;

/// The sandbox's settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// Signs the receipts it posts.
    pub secret: String,
    /// Pause before each receipt, in milliseconds (default 50).
    #[serde(default)]
    pub receipt_delay_ms: Option<u64>,
    /// Pause before answering each send, in milliseconds (default 0): a real provider's latency, for load
    /// and fairness tests.
    #[serde(default)]
    pub send_delay_ms: Option<u64>,
}

/// The sandbox adapter.
pub struct Sandbox {
    creds: Credentials,
    http: Client,
}

/// Builds the adapter.
pub fn build(
    creds: &serde_json::Value,
    _base_url: Option<&str>,
    client: Client,
) -> Result<Arc<dyn SmsProvider>, BuildError> {
    Ok(Arc::new(Sandbox::new(
        credentials(ProviderKind::Sandbox, creds)?,
        client,
    )))
}

/// The id the sandbox gives a message: stable, so reconciliation finds it again.
pub fn provider_id(message_id: &str) -> String {
    format!("SB{}", &hex::encode(Sha256::digest(message_id.as_bytes()))[..32])
}

/// Signs a receipt body as the sandbox does.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut msg = format!("{timestamp}.").into_bytes();
    msg.extend_from_slice(body);
    format!("t={timestamp},v1={}", hex::encode(hmac_sha256(secret.as_bytes(), &msg)))
}

/// Checks a callback signed with [`sign`] (also used by the email sandbox): the header's HMAC and a timestamp
/// within 300 s of its arrival.
pub fn verify(secret: &str, req: &CallbackRequest) -> Result<(), CallbackError> {
    let header = req
        .header(HEADER)
        .ok_or_else(|| CallbackError::Signature(format!("no {HEADER} header")))?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", x)) => t = x.parse::<i64>().ok(),
            Some(("v1", x)) => v1 = hex::decode(x).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(CallbackError::Signature(format!("{HEADER} is malformed")));
    };
    if !fresh(t, req.received_at, TOLERANCE_SECS) {
        return Err(CallbackError::Signature(
            "the timestamp is outside the tolerance".into(),
        ));
    }
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(&req.body);
    if same(&hmac_sha256(secret.as_bytes(), &msg), &v1) {
        Ok(())
    } else {
        Err(CallbackError::Signature("the signature does not match".into()))
    }
}

fn refusal(to: &str) -> Option<ProviderError> {
    let permanent = |code: &str, message: &str| ProviderError::Permanent {
        code: code.into(),
        message: message.into(),
    };
    match to {
        "+15005550001" => Some(permanent("21211", "the 'To' number is not a valid phone number")),
        "+15005550002" => Some(permanent("21612", "the 'To' number cannot be reached")),
        "+15005550003" => Some(ProviderError::Retryable {
            code: "503".into(),
            message: "the sandbox is unavailable".into(),
            after: None,
        }),
        "+15005550004" => Some(ProviderError::Unknown {
            message: "the sandbox took the message and lost the answer".into(),
        }),
        _ => None,
    }
}

impl Sandbox {
    /// A sandbox with these settings.
    pub fn new(creds: Credentials, http: Client) -> Self {
        Self { creds, http }
    }

    fn receipts_for(to: &str) -> Vec<(DeliveryStatus, Option<&'static str>)> {
        if to == "+15005550009" {
            vec![
                (DeliveryStatus::Sent, None),
                (DeliveryStatus::Undelivered, Some("30003")),
            ]
        } else {
            vec![(DeliveryStatus::Sent, None), (DeliveryStatus::Delivered, None)]
        }
    }

    fn post_receipts(&self, url: String, provider_message_id: String, to: &str) {
        let (http, secret) = (self.http.clone(), self.creds.secret.clone());
        let delay = Duration::from_millis(self.creds.receipt_delay_ms.unwrap_or(50));
        let receipts = Self::receipts_for(to);
        tokio::spawn(async move {
            for (status, code) in receipts {
                tokio::time::sleep(delay).await;
                let now = OffsetDateTime::now_utc();
                let body = json!({
                    "message_id": provider_message_id,
                    "status": status.as_str(),
                    "error_code": code,
                    "occurred_at": now.unix_timestamp(),
                })
                .to_string();
                let sent = http
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header(HEADER, sign(&secret, now.unix_timestamp(), body.as_bytes()))
                    .body(body)
                    .send()
                    .await;
                if let Err(e) = sent {
                    tracing::warn!(error = %e, "the sandbox could not post a receipt");
                    return;
                }
            }
        });
    }
}

#[derive(Deserialize)]
struct Receipt {
    message_id: String,
    status: DeliveryStatus,
    error_code: Option<String>,
    occurred_at: Option<i64>,
}

#[derive(Deserialize)]
struct Inbound {
    id: String,
    from: String,
    to: String,
    body: String,
}

#[async_trait]
impl SmsProvider for Sandbox {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Sandbox
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, ProviderError> {
        if let Some(ms) = self.creds.send_delay_ms.filter(|ms| *ms > 0) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(e) = refusal(sms.to.as_str()) {
            return Err(e);
        }
        let id = provider_id(&sms.message_id);
        if let Some(url) = &sms.status_callback {
            self.post_receipts(url.clone(), id.clone(), sms.to.as_str());
        }
        let segments = irisx_core::sms::segments(&sms.body).count;
        Ok(Accepted {
            raw: json!({"id": id, "status": "queued", "segments": segments}),
            provider_message_id: id,
            status: DeliveryStatus::Queued,
            segments: Some(segments),
        })
    }

    async fn fetch_status(
        &self,
        sms: &OutboundSms,
        _provider_message_id: Option<&str>,
    ) -> Result<Option<StatusUpdate>, ProviderError> {
        if matches!(
            refusal(sms.to.as_str()),
            Some(ProviderError::Permanent { .. } | ProviderError::Retryable { .. })
        ) {
            return Ok(None);
        }
        let id = provider_id(&sms.message_id);
        Ok(Some(StatusUpdate {
            raw: json!({"id": id, "status": "sent"}),
            provider_message_id: id,
            status: DeliveryStatus::Sent,
            provider_status: "sent".into(),
            error_code: None,
            occurred_at: None,
        }))
    }

    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        verify(&self.creds.secret, req)
    }

    fn parse_status(&self, req: &CallbackRequest) -> Result<Vec<StatusUpdate>, CallbackError> {
        let raw: Value = serde_json::from_slice(&req.body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let r: Receipt = serde_json::from_value(raw.clone()).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        Ok(vec![StatusUpdate {
            provider_message_id: r.message_id,
            provider_status: r.status.as_str().to_owned(),
            status: r.status,
            error_code: r.error_code,
            occurred_at: r.occurred_at.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
            raw,
        }])
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundSms, CallbackError> {
        let raw: Value = serde_json::from_slice(&req.body).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        let m: Inbound = serde_json::from_value(raw.clone()).map_err(|e| CallbackError::Malformed(e.to_string()))?;
        Ok(InboundSms {
            provider_message_id: m.id,
            from: m.from,
            to: m.to,
            body: m.body,
            media: Vec::new(),
            raw,
        })
    }
}
