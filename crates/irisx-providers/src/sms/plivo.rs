//! Plivo Message API: JSON sends with HTTP Basic auth (`auth_id:auth_token`), a `GET` of one message for
//! reconciliation, status callbacks and inbound messages as forms (or `GET` queries) signed with
//! `X-Plivo-Signature-V3` (HMAC-SHA256 over the URL, the sorted parameters and a nonce) or, on messaging
//! callbacks that carry only the older scheme, `X-Plivo-Signature-V2` / `-Ma-V2` (URL and nonce only).
//!
//! Plivo has no client reference: a send whose outcome is unknown can be reconciled only by its
//! `message_uuid`, and the message list cannot be filtered by recipient.

use std::sync::Arc;

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
use serde_json::{Value, json};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::{BuildError, form};
use crate::http::{error_body, json_body, status_error, transport_error};
use crate::signing::{hmac_sha256, same};

const BASE_URL: &str = "https://api.plivo.com";

/// A Plivo account's (or subaccount's) credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// `MA…` or `SA…`, also the path segment of every API call.
    pub auth_id: String,
    /// The auth token (signs callbacks too).
    pub auth_token: String,
}

/// The Plivo adapter for one account.
pub struct Plivo {
    creds: Credentials,
    base: String,
    http: Client,
}

/// Builds the adapter for one account.
pub fn build(creds: &Value, base_url: Option<&str>, client: Client) -> Result<Arc<dyn SmsProvider>, BuildError> {
    let creds = super::credentials(ProviderKind::Plivo, creds)?;
    Ok(Arc::new(Plivo::new(creds, base_url, client)))
}

/// Maps Plivo's `Status` (callbacks) and `message_state` (the message resource) to the normalized set.
pub fn normalize(status: &str) -> DeliveryStatus {
    match status {
        "queued" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "undelivered" => DeliveryStatus::Undelivered,
        "failed" | "rejected" => DeliveryStatus::Failed,
        "read" => DeliveryStatus::Read,
        "received" => DeliveryStatus::Received,
        _ => DeliveryStatus::Unknown,
    }
}

impl Plivo {
    /// An adapter for one account.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Self {
        let base = base_url.unwrap_or(BASE_URL).trim_end_matches('/').to_owned();
        Self { creds, base, http }
    }

    fn messages_url(&self) -> String {
        format!("{}/v1/Account/{}/Message/", self.base, self.creds.auth_id)
    }

    async fn error(&self, resp: reqwest::Response) -> ProviderError {
        let (status, headers, body) = error_body(resp).await;
        // Plivo's error body is `{"api_id", "error"}` with no code of its own: the HTTP status is the code.
        let code = match &body["error_code"] {
            Value::String(c) if !c.is_empty() => c.clone(),
            Value::Number(c) => c.to_string(),
            _ => status.as_u16().to_string(),
        };
        let message = match &body["error"] {
            Value::String(m) => m.clone(),
            Value::Null => body.as_str().map_or_else(|| body.to_string(), str::to_owned),
            other => other.to_string(),
        };
        status_error(status, &headers, code, message)
    }
}

