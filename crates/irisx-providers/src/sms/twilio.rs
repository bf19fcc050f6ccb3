//! Twilio Programmable Messaging (2010-04-01 API): form-encoded sends with HTTP Basic auth, JSON answers,
//! status callbacks and inbound messages as forms signed with `X-Twilio-Signature` (HMAC-SHA1 over the URL and
//! the sorted parameters).

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::provider::{
    Accepted, CallbackError, CallbackRequest, InboundMedia, InboundSms, OutboundSms, ProviderError, ProviderKind,
    SmsProvider, StatusUpdate,
};
use reqwest::Client;
use serde::Deserialize;
use serde_json::Value;

use super::form;
use crate::http::{error_body, json_body, status_error, transport_error};
use crate::signing::{hmac_sha1, same};

const BASE_URL: &str = "https://api.twilio.com";

/// A Twilio account's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// `AC…`.
    pub account_sid: String,
    /// The auth token (signs callbacks too).
    pub auth_token: String,
}

/// The Twilio adapter for one account.
pub struct Twilio {
    creds: Credentials,
    base: String,
    http: Client,
}

/// Maps Twilio's `MessageStatus` to the normalized set.
pub fn normalize(status: &str) -> DeliveryStatus {
    match status {
        "accepted" => DeliveryStatus::Accepted,
        "scheduled" | "queued" | "sending" => DeliveryStatus::Queued,
        "sent" => DeliveryStatus::Sent,
        "delivered" | "partially_delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "undelivered" => DeliveryStatus::Undelivered,
        "failed" => DeliveryStatus::Failed,
        "canceled" => DeliveryStatus::Canceled,
        "receiving" | "received" => DeliveryStatus::Received,
        _ => DeliveryStatus::Unknown,
    }
}

impl Twilio {
    /// An adapter for one account.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Self {
        let base = base_url.unwrap_or(BASE_URL).trim_end_matches('/').to_owned();
        Self { creds, base, http }
    }

    fn messages_url(&self) -> String {
        format!("{}/2010-04-01/Accounts/{}/Messages", self.base, self.creds.account_sid)
    }

    async fn get_json(&self, url: &str, query: &[(&str, &str)]) -> Result<Option<Value>, ProviderError> {
        let resp = self
            .http
            .get(url)
            .query(query)
            .basic_auth(&self.creds.account_sid, Some(&self.creds.auth_token))
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.error(resp).await);
        }
        json_body(resp).await.map(Some)
    }

    async fn error(&self, resp: reqwest::Response) -> ProviderError {
        let (status, headers, body) = error_body(resp).await;
        let code = body["code"]
            .as_i64()
            .map_or_else(|| status.as_u16().to_string(), |c| c.to_string());
        let message = body["message"].as_str().map_or_else(|| body.to_string(), str::to_owned);
        status_error(status, &headers, code, message)
    }
}

fn update_from_resource(m: &Value) -> Option<StatusUpdate> {
    let status = m["status"].as_str()?;
    Some(StatusUpdate {
        provider_message_id: m["sid"].as_str()?.to_owned(),
        status: normalize(status),
        provider_status: status.to_owned(),
        error_code: m["error_code"].as_i64().map(|c| c.to_string()),
        occurred_at: None,
        raw: m.clone(),
    })
}

