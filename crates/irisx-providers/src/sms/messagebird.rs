//! MessageBird legacy REST SMS API (`rest.messagebird.com`): JSON sends with `Authorization: AccessKey`, JSON
//! answers and `{"errors":[…]}` failures. Status reports and inbound messages arrive as query parameters, signed
//! with `MessageBird-Signature-JWT`: an HS256/384/512 JWT over the hashes of the full URL and the raw body.
//!
//! Callback fields beyond `id, reference, recipient, status, statusDatetime` are unconfirmed, so parsing reads
//! the query string and, when there is one, a form or JSON body alike.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use hmac::{Hmac, KeyInit, Mac};
use irisx_core::sms::provider::{
    Accepted, CallbackError, CallbackRequest, InboundSms, OutboundSms, ProviderError, ProviderKind, SmsProvider,
    StatusUpdate,
};
use irisx_core::sms::{DeliveryStatus, E164};
use reqwest::{Client, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha384, Sha512};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{BuildError, form, msisdn};
use crate::http::{error_body, json_body, status_error, transport_error};
use crate::signing::{hmac_sha256, same};

const BASE_URL: &str = "https://rest.messagebird.com";
const SIGNATURE_HEADER: &str = "messagebird-signature-jwt";
const ISSUER: &str = "MessageBird";
/// The clock leeway MessageBird's own SDK allows on `nbf` and `exp`.
const LEEWAY_SECS: i64 = 5;

/// A MessageBird account's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The live or test access key (`Authorization: AccessKey …`).
    pub access_key: String,
    /// The account's signing key, which signs `MessageBird-Signature-JWT`.
    pub signing_key: String,
}

/// The MessageBird adapter for one account.
pub struct MessageBird {
    creds: Credentials,
    base: String,
    http: Client,
}

/// Builds the adapter for one account.
pub fn build(creds: &Value, base_url: Option<&str>, client: Client) -> Result<Arc<dyn SmsProvider>, BuildError> {
    let creds = super::credentials(ProviderKind::Messagebird, creds)?;
    Ok(Arc::new(MessageBird::new(creds, base_url, client)))
}

/// Maps a MessageBird recipient `status` to the normalized set.
pub fn normalize(status: &str) -> DeliveryStatus {
    match status {
        "scheduled" => DeliveryStatus::Queued,
        "sent" | "buffered" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "expired" | "delivery_failed" => DeliveryStatus::Undelivered,
        _ => DeliveryStatus::Unknown,
    }
}

impl MessageBird {
    /// An adapter for one account.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Self {
        let base = base_url.unwrap_or(BASE_URL).trim_end_matches('/').to_owned();
        Self { creds, base, http }
    }

    fn auth(&self) -> String {
        format!("AccessKey {}", self.creds.access_key)
    }

    async fn get_json(&self, url: &str, query: &[(&str, &str)]) -> Result<Option<Value>, ProviderError> {
        let resp = self
            .http
            .get(url)
            .query(query)
            .header(reqwest::header::AUTHORIZATION, self.auth())
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
}