#[async_trait]
impl SmsProvider for Plivo {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Plivo
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, ProviderError> {
        let mut body = json!({
            "src": sms.from,
            "dst": sms.to.as_str(),
            "text": sms.body,
            "type": if sms.media_urls.is_empty() { "sms" } else { "mms" },
        });
        if !sms.media_urls.is_empty() {
            body["media_urls"] = json!(sms.media_urls);
        }
        if let Some(cb) = &sms.status_callback {
            body["url"] = json!(cb);
            body["method"] = json!("POST");
        }
        if let Some(v) = sms.validity_period {
            body["message_expiry"] = json!(v);
        }
        let resp = self
            .http
            .post(self.messages_url())
            .basic_auth(&self.creds.auth_id, Some(&self.creds.auth_token))
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        // Documented as 202; the SDK takes any 2xx.
        if !resp.status().is_success() {
            return Err(self.error(resp).await);
        }
        let body = json_body(resp).await?;
        let uuid = body["message_uuid"][0].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "Plivo answered 2xx without a message_uuid".into(),
        })?;
        Ok(Accepted {
            provider_message_id: uuid.to_owned(),
            status: DeliveryStatus::Queued,
            segments: None,
            raw: body,
        })
    }

    async fn fetch_status(
        &self,
        _sms: &OutboundSms,
        provider_message_id: Option<&str>,
    ) -> Result<Option<StatusUpdate>, ProviderError> {
        let uuid = provider_message_id.ok_or_else(|| ProviderError::Unknown {
            message: "Plivo has no client reference and cannot list messages by recipient: without the \
                      message_uuid the send cannot be reconciled"
                .into(),
        })?;
        let resp = self
            .http
            .get(format!("{}{uuid}/", self.messages_url()))
            .basic_auth(&self.creds.auth_id, Some(&self.creds.auth_token))
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.error(resp).await);
        }
        let m = json_body(resp).await?;
        let state = m["message_state"].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "Plivo's message resource has no message_state".into(),
        })?;
        let occurred_at = ["message_updated_time", "message_sent_time", "message_time"]
            .iter()
            .find_map(|k| m[k].as_str().and_then(parse_time));
        Ok(Some(StatusUpdate {
            provider_message_id: m["message_uuid"].as_str().unwrap_or(uuid).to_owned(),
            status: normalize(state),
            provider_status: state.to_owned(),
            error_code: scalar(&m["error_code"]),
            occurred_at,
            raw: m,
        }))
    }

    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        let token = &self.creds.auth_token;
        let nonce = |name: &str| {
            req.header(name)
                .ok_or_else(|| CallbackError::Signature(format!("no {name} header")))
        };
        let matches =
            |given: &str, expected: &str| given.split(',').any(|g| same(g.trim().as_bytes(), expected.as_bytes()));
        // V3 covers the parameters; when Plivo sends it, it alone decides.
        if let Some(given) = req.header("x-plivo-signature-v3") {
            let body = if is_get(req) {
                Vec::new()
            } else {
                form::pairs(&req.body)
            };
            let expected = sign(
                token,
                &req.method,
                &req.url,
                &body,
                nonce("x-plivo-signature-v3-nonce")?,
            );
            return if matches(given, &expected) {
                Ok(())
            } else {
                Err(CallbackError::Signature("X-Plivo-Signature-V3 does not match".into()))
            };
        }
        // Messaging callbacks are documented with V2 only: it signs the URL and nonce, not the body.
        let given = ["x-plivo-signature-v2", "x-plivo-signature-ma-v2"]
            .iter()
            .filter_map(|h| req.header(h))
            .collect::<Vec<_>>();
        if given.is_empty() {
            return Err(CallbackError::Signature("no X-Plivo-Signature-V3 or -V2 header".into()));
        }
        let expected = sign_v2(token, &req.url, nonce("x-plivo-signature-v2-nonce")?);
        if given.iter().any(|g| matches(g, &expected)) {
            Ok(())
        } else {
            Err(CallbackError::Signature("X-Plivo-Signature-V2 does not match".into()))
        }
    }

    fn parse_status(&self, req: &CallbackRequest) -> Result<Vec<StatusUpdate>, CallbackError> {
        let p = params(req);
        let status = form::require(&p, "Status")?;
        let occurred_at = ["DeliveryReportTime", "SentTime", "QueuedTime", "MessageTime"]
            .iter()
            .find_map(|k| form::get(&p, k).and_then(parse_time));
        Ok(vec![StatusUpdate {
            provider_message_id: form::require(&p, "MessageUUID")?.to_owned(),
            status: normalize(status),
            provider_status: status.to_owned(),
            error_code: form::get(&p, "ErrorCode").filter(|c| !c.is_empty()).map(str::to_owned),
            occurred_at,
            raw: form::to_json(&p),
        }])
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundSms, CallbackError> {
        let p = params(req);
        // MMS media parameters are undocumented: `Media0`, `Media1`, … are read while present.
        let media = (0..)
            .map_while(|i| form::get(&p, &format!("Media{i}")))
            .map(|url| InboundMedia {
                url: url.to_owned(),
                content_type: None,
            })
            .collect();
        Ok(InboundSms {
            provider_message_id: form::require(&p, "MessageUUID")?.to_owned(),
            from: e164_or_as_is(form::require(&p, "From")?),
            to: e164_or_as_is(form::require(&p, "To")?),
            body: form::get(&p, "Text").unwrap_or_default().to_owned(),
            media,
            raw: form::to_json(&p),
        })
    }
}

