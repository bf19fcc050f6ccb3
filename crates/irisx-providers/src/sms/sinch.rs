//! Sinch SMS REST API (XMS): one batch per message, JSON with the service plan's bearer token, `{code,text}`
//! failures. Delivery reports and inbound messages are posted as JSON.
//!
//! Sinch signs nothing by default; it can be set up (through Sinch) to send Basic auth, OAuth2 or HMAC. Only
//! Basic auth has a documented wire form for XMS callbacks, so that is what [`SmsProvider::verify`] checks.
//! Basic auth proves the caller, not the body: integrity rests on TLS.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use irisx_core::sms::provider::{
    Accepted, CallbackError, CallbackRequest, InboundMedia, InboundSms, OutboundSms, ProviderError, ProviderKind,
    SmsProvider, StatusUpdate,
};
use irisx_core::sms::{DeliveryStatus, E164};
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{BuildError, msisdn};
use crate::http::{error_body, json_body, status_error, transport_error};
use crate::signing::verify_basic;

/// The regions of the XMS API, each with its own host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// `us.sms.api.sinch.com` (Sinch's default).
    #[default]
    Us,
    /// `eu.sms.api.sinch.com`.
    Eu,
    /// `au.sms.api.sinch.com`.
    Au,
    /// `br.sms.api.sinch.com`.
    Br,
    /// `ca.sms.api.sinch.com`.
    Ca,
}

/// A Sinch service plan's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The service plan id (a path segment of every call).
    pub service_plan_id: String,
    /// The plan's API token (`Authorization: Bearer …`).
    pub api_token: String,
    /// The user name Sinch was configured to send in callbacks' Basic auth.
    pub callback_username: String,
    /// The password Sinch was configured to send in callbacks' Basic auth.
    pub callback_password: String,
    /// Where the plan lives; `us` when absent.
    #[serde(default)]
    pub region: Region,
}

/// The Sinch adapter for one service plan.
pub struct Sinch {
    creds: Credentials,
    batches: String,
    http: Client,
}

/// Builds the adapter for one service plan.
pub fn build(creds: &Value, base_url: Option<&str>, client: Client) -> Result<Arc<dyn SmsProvider>, BuildError> {
    let creds = super::credentials(ProviderKind::Sinch, creds)?;
    Ok(Arc::new(Sinch::new(creds, base_url, client)))
}

/// Maps a Sinch delivery `status` to the normalized set.
pub fn normalize(status: &str) -> DeliveryStatus {
    match status {
        "Queued" => DeliveryStatus::Queued,
        "Dispatched" => DeliveryStatus::Sent,
        "Delivered" => DeliveryStatus::Delivered,
        "Failed" | "Expired" | "Deleted" => DeliveryStatus::Undelivered,
        "Rejected" | "Aborted" => DeliveryStatus::Failed,
        "Cancelled" => DeliveryStatus::Canceled,
        _ => DeliveryStatus::Unknown,
    }
}

impl Sinch {
    /// An adapter for one service plan; `base_url` replaces the region's host.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Self {
        let host = base_url.map_or_else(
            || format!("https://{}.sms.api.sinch.com", region_name(creds.region)),
            |b| b.trim_end_matches('/').to_owned(),
        );
        let batches = format!("{host}/xms/v1/{}/batches", creds.service_plan_id);
        Self { creds, batches, http }
    }

    async fn get_json(&self, url: &str, query: &[(&str, &str)]) -> Result<Option<Value>, ProviderError> {
        let resp = self
            .http
            .get(url)
            .query(query)
            .bearer_auth(&self.creds.api_token)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(error(resp).await);
        }
        json_body(resp).await.map(Some)
    }

    /// The recipient's delivery report; a batch without one yet is queued (or canceled).
    async fn batch_status(&self, batch: &Value, to: &E164) -> Result<Option<StatusUpdate>, ProviderError> {
        let Some(id) = batch["id"].as_str() else {
            return Ok(None);
        };
        let report = self
            .get_json(&format!("{}/{id}/delivery_report/{}", self.batches, to.digits()), &[])
            .await?;
        if let Some(update) = report.as_ref().and_then(update_from_recipient_report) {
            return Ok(Some(update));
        }
        let (status, word) = if batch["canceled"].as_bool() == Some(true) {
            (DeliveryStatus::Canceled, "Cancelled")
        } else {
            (DeliveryStatus::Queued, "Queued")
        };
        Ok(Some(StatusUpdate {
            provider_message_id: id.to_owned(),
            status,
            provider_status: word.to_owned(),
            error_code: None,
            occurred_at: None,
            raw: batch.clone(),
        }))
    }
}

