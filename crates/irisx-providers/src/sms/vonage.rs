//! Vonage (Nexmo) SMS API (not the Messages API): form-encoded sends to `/sms/json` with `api_key` and
//! `api_secret` in the body and our message id as `client-ref`. Vonage answers HTTP 200 even when it refuses:
//! each part in `messages[]` carries its own `status` code, and those codes, not the HTTP status, are classified.
//! Delivery receipts and inbound messages arrive as a `GET` query, a form or JSON, signed with the `sig`
//! parameter (MD5 hash or HMAC-MD5/SHA1/SHA256/SHA512 with the signature secret, the account's setting) and a
//! `timestamp` that must be within five minutes.
//!
//! The SMS API documents no message lookup, so [`SmsProvider::fetch_status`] cannot reconcile: the outcome of
//! an unknown send is known only from its receipt.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use irisx_core::sms::provider::{
    Accepted, CallbackError, CallbackRequest, InboundSms, OutboundSms, ProviderError, ProviderKind, SmsProvider,
    StatusUpdate,
};
use irisx_core::sms::{DeliveryStatus, Encoding, segments};
use reqwest::Client;
use serde::Deserialize;
use serde_json::Value;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::{BuildError, form};
use crate::http::{error_body, json_body, retry_after, status_error, transport_error};
use crate::signing::{fresh, hmac_md5, hmac_sha1, hmac_sha256, hmac_sha512, md5, same};

const BASE_URL: &str = "https://rest.nexmo.com";
/// Vonage's documented tolerance for a signed callback's `timestamp`.
const TOLERANCE_SECS: i64 = 300;

/// How the account signs callbacks (the dashboard's "signature method").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureMethod {
    /// Legacy: MD5 of the parameter string followed by the secret.
    Md5hash,
    /// HMAC-MD5.
    Md5,
    /// HMAC-SHA1.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// A Vonage account's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The API key (also `api-key` in callbacks).
    pub api_key: String,
    /// The API secret, sent in the body of every send.
    pub api_secret: String,
    /// The signature secret that signs callbacks.
    pub signature_secret: String,
    /// The signature method set on the account.
    pub signature_method: SignatureMethod,
}

/// The Vonage SMS API adapter for one account.
pub struct Vonage {
    creds: Credentials,
    base: String,
    http: Client,
}

/// Builds the adapter for one account.
pub fn build(creds: &Value, base_url: Option<&str>, client: Client) -> Result<Arc<dyn SmsProvider>, BuildError> {
    let creds = super::credentials(ProviderKind::Vonage, creds)?;
    Ok(Arc::new(Vonage::new(creds, base_url, client)))
}

/// Maps a delivery receipt's `status` to the normalized set.
pub fn normalize(status: &str) -> DeliveryStatus {
    match status {
        "accepted" | "buffered" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "expired" | "failed" => DeliveryStatus::Undelivered,
        "rejected" => DeliveryStatus::Failed,
        _ => DeliveryStatus::Unknown,
    }
}

/// Classifies a part's non-zero `status`: throttling (1), Vonage's internal error (5) and too many binds (10)
/// are retryable; every other code is a refusal of this message or account.
fn refusal(code: String, text: &str, after: Option<Duration>) -> ProviderError {
    let message = if text.is_empty() {
        format!("Vonage status {code}")
    } else {
        text.to_owned()
    };
    match code.as_str() {
        "1" | "5" | "10" => ProviderError::Retryable { code, message, after },
        _ => ProviderError::Permanent { code, message },
    }
}