fn is_get(req: &CallbackRequest) -> bool {
    req.method.eq_ignore_ascii_case("GET")
}

/// A callback's parameters: the query of a `GET`, the form body of a `POST`.
fn params(req: &CallbackRequest) -> Vec<(String, String)> {
    if is_get(req) {
        let query = req.url.split_once('?').map_or("", |(_, q)| q);
        form::pairs(query.split('#').next().unwrap_or_default().as_bytes())
    } else {
        form::pairs(&req.body)
    }
}

/// Plivo writes numbers without `+`; IRISX numbers are E.164.
fn e164_or_as_is(n: &str) -> String {
    if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
        format!("+{n}")
    } else {
        n.to_owned()
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Plivo's `2024-01-01 10:00:05.000000` (callbacks, UTC assumed) or `2017-05-22 21:36:14+05:30` (API).
fn parse_time(s: &str) -> Option<OffsetDateTime> {
    const WITH_OFFSET: &[BorrowedFormatItem<'_>] = format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]][offset_hour sign:mandatory]:[offset_minute]"
    );
    const NAIVE: &[BorrowedFormatItem<'_>] =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]");
    OffsetDateTime::parse(s, WITH_OFFSET)
        .or_else(|_| PrimitiveDateTime::parse(s, NAIVE).map(PrimitiveDateTime::assume_utc))
        .ok()
}

/// The callback URL without query or fragment: scheme, host (and port, as given) and path.
fn base_of(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// Signs a callback as Plivo's V3 scheme does (`X-Plivo-Signature-V3`), for the sandbox and tests: the URL
/// without its query, then `?` and the query (plus, for `GET`, `params`) sorted as `k=v&…`, then for `POST`
/// a `.` between a non-empty query and the sorted `params` written `kv…`; then `.` and the nonce, HMAC-SHA256
/// with the auth token, base64.
pub fn sign(auth_token: &str, method: &str, url: &str, params: &[(String, String)], nonce: &str) -> String {
    let query = url
        .split_once('?')
        .map_or("", |(_, q)| q.split('#').next().unwrap_or_default());
    let mut q = form::pairs(query.as_bytes());
    let mut p = params.to_vec();
    if method.eq_ignore_ascii_case("GET") {
        q.append(&mut p);
    }
    q.sort();
    p.sort();
    let q = q.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let p: String = p.iter().map(|(k, v)| format!("{k}{v}")).collect();
    let mut s = base_of(url).to_owned();
    if !q.is_empty() || !p.is_empty() {
        s.push('?');
        s.push_str(&q);
    }
    if !q.is_empty() && !p.is_empty() {
        s.push('.');
    }
    s.push_str(&p);
    s.push('.');
    s.push_str(nonce);
    B64.encode(hmac_sha256(auth_token.as_bytes(), s.as_bytes()))
}

/// Signs a callback as Plivo's V2 scheme does (`X-Plivo-Signature-V2`): HMAC-SHA256 of the URL without its
/// query followed by the nonce, base64. The body is not covered.
pub fn sign_v2(auth_token: &str, url: &str, nonce: &str) -> String {
    let s = format!("{}{nonce}", base_of(url));
    B64.encode(hmac_sha256(auth_token.as_bytes(), s.as_bytes()))
}
