//! Telnyx Messaging (API v2): JSON sends with a Bearer API key, `{"data": message}` answers, JSON:API-like
//! `{"errors": [..]}` failures, and webhooks in a `{"data": {event_type, payload}}` envelope signed with Ed25519
//! over `"{telnyx-timestamp}|{raw body}"` (300 s tolerance).
//!
//! Telnyx takes no client reference on a send, so our message id is not sent; reconciliation needs the
//! provider's id (`GET /v2/messages/{id}`, which Telnyx serves for 10 days).

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{
    Accepted, CallbackError, CallbackRequest, InboundMedia, InboundSms, OutboundSms, ProviderError, ProviderKind,
    SmsProvider, StatusUpdate,
};
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::BuildError;
use crate::http::{error_body, json_body, status_error, transport_error};
use crate::signing::fresh;

const BASE_URL: &str = "https://api.telnyx.com";
/// The Telnyx SDKs' default tolerance between `telnyx-timestamp` and arrival.
const TOLERANCE_SECS: i64 = 300;

/// A Telnyx account's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The API v2 key, sent as `Authorization: Bearer`.
    pub api_key: String,
    /// The account's webhook public key: base64 of the raw 32-byte Ed25519 key.
    pub public_key: String,
    /// The messaging profile to send through (number pools, alphanumeric senders).
    #[serde(default)]
    pub messaging_profile_id: Option<String>,
}

/// The Telnyx adapter for one account.
pub struct Telnyx {
    creds: Credentials,
    public_key: VerifyingKey,
    base: String,
    http: Client,
}

/// Builds the adapter for one account.
pub fn build(
    creds: &serde_json::Value,
    base_url: Option<&str>,
    client: Client,
) -> Result<Arc<dyn SmsProvider>, BuildError> {
    let creds = super::credentials(ProviderKind::Telnyx, creds)?;
    Ok(Arc::new(Telnyx::new(creds, base_url, client)?))
}

/// Maps a Telnyx recipient status (`payload.to[].status`) to the normalized set.
pub fn normalize(status: &str) -> DeliveryStatus {
    match status {
        "scheduled" | "queued" | "sending" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "delivery_unconfirmed" => DeliveryStatus::Unknown,
        "delivery_failed" | "expired" => DeliveryStatus::Undelivered,
        "sending_failed" => DeliveryStatus::Failed,
        "cancelled" => DeliveryStatus::Canceled,
        // Inbound recipients carry one of these (which one is not settled in Telnyx's docs).
        "webhook_delivered" | "received" => DeliveryStatus::Received,
        _ => DeliveryStatus::Unknown,
    }
}

impl Telnyx {
    /// An adapter for one account; fails when the public key is not a base64 Ed25519 key.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Result<Self, BuildError> {
        let public_key = parse_public_key(&creds.public_key).map_err(|why| BuildError::Credentials {
            provider: ProviderKind::Telnyx.as_str(),
            source: <serde_json::Error as serde::de::Error>::custom(format!("public_key: {why}")),
        })?;
        let base = base_url.unwrap_or(BASE_URL).trim_end_matches('/').to_owned();
        Ok(Self {
            creds,
            public_key,
            base,
            http,
        })
    }

    fn messages_url(&self) -> String {
        format!("{}/v2/messages", self.base)
    }

    async fn error(&self, resp: reqwest::Response) -> ProviderError {
        let (status, headers, body) = error_body(resp).await;
        let first = &body["errors"][0];
        let code = match &first["code"] {
            Value::String(c) => c.clone(),
            Value::Number(n) => n.to_string(),
            _ => status.as_u16().to_string(),
        };
        let message = match (first["title"].as_str(), first["detail"].as_str()) {
            (Some(t), Some(d)) => format!("{t}: {d}"),
            (Some(m), None) | (None, Some(m)) => m.to_owned(),
            (None, None) => body.to_string(),
        };
        status_error(status, &headers, code, message)
    }
}