/// A part's `status`, a string in the documentation, read leniently as a number too.
fn part_status(part: &Value) -> Option<String> {
    match &part["status"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Numbers go without `+`; an alphanumeric sender goes as is.
fn wire_number(n: &str) -> &str {
    n.strip_prefix('+')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or(n)
}

impl Vonage {
    /// An adapter for one account.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Self {
        let base = base_url.unwrap_or(BASE_URL).trim_end_matches('/').to_owned();
        Self { creds, base, http }
    }

    /// The answer of a 200: every part accepted, or the first refusal classified.
    fn accepted(body: Value, after: Option<Duration>) -> Result<Accepted, ProviderError> {
        let garbled = |what: &str| ProviderError::Unknown {
            message: format!("Vonage answered 200 {what}"),
        };
        let parts = body["messages"].as_array().filter(|m| !m.is_empty());
        let parts = parts.ok_or_else(|| garbled("without messages"))?;
        let statuses: Vec<String> = parts
            .iter()
            .map(part_status)
            .collect::<Option<_>>()
            .ok_or_else(|| garbled("with a part without status"))?;
        if let Some(i) = statuses.iter().position(|s| s != "0") {
            let text = parts[i]["error-text"].as_str().unwrap_or_default();
            let sent = statuses.iter().filter(|s| *s == "0").count();
            if sent > 0 {
                // Some parts are on their way: a resend would duplicate them.
                return Err(ProviderError::Permanent {
                    code: statuses[i].clone(),
                    message: format!("{sent} of {} parts were accepted, then: {text}", parts.len()),
                });
            }
            return Err(refusal(statuses[i].clone(), text, after));
        }
        let id = parts[0]["message-id"]
            .as_str()
            .ok_or_else(|| garbled("without a message-id"))?;
        let count = body["message-count"].as_str().and_then(|c| c.parse().ok());
        Ok(Accepted {
            provider_message_id: id.to_owned(),
            status: DeliveryStatus::Accepted,
            segments: count.or(u32::try_from(parts.len()).ok()),
            raw: body,
        })
    }

    /// An HTTP-level failure (credentials or format rejected before any per-message status).
    async fn error(&self, resp: reqwest::Response) -> ProviderError {
        let (status, headers, body) = error_body(resp).await;
        let message = ["error-text", "detail", "title", "Error", "error_title"]
            .iter()
            .find_map(|k| body[k].as_str())
            .or(body.as_str())
            .map_or_else(|| body.to_string(), str::to_owned);
        status_error(status, &headers, status.as_u16().to_string(), message)
    }
}

#[async_trait]
impl SmsProvider for Vonage {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Vonage
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, ProviderError> {
        // Vonage takes milliseconds, from 20 s to 7 days.
        let ttl = sms
            .validity_period
            .map(|s| (u64::from(s) * 1000).clamp(20_000, 604_800_000).to_string());
        let mut fields: Vec<(&str, &str)> = vec![
            ("api_key", &self.creds.api_key),
            ("api_secret", &self.creds.api_secret),
            ("from", wire_number(&sms.from)),
            ("to", sms.to.digits()),
            ("text", &sms.body),
        ];
        if segments(&sms.body).encoding == Encoding::Ucs2 {
            fields.push(("type", "unicode"));
        }
        if let Some(cb) = &sms.status_callback {
            fields.push(("callback", cb));
        }
        fields.push(("client-ref", &sms.message_id));
        if let Some(ttl) = &ttl {
            fields.push(("ttl", ttl));
        }
        let resp = self
            .http
            .post(format!("{}/sms/json", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form::encode(fields))
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            return Err(self.error(resp).await);
        }
        let after = retry_after(resp.headers());
        Self::accepted(json_body(resp).await?, after)
    }

    async fn fetch_status(
        &self,
        _sms: &OutboundSms,
        _provider_message_id: Option<&str>,
    ) -> Result<Option<StatusUpdate>, ProviderError> {
        Err(ProviderError::Unknown {
            message: "Vonage's SMS API documents no message lookup: the outcome is known only from the delivery \
                      receipt, which carries our message id as client-ref"
                .into(),
        })
    }

    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        let p = params(req)?;
        let refused = |why: &str| CallbackError::Signature(why.to_owned());
        let given = form::get(&p.pairs, "sig").ok_or_else(|| refused("no sig parameter"))?;
        let timestamp = form::get(&p.pairs, "timestamp").ok_or_else(|| refused("no timestamp parameter"))?;
        let timestamp: i64 = timestamp
            .parse()
            .map_err(|_| refused("the timestamp is not a number"))?;
        if !fresh(timestamp, req.received_at, TOLERANCE_SECS) {
            return Err(refused("the timestamp is more than five minutes away"));
        }
        let expected = sign(self.creds.signature_method, &self.creds.signature_secret, &p.pairs);
        // Vonage writes HMAC signatures in upper case.
        if same(given.to_ascii_lowercase().as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(refused("sig does not match"))
        }
    }

    fn parse_status(&self, req: &CallbackRequest) -> Result<Vec<StatusUpdate>, CallbackError> {
        let p = params(req)?;
        let status = form::require(&p.pairs, "status")?;
        let occurred_at = form::get(&p.pairs, "scts")
            .and_then(parse_scts)
            .or_else(|| form::get(&p.pairs, "message-timestamp").and_then(parse_timestamp));
        Ok(vec![StatusUpdate {
            provider_message_id: form::require(&p.pairs, "messageId")?.to_owned(),
            status: normalize(status),
            provider_status: status.to_owned(),
            error_code: form::get(&p.pairs, "err-code")
                .filter(|c| !c.is_empty() && *c != "0")
                .map(str::to_owned),
            occurred_at,
            raw: p.raw,
        }])
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundSms, CallbackError> {
        let p = params(req)?;
        let e164 = |n: &str| {
            if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
                format!("+{n}")
            } else {
                n.to_owned()
            }
        };
        Ok(InboundSms {
            provider_message_id: form::require(&p.pairs, "messageId")?.to_owned(),
            from: e164(form::require(&p.pairs, "msisdn")?),
            to: e164(form::require(&p.pairs, "to")?),
            body: form::get(&p.pairs, "text").unwrap_or_default().to_owned(),
            media: Vec::new(),
            raw: p.raw,
        })
    }
}