/// Classifies an error answer, reading `{"errors":[{"code","description","parameter"}]}`.
async fn error(resp: reqwest::Response) -> ProviderError {
    let (status, headers, body) = error_body(resp).await;
    let errors = body["errors"].as_array().map(Vec::as_slice).unwrap_or_default();
    let code = errors
        .first()
        .and_then(|e| e["code"].as_i64())
        .map_or_else(|| status.as_u16().to_string(), |c| c.to_string());
    let described: Vec<String> = errors
        .iter()
        .filter_map(|e| {
            let d = e["description"].as_str()?;
            Some(
                e["parameter"]
                    .as_str()
                    .map_or_else(|| d.to_owned(), |p| format!("{d} (parameter `{p}`)")),
            )
        })
        .collect();
    let message = match &body {
        _ if !described.is_empty() => described.join("; "),
        Value::String(s) if s.is_empty() => status.canonical_reason().unwrap_or("no body").to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    status_error(status, &headers, code, message)
}

/// The status of one recipient in a message object (`recipients.items[]`), recipients being MSISDN numbers.
fn update_from_message(m: &Value, to: &E164) -> Option<StatusUpdate> {
    let items = m["recipients"]["items"].as_array()?;
    // Documented as numbers; strings are accepted too.
    let same_recipient = |i: &&Value| scalar(&i["recipient"]).as_deref() == Some(to.digits());
    let item = items.iter().find(same_recipient).or(items.first())?;
    let status = item["status"].as_str()?;
    Some(StatusUpdate {
        provider_message_id: m["id"].as_str()?.to_owned(),
        status: normalize(status),
        provider_status: status.to_owned(),
        error_code: scalar(&item["statusErrorCode"]),
        occurred_at: item["statusDatetime"].as_str().and_then(timestamp),
        raw: m.clone(),
    })
}

#[async_trait]
impl SmsProvider for MessageBird {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Messagebird
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, ProviderError> {
        if !sms.media_urls.is_empty() {
            return Err(ProviderError::Permanent {
                code: "media_unsupported".into(),
                message: "MessageBird's legacy SMS API carries no media".into(),
            });
        }
        let recipient = sms
            .to
            .digits()
            .parse::<u64>()
            .map_or_else(|_| json!(sms.to.digits()), Value::from);
        // `auto` lets MessageBird switch to unicode; the default `plain` would replace non-GSM characters.
        let mut body = json!({
            "originator": sms.from,
            "recipients": [recipient],
            "body": sms.body,
            "reference": sms.message_id,
            "datacoding": "auto",
        });
        if let Some(cb) = &sms.status_callback {
            body["reportUrl"] = cb.as_str().into();
        }
        if let Some(v) = sms.validity_period {
            body["validity"] = v.into();
        }
        let resp = self
            .http
            .post(format!("{}/messages", self.base))
            .header(reqwest::header::AUTHORIZATION, self.auth())
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            return Err(error(resp).await);
        }
        let body = json_body(resp).await?;
        let id = body["id"].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "MessageBird answered without a message id".into(),
        })?;
        Ok(Accepted {
            provider_message_id: id.to_owned(),
            status: update_from_message(&body, &sms.to).map_or(DeliveryStatus::Accepted, |u| u.status),
            segments: None,
            raw: body,
        })
    }

    async fn fetch_status(
        &self,
        sms: &OutboundSms,
        provider_message_id: Option<&str>,
    ) -> Result<Option<StatusUpdate>, ProviderError> {
        if let Some(id) = provider_message_id {
            let found = self.get_json(&format!("{}/messages/{id}", self.base), &[]).await?;
            return Ok(found.as_ref().and_then(|m| update_from_message(m, &sms.to)));
        }
        // The list cannot filter by `reference`: narrow it to this sender and recipient, then match the reference.
        let query = [
            ("originator", sms.from.as_str()),
            ("recipient", sms.to.digits()),
            ("direction", "mt"),
            ("limit", "20"),
        ];
        let list = self.get_json(&format!("{}/messages", self.base), &query).await?;
        let found = list.as_ref().and_then(|l| l["items"].as_array()).and_then(|items| {
            items
                .iter()
                .find(|m| m["reference"].as_str() == Some(sms.message_id.as_str()))
                .and_then(|m| update_from_message(m, &sms.to))
        });
        Ok(found)
    }

    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        let token = req
            .header(SIGNATURE_HEADER)
            .ok_or_else(|| CallbackError::Signature("no MessageBird-Signature-JWT header".into()))?;
        let claims = verified_claims(self.creds.signing_key.as_bytes(), token)?;
        check_claims(&claims, req)
    }

    fn parse_status(&self, req: &CallbackRequest) -> Result<Vec<StatusUpdate>, CallbackError> {
        let p = params(req);
        let status = form::require(&p, "status")?;
        Ok(vec![StatusUpdate {
            provider_message_id: form::require(&p, "id")?.to_owned(),
            status: normalize(status),
            provider_status: status.to_owned(),
            error_code: form::get(&p, "statusErrorCode")
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            occurred_at: form::get(&p, "statusDatetime").and_then(timestamp),
            raw: form::to_json(&p),
        }])
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundSms, CallbackError> {
        let p = params(req);
        Ok(InboundSms {
            provider_message_id: form::require(&p, "id")?.to_owned(),
            from: msisdn(form::require(&p, "originator")?),
            to: msisdn(form::require(&p, "recipient")?),
            body: form::get(&p, "body").unwrap_or_default().to_owned(),
            media: Vec::new(),
            raw: form::to_json(&p),
        })
    }
}