#[async_trait]
impl SmsProvider for Twilio {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Twilio
    }

    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, ProviderError> {
        let validity = sms.validity_period.map(|v| v.to_string());
        let mut fields: Vec<(&str, &str)> = vec![
            ("To", sms.to.as_str()),
            ("From", sms.from.as_str()),
            ("Body", sms.body.as_str()),
        ];
        fields.extend(sms.media_urls.iter().map(|u| ("MediaUrl", u.as_str())));
        if let Some(cb) = &sms.status_callback {
            fields.push(("StatusCallback", cb));
        }
        if let Some(v) = &validity {
            fields.push(("ValidityPeriod", v));
        }
        let resp = self
            .http
            .post(format!("{}.json", self.messages_url()))
            .basic_auth(&self.creds.account_sid, Some(&self.creds.auth_token))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form::encode(fields))
            .send()
            .await
            .map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            return Err(self.error(resp).await);
        }
        let body = json_body(resp).await?;
        let sid = body["sid"].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "Twilio answered without a message sid".into(),
        })?;
        Ok(Accepted {
            provider_message_id: sid.to_owned(),
            status: body["status"].as_str().map_or(DeliveryStatus::Queued, normalize),
            segments: body["num_segments"].as_str().and_then(|s| s.parse().ok()),
            raw: body,
        })
    }

    async fn fetch_status(
        &self,
        sms: &OutboundSms,
        provider_message_id: Option<&str>,
    ) -> Result<Option<StatusUpdate>, ProviderError> {
        if let Some(sid) = provider_message_id {
            let found = self
                .get_json(&format!("{}/{sid}.json", self.messages_url()), &[])
                .await?;
            return Ok(found.as_ref().and_then(update_from_resource));
        }
        // Twilio has no client reference: find the newest message to this number from this sender with this body.
        let list = self
            .get_json(
                &format!("{}.json", self.messages_url()),
                &[("To", sms.to.as_str()), ("From", &sms.from), ("PageSize", "20")],
            )
            .await?;
        let found = list.as_ref().and_then(|l| l["messages"].as_array()).and_then(|msgs| {
            msgs.iter()
                .find(|m| m["body"].as_str() == Some(sms.body.as_str()))
                .and_then(update_from_resource)
        });
        Ok(found)
    }

    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError> {
        let given = req
            .header("x-twilio-signature")
            .ok_or_else(|| CallbackError::Signature("no X-Twilio-Signature header".into()))?;
        let given = B64
            .decode(given)
            .map_err(|_| CallbackError::Signature("the signature is not base64".into()))?;
        let mut params = if req.method.eq_ignore_ascii_case("POST") {
            form::pairs(&req.body)
        } else {
            Vec::new()
        };
        params.sort();
        let signed = |url: &str| {
            let mut msg = url.to_owned();
            for (k, v) in &params {
                msg.push_str(k);
                msg.push_str(v);
            }
            hmac_sha1(self.creds.auth_token.as_bytes(), msg.as_bytes())
        };
        if url_variants(&req.url).iter().any(|u| same(&signed(u), &given)) {
            Ok(())
        } else {
            Err(CallbackError::Signature("X-Twilio-Signature does not match".into()))
        }
    }

    fn parse_status(&self, req: &CallbackRequest) -> Result<Vec<StatusUpdate>, CallbackError> {
        let p = form::pairs(&req.body);
        let status = form::require(&p, "MessageStatus")?;
        Ok(vec![StatusUpdate {
            provider_message_id: form::require(&p, "MessageSid")?.to_owned(),
            status: normalize(status),
            provider_status: status.to_owned(),
            error_code: form::get(&p, "ErrorCode").filter(|c| !c.is_empty()).map(str::to_owned),
            occurred_at: None,
            raw: form::to_json(&p),
        }])
    }

    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundSms, CallbackError> {
        let p = form::pairs(&req.body);
        let media_count: usize = form::get(&p, "NumMedia").and_then(|n| n.parse().ok()).unwrap_or(0);
        let media = (0..media_count)
            .filter_map(|i| {
                Some(InboundMedia {
                    url: form::get(&p, &format!("MediaUrl{i}"))?.to_owned(),
                    content_type: form::get(&p, &format!("MediaContentType{i}")).map(str::to_owned),
                })
            })
            .collect();
        Ok(InboundSms {
            provider_message_id: form::require(&p, "MessageSid")?.to_owned(),
            from: form::require(&p, "From")?.to_owned(),
            to: form::require(&p, "To")?.to_owned(),
            body: form::get(&p, "Body").unwrap_or_default().to_owned(),
            media,
            raw: form::to_json(&p),
        })
    }
}

/// The URL as given, and with the default port added or removed (Twilio's SDKs accept both).
fn url_variants(raw: &str) -> Vec<String> {
    let mut out = vec![raw.to_owned()];
    let Ok(mut u) = url::Url::parse(raw) else { return out };
    if u.port().is_some() {
        let _ = u.set_port(None);
        out.push(u.to_string());
    } else if let Some(host) = u.host_str() {
        // `Url` drops a default port, so the form with one is built by hand.
        let port = if u.scheme() == "https" { 443 } else { 80 };
        let rest = &u[url::Position::BeforePath..];
        out.push(format!("{}://{host}:{port}{rest}", u.scheme()));
    }
    out
}

/// Signs a callback as Twilio does (for the sandbox and tests).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut msg = url.to_owned();
    for (k, v) in &sorted {
        msg.push_str(k);
        msg.push_str(v);
    }
    B64.encode(hmac_sha1(auth_token.as_bytes(), msg.as_bytes()))
}
