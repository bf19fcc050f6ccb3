//! Bandwidth Messaging API v2: JSON sends with HTTP Basic auth (API user), `202 Accepted` message answers,
//! `{type, description}` errors, and callbacks as JSON arrays of events that carry no signature: Bandwidth sends
//! the HTTP Basic credentials configured on the messaging application, which are checked here.
//!
//! Our message id travels as the message `tag` (echoed in every callback). The callback URL belongs to the
//! messaging application, not to the message, so [`OutboundSms::status_callback`] is not sent.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
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
use crate::signing::verify_basic;

const BASE_URL: &str = "https://messaging.bandwidth.com";
/// The furthest `expiration` Bandwidth accepts (five days; the bound is not confirmed in its spec).
const MAX_EXPIRATION: Duration = Duration::from_secs(5 * 24 * 3600);
/// The `errorCode` of a delivery receipt that never came: nobody knows whether the message arrived.
const DLR_EXPIRED: i64 = 9902;

/// A Bandwidth account's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The account id, part of every path.
    pub account_id: String,
    /// The API user's name (HTTP Basic on API calls).
    pub username: String,
    /// The API user's password.
    pub password: String,
    /// The messaging application that owns the sending numbers and the callback URL.
    pub application_id: String,
    /// The user name configured as the application's callback credentials; callbacks without it are refused.
    pub callback_username: String,
    /// The password configured as the application's callback credentials.
    pub callback_password: String,
}

/// The Bandwidth adapter for one account.
pub struct Bandwidth {
    creds: Credentials,
    base: String,
    http: Client,
}

/// Builds the adapter for one account.
pub fn build(
    creds: &serde_json::Value,
    base_url: Option<&str>,
    client: Client,
) -> Result<Arc<dyn SmsProvider>, BuildError> {
    let creds = super::credentials(ProviderKind::Bandwidth, creds)?;
    Ok(Arc::new(Bandwidth::new(creds, base_url, client)))
}

/// Maps a callback `type` to the normalized set; a `message-failed` is split by its `errorCode`
/// (see [`failure`]).
pub fn normalize(event_type: &str, error_code: Option<i64>) -> DeliveryStatus {
    match event_type {
        "message-sending" => DeliveryStatus::Sent,
        "message-delivered" => DeliveryStatus::Delivered,
        "message-failed" => failure(error_code),
        "message-received" => DeliveryStatus::Received,
        _ => DeliveryStatus::Unknown,
    }
}

/// What a failure `errorCode` means, by Bandwidth's code schema (first digit client/server, second digit who
/// reported it): a carrier's refusal or service failure (`47xx`, `56xx`) and an ambiguous downstream error
/// (`9xxx`) came after hand-off, so the message is undelivered; an expired delivery receipt (`9902`) leaves
/// the outcome unknown; Bandwidth's own rejections and failures (`41xx`–`44xx`, `51xx`–`55xx`), or no code,
/// mean it was never handed off.
pub fn failure(error_code: Option<i64>) -> DeliveryStatus {
    match error_code {
        Some(DLR_EXPIRED) => DeliveryStatus::Unknown,
        Some(c) if c / 1000 == 9 => DeliveryStatus::Undelivered,
        Some(c) if matches!(c / 100, 47 | 56) => DeliveryStatus::Undelivered,
        _ => DeliveryStatus::Failed,
    }
}

/// Maps a message search's `messageStatus` (`GET /messages`) to the normalized set.
pub fn normalize_search(status: &str, error_code: Option<i64>) -> DeliveryStatus {
    match status.to_ascii_uppercase().as_str() {
        "ACCEPTED" => DeliveryStatus::Accepted,
        "QUEUED" => DeliveryStatus::Queued,
        // As its callback `message-sending`: handed to the carrier.
        "SENDING" | "SENT" => DeliveryStatus::Sent,
        "DELIVERED" => DeliveryStatus::Delivered,
        "UNDELIVERED" => DeliveryStatus::Undelivered,
        "FAILED" => failure(error_code),
        "RECEIVED" => DeliveryStatus::Received,
        _ => DeliveryStatus::Unknown,
    }
}

impl Bandwidth {
    /// An adapter for one account.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Self {
        let base = base_url.unwrap_or(BASE_URL).trim_end_matches('/').to_owned();
        Self { creds, base, http }
    }

    fn messages_url(&self) -> String {
        format!("{}/api/v2/users/{}/messages", self.base, self.creds.account_id)
    }

    fn request_body(&self, sms: &OutboundSms) -> Value {
        let mut body = Map::new();
        body.insert("applicationId".into(), json!(self.creds.application_id));
        body.insert("to".into(), json!([sms.to.as_str()]));
        body.insert("from".into(), json!(sms.from));
        if !sms.body.is_empty() || sms.media_urls.is_empty() {
            body.insert("text".into(), json!(sms.body));
        }
        if !sms.media_urls.is_empty() {
            body.insert("media".into(), json!(sms.media_urls));
        }
        body.insert("tag".into(), json!(sms.message_id));
        if let Some(secs) = sms.validity_period {
            let valid_for = Duration::from_secs(secs.into()).min(MAX_EXPIRATION);
            let until = OffsetDateTime::now_utc() + valid_for;
            let until = until.replace_nanosecond(0).unwrap_or(until);
            if let Ok(at) = until.format(&Rfc3339) {
                body.insert("expiration".into(), json!(at));
            }
        }
        Value::Object(body)
    }

    async fn error(&self, resp: reqwest::Response) -> ProviderError {
        let (status, headers, body) = error_body(resp).await;
        let code = body["type"]
            .as_str()
            .map_or_else(|| status.as_u16().to_string(), str::to_owned);
        let mut message = body["description"]
            .as_str()
            .or(body["message"].as_str())
            .map_or_else(|| body.to_string(), str::to_owned);
        for f in body["fieldErrors"].as_array().into_iter().flatten() {
            let (name, why) = (
                f["fieldName"].as_str().unwrap_or("?"),
                f["description"].as_str().unwrap_or(""),
            );
            message.push_str(&format!("; {name}: {why}"));
        }
        status_error(status, &headers, code, message)
    }
}