/// The callback's fields: the query string, then a form or JSON body if there is one.
fn params(req: &CallbackRequest) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = url::Url::parse(&req.url)
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    if !req.body.is_empty() {
        match serde_json::from_slice::<Value>(&req.body) {
            Ok(Value::Object(o)) => p.extend(o.iter().filter_map(|(k, v)| Some((k.clone(), scalar(v)?)))),
            _ => p.extend(form::pairs(&req.body)),
        }
    }
    p
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// An ISO-8601 time; a `+` offset that arrived unescaped in a query string reads as a space, so it is restored.
fn timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&s.replace(' ', "+"), &Rfc3339))
        .ok()
}

fn bad(why: &str) -> CallbackError {
    CallbackError::Signature(why.to_owned())
}

/// Checks the JWT's HMAC with the signing key and returns its claims.
fn verified_claims(key: &[u8], token: &str) -> Result<Value, CallbackError> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the signature is not a JWT"));
    };
    let decode = |part: &str| {
        B64URL
            .decode(part.trim_end_matches('='))
            .map_err(|_| bad("the JWT is not base64url"))
    };
    let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| bad("the JWT header is not JSON"))?;
    let signed = &token[..token.rfind('.').unwrap_or(0)];
    let expected = match header["alg"].as_str() {
        Some("HS256") => hmac_sha256(key, signed.as_bytes()),
        Some("HS384") => hmac_with::<Hmac<Sha384>>(key, signed.as_bytes()),
        Some("HS512") => hmac_with::<Hmac<Sha512>>(key, signed.as_bytes()),
        _ => return Err(bad("the JWT algorithm is not HS256, HS384 or HS512")),
    };
    if !same(&expected, &decode(signature)?) {
        return Err(bad("the JWT signature does not match the signing key"));
    }
    serde_json::from_slice(&decode(claims)?).map_err(|_| bad("the JWT claims are not JSON"))
}

fn hmac_with<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The issuer, the validity window, a `jti`, and the URL and body hashes.
fn check_claims(claims: &Value, req: &CallbackRequest) -> Result<(), CallbackError> {
    let now = req.received_at.unix_timestamp();
    if claims["iss"].as_str() != Some(ISSUER) {
        return Err(bad("the JWT was not issued by MessageBird"));
    }
    let exp = claims["exp"].as_i64().ok_or_else(|| bad("the JWT has no exp"))?;
    if now > exp + LEEWAY_SECS {
        return Err(bad("the JWT has expired"));
    }
    if claims["nbf"].as_i64().is_some_and(|nbf| now < nbf - LEEWAY_SECS) {
        return Err(bad("the JWT is not valid yet"));
    }
    if claims["jti"].as_str().is_none_or(str::is_empty) {
        return Err(bad("the JWT has no jti"));
    }
    let url_hash = claims["url_hash"]
        .as_str()
        .ok_or_else(|| bad("the JWT has no url_hash"))?;
    if !same_hash(url_hash, req.url.as_bytes()) {
        return Err(bad("url_hash does not match the URL"));
    }
    match claims["payload_hash"].as_str() {
        Some(h) if !same_hash(h, &req.body) => Err(bad("payload_hash does not match the body")),
        None if !req.body.is_empty() => Err(bad("the body is not empty but the JWT has no payload_hash")),
        _ => Ok(()),
    }
}

fn same_hash(hex_hash: &str, data: &[u8]) -> bool {
    hex::decode(hex_hash).is_ok_and(|h| same(&h, &Sha256::digest(data)))
}

/// Signs a callback as MessageBird does (HS256, valid for a minute from `now`), for the sandbox and tests.
pub fn sign(signing_key: &str, url: &str, body: &[u8], now: OffsetDateTime) -> String {
    let at = now.unix_timestamp();
    let mut claims = json!({
        "iss": ISSUER,
        "nbf": at,
        "iat": at,
        "exp": at + 60,
        "jti": hex::encode(&hmac_sha256(signing_key.as_bytes(), format!("{at}{url}").as_bytes())[..16]),
        "url_hash": hex::encode(Sha256::digest(url.as_bytes())),
    });
    if !body.is_empty() {
        claims["payload_hash"] = hex::encode(Sha256::digest(body)).into();
    }
    let signed = format!(
        "{}.{}",
        B64URL.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        B64URL.encode(claims.to_string())
    );
    let signature = B64URL.encode(hmac_sha256(signing_key.as_bytes(), signed.as_bytes()));
    format!("{signed}.{signature}")
}