/// A callback's parameters as strings (for the signature and lookups) and as JSON (for the history).
struct Params {
    pairs: Vec<(String, String)>,
    raw: Value,
}

/// Reads the query of a `GET`, or a `POST` body as JSON or as a form (the account's "HTTP Method" setting).
fn params(req: &CallbackRequest) -> Result<Params, CallbackError> {
    let pairs = if req.method.eq_ignore_ascii_case("GET") {
        let query = req
            .url
            .split_once('?')
            .map_or("", |(_, q)| q.split('#').next().unwrap_or_default());
        form::pairs(query.as_bytes())
    } else if req.header("content-type").is_some_and(|c| c.contains("json"))
        || req.body.trim_ascii_start().starts_with(b"{")
    {
        let raw: Value = serde_json::from_slice(&req.body)
            .map_err(|e| CallbackError::Malformed(format!("the body is not JSON: {e}")))?;
        let object = raw
            .as_object()
            .ok_or_else(|| CallbackError::Malformed("the JSON body is not an object".into()))?;
        let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
        let pairs = object.iter().map(|(k, v)| (k.clone(), text(v))).collect();
        return Ok(Params { pairs, raw });
    } else {
        form::pairs(&req.body)
    };
    Ok(Params {
        raw: form::to_json(&pairs),
        pairs,
    })
}

/// `scts`: `YYMMDDHHMM`, UTC.
fn parse_scts(s: &str) -> Option<OffsetDateTime> {
    let full = format!("20{s}");
    let format = format_description!("[year][month][day][hour][minute]");
    (s.len() == 10).then_some(())?;
    PrimitiveDateTime::parse(&full, format)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// `message-timestamp`: `YYYY-MM-DD HH:MM:SS`, UTC.
fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(s, format)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

/// Signs callback parameters as Vonage does, for the sandbox and tests: every parameter but `sig`, sorted by
/// key, written `&key=value` with `&` and `=` in values replaced by `_`; then MD5 of that string followed by
/// the secret (`md5hash`) or the HMAC of it with the secret. Lower-case hex.
pub fn sign(method: SignatureMethod, secret: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sig").collect();
    sorted.sort();
    let s: String = sorted
        .iter()
        .map(|(k, v)| format!("&{k}={}", v.replace(['&', '='], "_")))
        .collect();
    let (key, msg) = (secret.as_bytes(), s.as_bytes());
    let digest = match method {
        SignatureMethod::Md5hash => md5(format!("{s}{secret}").as_bytes()),
        SignatureMethod::Md5 => hmac_md5(key, msg),
        SignatureMethod::Sha1 => hmac_sha1(key, msg),
        SignatureMethod::Sha256 => hmac_sha256(key, msg),
        SignatureMethod::Sha512 => hmac_sha512(key, msg),
    };
    hex::encode(digest)
}