/// An event's `errorCode`, as a number (Bandwidth sends an integer; a string is accepted too).
fn error_code(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .filter(|c| *c != 0)
}

fn parse_time(v: &Value) -> Option<OffsetDateTime> {
    v.as_str().and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

/// The events of a callback: a JSON array, or (leniently) one event object.
fn events(req: &CallbackRequest) -> Result<Vec<Value>, CallbackError> {
    match serde_json::from_slice(&req.body) {
        Ok(Value::Array(events)) => Ok(events),
        Ok(event @ Value::Object(_)) => Ok(vec![event]),
        Ok(_) => Err(CallbackError::Malformed(
            "the callback is not an array of events".into(),
        )),
        Err(e) => Err(CallbackError::Malformed(format!("the callback is not JSON: {e}"))),
    }
}

fn update_from_event(event: &Value) -> Result<StatusUpdate, CallbackError> {
    let kind = event["type"]
        .as_str()
        .ok_or_else(|| CallbackError::Malformed("an event has no `type`".into()))?;
    let id = event["message"]["id"]
        .as_str()
        .ok_or_else(|| CallbackError::Malformed("an event has no `message.id`".into()))?;
    let code = error_code(&event["errorCode"]);
    Ok(StatusUpdate {
        provider_message_id: id.to_owned(),
        status: normalize(kind, code),
        provider_status: kind.to_owned(),
        error_code: code.map(|c| c.to_string()),
        occurred_at: parse_time(&event["time"]),
        raw: event.clone(),
    })
}

#[async_trait]
impl SmsProvider for Bandwidth {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Bandwidth
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, ProviderError> {
        let resp = self
            .http
            .post(self.messages_url())
            .basic_auth(&self.creds.username, Some(&self.creds.password))
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(self.request_body(sms).to_string())
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            return Err(self.error(resp).await);
        }
        let body = json_body(resp).await?;
        let id = body["id"].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "Bandwidth answered without a message id".into(),
        })?;
        Ok(Accepted {
            provider_message_id: id.to_owned(),
            status: DeliveryStatus::Accepted,
            segments: body["segmentCount"].as_u64().and_then(|s| u32::try_from(s).ok()),
            raw: body,
        })
    }

    async fn fetch_status(
        &self,
        _sms: &OutboundSms,
        provider_message_id: Option<&str>,
    ) -> Result<Option<StatusUpdate>, ProviderError> {
        // The message search returns neither `tag` nor text, so only the provider's id identifies a send.
        let Some(id) = provider_message_id else {
            return Err(ProviderError::Unknown {
                message: "Bandwidth's message search has no client reference or text: without its message id \
                          the send cannot be reconciled"
                    .into(),
            });
        };
        let resp = self
            .http
            .get(self.messages_url())
            .query(&[("messageId", id)])
            .basic_auth(&self.creds.username, Some(&self.creds.password))
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.error(resp).await);
        }
        let list = json_body(resp).await?;
        let found = list["messages"]
            .as_array()
            .and_then(|msgs| msgs.iter().find(|m| m["messageId"].as_str() == Some(id)));
        Ok(found.and_then(|m| {
            let status = m["messageStatus"].as_str()?;
            let code = error_code(&m["errorCode"]);
            Some(StatusUpdate {
                provider_message_id: id.to_owned(),
                status: normalize_search(status, code),
                provider_status: status.to_owned(),
                error_code: code.map(|c| c.to_string()),
                occurred_at: None,
                raw: m.clone(),
            })
        }))
    }

    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        verify_basic(req, &self.creds.callback_username, &self.creds.callback_password)
    }

    fn parse_status(&self, req: &CallbackRequest) -> Result<Vec<StatusUpdate>, CallbackError> {
        events(req)?
            .iter()
            .filter(|e| e["type"].as_str() != Some("message-received"))
            .map(update_from_event)
            .collect()
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundSms, CallbackError> {
        let events = events(req)?;
        let event = events
            .iter()
            .find(|e| e["type"].as_str() == Some("message-received"))
            .ok_or_else(|| CallbackError::Malformed("the callback has no `message-received` event".into()))?;
        let m = &event["message"];
        let field = |name: &str, value: Option<&str>| {
            value
                .map(str::to_owned)
                .ok_or_else(|| CallbackError::Malformed(format!("the inbound message has no `{name}`")))
        };
        // Media URLs are Bandwidth's and are fetched with the account's API credentials.
        let media = m["media"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| {
                Some(InboundMedia {
                    url: u.as_str()?.to_owned(),
                    content_type: None,
                })
            })
            .collect();
        Ok(InboundSms {
            provider_message_id: field("message.id", m["id"].as_str())?,
            from: field("message.from", m["from"].as_str())?,
            to: field("to", event["to"].as_str().or(m["owner"].as_str()))?,
            body: m["text"].as_str().unwrap_or_default().to_owned(),
            media,
            raw: event.clone(),
        })
    }
}

/// The `Authorization` header Bandwidth sends with callbacks for these credentials (for the sandbox and tests).
pub fn sign(callback_username: &str, callback_password: &str) -> String {
    format!(
        "Basic {}",
        B64.encode(format!("{callback_username}:{callback_password}"))
    )
}