fn parse_public_key(b64: &str) -> Result<VerifyingKey, String> {
    let bytes = B64.decode(b64.trim()).map_err(|e| format!("not base64: {e}"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("{} bytes, an Ed25519 key has 32", b.len()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not an Ed25519 key: {e}"))
}

/// A phone number that Telnyx writes either as `{"phone_number": ..}` or as a bare string.
fn phone(v: &Value) -> Option<&str> {
    v["phone_number"].as_str().or_else(|| v.as_str())
}

/// The first error code of a message resource, as text.
fn first_error_code(message: &Value) -> Option<String> {
    match &message["errors"][0]["code"] {
        Value::String(c) if !c.is_empty() => Some(c.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn update_from_message(message: &Value, occurred_at: Option<&str>, raw: &Value) -> Option<StatusUpdate> {
    let status = message["to"][0]["status"].as_str()?;
    Some(StatusUpdate {
        provider_message_id: message["id"].as_str()?.to_owned(),
        status: normalize(status),
        provider_status: status.to_owned(),
        error_code: first_error_code(message),
        occurred_at: occurred_at.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()),
        raw: raw.clone(),
    })
}

fn envelope(req: &CallbackRequest) -> Result<Value, CallbackError> {
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|e| CallbackError::Malformed(format!("the webhook is not JSON: {e}")))?;
    if !v["data"]["payload"].is_object() {
        return Err(CallbackError::Malformed("the webhook has no `data.payload`".into()));
    }
    Ok(v)
}

#[async_trait]
impl SmsProvider for Telnyx {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Telnyx
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, ProviderError> {
        let mut body = Map::new();
        body.insert("from".into(), json!(sms.from));
        body.insert("to".into(), json!(sms.to.as_str()));
        if !sms.body.is_empty() || sms.media_urls.is_empty() {
            body.insert("text".into(), json!(sms.body));
        }
        if !sms.media_urls.is_empty() {
            body.insert("media_urls".into(), json!(sms.media_urls));
        }
        if let Some(profile) = &self.creds.messaging_profile_id {
            body.insert("messaging_profile_id".into(), json!(profile));
        }
        if let Some(cb) = &sms.status_callback {
            body.insert("webhook_url".into(), json!(cb));
        }
        let resp = self
            .http
            .post(self.messages_url())
            .bearer_auth(&self.creds.api_key)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            return Err(self.error(resp).await);
        }
        let answer = json_body(resp).await?;
        let data = &answer["data"];
        let id = data["id"].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "Telnyx answered without `data.id`".into(),
        })?;
        Ok(Accepted {
            provider_message_id: id.to_owned(),
            status: data["to"][0]["status"]
                .as_str()
                .map_or(DeliveryStatus::Queued, normalize),
            segments: data["parts"].as_u64().and_then(|p| u32::try_from(p).ok()),
            raw: answer,
        })
    }

    async fn fetch_status(
        &self,
        _sms: &OutboundSms,
        provider_message_id: Option<&str>,
    ) -> Result<Option<StatusUpdate>, ProviderError> {
        let Some(id) = provider_message_id else {
            return Err(ProviderError::Unknown {
                message: "Telnyx takes no client reference and has no message search: without its message id \
                          the send cannot be reconciled"
                    .into(),
            });
        };
        let resp = self
            .http
            .get(format!("{}/{id}", self.messages_url()))
            .bearer_auth(&self.creds.api_key)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.error(resp).await);
        }
        let answer = json_body(resp).await?;
        let data = &answer["data"];
        let occurred = data["completed_at"].as_str().or(data["sent_at"].as_str());
        update_from_message(data, occurred, data)
            .map(Some)
            .ok_or_else(|| ProviderError::Unknown {
                message: "Telnyx answered without `data.id` or `data.to[0].status`".into(),
            })
    }

    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        let signature = req
            .header("telnyx-signature-ed25519")
            .ok_or_else(|| CallbackError::Signature("no telnyx-signature-ed25519 header".into()))?;
        let timestamp = req
            .header("telnyx-timestamp")
            .ok_or_else(|| CallbackError::Signature("no telnyx-timestamp header".into()))?;
        let ts: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| CallbackError::Signature("telnyx-timestamp is not a Unix time".into()))?;
        if !fresh(ts, req.received_at, TOLERANCE_SECS) {
            return Err(CallbackError::Signature(format!(
                "telnyx-timestamp is more than {TOLERANCE_SECS} s from now"
            )));
        }
        let signature = B64
            .decode(signature.trim())
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(|| CallbackError::Signature("the signature is not a base64 Ed25519 signature".into()))?;
        let mut signed = format!("{}|", timestamp.trim()).into_bytes();
        signed.extend_from_slice(&req.body);
        self.public_key
            .verify_strict(&signed, &signature)
            .map_err(|_| CallbackError::Signature("telnyx-signature-ed25519 does not match".into()))
    }

    fn parse_status(&self, req: &CallbackRequest) -> Result<Vec<StatusUpdate>, CallbackError> {
        let v = envelope(req)?;
        let data = &v["data"];
        let payload = &data["payload"];
        // A profile's one webhook URL also receives inbound messages: those are not receipts.
        if data["event_type"].as_str() == Some("message.received") || payload["direction"].as_str() == Some("inbound") {
            return Ok(Vec::new());
        }
        let update = update_from_message(payload, data["occurred_at"].as_str(), &v).ok_or_else(|| {
            CallbackError::Malformed("the receipt has no `payload.id` or `payload.to[0].status`".into())
        })?;
        Ok(vec![update])
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundSms, CallbackError> {
        let v = envelope(req)?;
        let p = &v["data"]["payload"];
        let field = |name: &str, value: Option<&str>| {
            value
                .map(str::to_owned)
                .ok_or_else(|| CallbackError::Malformed(format!("the inbound message has no `{name}`")))
        };
        let media = p["media"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| {
                Some(InboundMedia {
                    url: m["url"].as_str()?.to_owned(),
                    content_type: m["content_type"].as_str().map(str::to_owned),
                })
            })
            .collect();
        Ok(InboundSms {
            provider_message_id: field("payload.id", p["id"].as_str())?,
            from: field("payload.from.phone_number", phone(&p["from"]))?,
            to: field("payload.to[0].phone_number", phone(&p["to"][0]))?,
            body: p["text"].as_str().unwrap_or_default().to_owned(),
            media,
            raw: v.clone(),
        })
    }
}

/// Signs a webhook as Telnyx does (for the sandbox and tests): base64 Ed25519 over `"{timestamp}|{body}"`.
pub fn sign(key: &SigningKey, timestamp: i64, body: &[u8]) -> String {
    let mut message = format!("{timestamp}|").into_bytes();
    message.extend_from_slice(body);
    B64.encode(key.sign(&message).to_bytes())
}

/// The base64 public key Telnyx shows for a signing key (what [`Credentials::public_key`] holds).
pub fn public_key(key: &SigningKey) -> String {
    B64.encode(key.verifying_key().to_bytes())
}