fn region_name(region: Region) -> &'static str {
    match region {
        Region::Us => "us",
        Region::Eu => "eu",
        Region::Au => "au",
        Region::Br => "br",
        Region::Ca => "ca",
    }
}

/// Classifies an error answer, reading `{"code": "<symbolic>", "text": "…"}` (401 may come with no body).
async fn error(resp: reqwest::Response) -> ProviderError {
    let (status, headers, body) = error_body(resp).await;
    let code = body["code"]
        .as_str()
        .map_or_else(|| status.as_u16().to_string(), str::to_owned);
    let message = match &body {
        Value::Object(_) => body["text"].as_str().map_or_else(|| body.to_string(), str::to_owned),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => status.canonical_reason().unwrap_or("no body").to_owned(),
    };
    status_error(status, &headers, code, message)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One status with Sinch's detailed `code` kept as the error code when the message did not get through.
fn update(batch_id: &str, status: &str, code: &Value, at: &Value, raw: &Value) -> StatusUpdate {
    let normalized = normalize(status);
    let failed = matches!(normalized, DeliveryStatus::Failed | DeliveryStatus::Undelivered);
    StatusUpdate {
        provider_message_id: batch_id.to_owned(),
        status: normalized,
        provider_status: status.to_owned(),
        error_code: text(code).filter(|_| failed),
        occurred_at: at.as_str().and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()),
        raw: raw.clone(),
    }
}

/// A `recipient_delivery_report_sms` (callback or retrieved).
fn update_from_recipient_report(r: &Value) -> Option<StatusUpdate> {
    Some(update(
        r["batch_id"].as_str()?,
        r["status"].as_str()?,
        &r["code"],
        &r["at"],
        r,
    ))
}

fn json(req: &CallbackRequest) -> Result<Value, CallbackError> {
    serde_json::from_slice(&req.body).map_err(|e| CallbackError::Malformed(format!("the body is not JSON: {e}")))
}

fn required<'a>(v: &'a Value, key: &str) -> Result<&'a str, CallbackError> {
    v[key]
        .as_str()
        .ok_or_else(|| CallbackError::Malformed(format!("the callback has no `{key}`")))
}

#[async_trait]
impl SmsProvider for Sinch {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Sinch
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, ProviderError> {
        if !sms.media_urls.is_empty() {
            return Err(ProviderError::Permanent {
                code: "media_unsupported".into(),
                message: "this adapter sends Sinch text batches only".into(),
            });
        }
        let mut body = json!({
            "from": sms.from,
            "to": [sms.to.digits()],
            "body": sms.body,
            "client_reference": sms.message_id,
        });
        // Reports only with a URL: `per_recipient` without one is refused (403 `missing_callback_url`) unless
        // the plan has a default.
        if let Some(cb) = &sms.status_callback {
            body["delivery_report"] = "per_recipient".into();
            body["callback_url"] = cb.as_str().into();
        }
        if let Some(secs) = sms.validity_period {
            let at = (OffsetDateTime::now_utc() + Duration::from_secs(secs.into())).replace_nanosecond(0);
            body["expire_at"] = at.ok().and_then(|t| t.format(&Rfc3339).ok()).into();
        }
        let resp = self
            .http
            .post(&self.batches)
            .bearer_auth(&self.creds.api_token)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            return Err(error(resp).await);
        }
        let body = json_body(resp).await?;
        let id = body["id"].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "Sinch answered without a batch id".into(),
        })?;
        Ok(Accepted {
            provider_message_id: id.to_owned(),
            status: if body["canceled"].as_bool() == Some(true) {
                DeliveryStatus::Canceled
            } else {
                DeliveryStatus::Queued
            },
            segments: None,
            raw: body,
        })
    }

    async fn fetch_status(
        &self,
        sms: &OutboundSms,
        provider_message_id: Option<&str>,
    ) -> Result<Option<StatusUpdate>, ProviderError> {
        let batch = if let Some(id) = provider_message_id {
            self.get_json(&format!("{}/{id}", self.batches), &[]).await?
        } else {
            // Sinch lists batches by client reference (of the last 24 hours unless a start date is given).
            let list = self
                .get_json(&self.batches, &[("client_reference", sms.message_id.as_str())])
                .await?;
            list.as_ref()
                .and_then(|l| l["batches"].as_array())
                .and_then(|b| {
                    b.iter()
                        .find(|b| b["client_reference"].as_str() == Some(&sms.message_id))
                })
                .cloned()
        };
        match batch {
            Some(b) => self.batch_status(&b, &sms.to).await,
            None => Ok(None),
        }
    }

    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        verify_basic(req, &self.creds.callback_username, &self.creds.callback_password)
    }

    fn parse_status(&self, req: &CallbackRequest) -> Result<Vec<StatusUpdate>, CallbackError> {
        let v = json(req)?;
        match required(&v, "type")? {
            "recipient_delivery_report_sms" | "recipient_delivery_report_mms" => {
                required(&v, "status")?;
                update_from_recipient_report(&v)
                    .map(|u| vec![u])
                    .ok_or_else(|| CallbackError::Malformed("the report has no `batch_id`".into()))
            }
            "delivery_report_sms" | "delivery_report_mms" => {
                let batch_id = required(&v, "batch_id")?;
                let statuses = v["statuses"]
                    .as_array()
                    .ok_or_else(|| CallbackError::Malformed("the report has no `statuses`".into()))?;
                Ok(statuses
                    .iter()
                    .filter_map(|s| Some(update(batch_id, s["status"].as_str()?, &s["code"], &Value::Null, &v)))
                    .collect())
            }
            other => Err(CallbackError::Malformed(format!("`{other}` is not a delivery report"))),
        }
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundSms, CallbackError> {
        let v = json(req)?;
        let kind = required(&v, "type")?;
        if !kind.starts_with("mo_") {
            return Err(CallbackError::Malformed(format!("`{kind}` is not an inbound message")));
        }
        // `mo_text` and `mo_binary` carry the body as a string (base64 for binary); `mo_media` as an object
        // whose shape is not documented here, read leniently.
        let (body, media) = match &v["body"] {
            Value::String(s) => (s.clone(), Vec::new()),
            Value::Object(m) => (
                m.get("message").and_then(Value::as_str).unwrap_or_default().to_owned(),
                m.get("url")
                    .and_then(Value::as_str)
                    .map(|u| InboundMedia {
                        url: u.to_owned(),
                        content_type: None,
                    })
                    .into_iter()
                    .collect(),
            ),
            _ => (String::new(), Vec::new()),
        };
        Ok(InboundSms {
            provider_message_id: required(&v, "id")?.to_owned(),
            from: msisdn(required(&v, "from")?),
            to: msisdn(required(&v, "to")?),
            body,
            media,
            raw: v.clone(),
        })
    }
}

/// The `Authorization` header Sinch sends when set up with these Basic credentials (for the sandbox and tests).
pub fn sign(username: &str, password: &str) -> String {
    format!("Basic {}", B64.encode(format!("{username}:{password}")))
}
