//! Amazon SES v2: `SendEmail` (`POST /v2/email/outbound-emails`, JSON, AWS Signature Version 4 for service
//! `ses`) and SES notifications (identity notifications or configuration-set event publishing) delivered by
//! Amazon SNS to an HTTPS subscription, verified with [`super::sns`].
//!
//! Credentials:
//! - `access_key_id`, `secret_access_key`, `session_token` (optional, for temporary credentials).
//! - `region`, e.g. `eu-west-1` (the API is `https://email.<region>.amazonaws.com`).
//! - `configuration_set` (optional): sent as `ConfigurationSetName`, for event publishing.
//! - `sns_topic_arns` (optional): the topics whose notifications are accepted; empty accepts any topic whose
//!   message verifies (any AWS account's), so listing them is recommended.
//!
//! IRISX's message id travels as the message tag `irisx_message_id`, which event publishing echoes in
//! `mail.tags`; each of the message's tags becomes a tag named after it (characters SES refuses become `_`)
//! with the value `true`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use irisx_core::email::provider::{
    CallbackError, CallbackRequest, EmailAccepted, EmailProvider, EmailProviderKind, ProviderError,
};
use irisx_core::email::{
    BounceClass, EmailEvent, EmailEventKind, OutboundEmail, SubscriptionConfirmation, TrackingOutcome,
};
use reqwest::Client;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use super::sigv4::{self, Key};
use super::sns::{CertificateSource, HttpCertificates, SnsVerifier, is_sns_url};
use super::{rfc3339, string};
use crate::http::{error_body, json_body, status_error, transport_error};

/// The message tag that carries IRISX's message id.
pub const MESSAGE_ID_TAG: &str = "irisx_message_id";
const PATH: &str = "/v2/email/outbound-emails";

/// An SES account's credentials.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token of temporary credentials.
    #[serde(default)]
    pub session_token: Option<String>,
    /// The region.
    pub region: String,
    /// The configuration set.
    #[serde(default)]
    pub configuration_set: Option<String>,
    /// The SNS topics accepted.
    #[serde(default)]
    pub sns_topic_arns: Vec<String>,
}

/// The SES adapter for one account.
pub struct Ses {
    creds: Credentials,
    base: String,
    http: Client,
    sns: SnsVerifier,
}

fn tag_name(tag: &str) -> String {
    tag.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(256)
        .collect()
}

fn content(data: &str) -> Value {
    json!({"Data": data, "Charset": "UTF-8"})
}

/// The `SendEmail` body of a message.
pub fn body(email: &OutboundEmail, configuration_set: Option<&str>) -> Value {
    let addresses = |l: &[irisx_core::email::Mailbox]| l.iter().map(|m| m.to_header()).collect::<Vec<_>>();
    let mut simple_body = json!({});
    if let Some(text) = &email.text {
        simple_body["Text"] = content(text);
    }
    if let Some(html) = &email.html {
        simple_body["Html"] = content(html);
    }
    let mut simple = json!({"Subject": content(&email.subject), "Body": simple_body});
    if !email.headers.is_empty() {
        simple["Headers"] = email
            .headers
            .iter()
            .map(|(k, v)| json!({"Name": k, "Value": v}))
            .collect();
    }
    if !email.attachments.is_empty() {
        simple["Attachments"] = email
            .attachments
            .iter()
            .map(|a| {
                json!({"FileName": a.filename, "ContentType": a.content_type, "ContentDisposition": "ATTACHMENT",
                       "RawContent": B64.encode(&a.content)})
            })
            .collect();
    }
    let mut tags = vec![json!({"Name": MESSAGE_ID_TAG, "Value": email.message_id})];
    tags.extend(email.tags.iter().map(|t| json!({"Name": tag_name(t), "Value": "true"})));
    let mut b = json!({
        "FromEmailAddress": email.from.to_header(),
        "Destination": {
            "ToAddresses": addresses(&email.to),
            "CcAddresses": addresses(&email.cc),
            "BccAddresses": addresses(&email.bcc),
        },
        "Content": {"Simple": simple},
        "EmailTags": tags,
    });
    if let Some(r) = &email.reply_to {
        b["ReplyToAddresses"] = json!([r.to_header()]);
    }
    if let Some(c) = configuration_set {
        b["ConfigurationSetName"] = json!(c);
    }
    b
}

/// Classifies an SES error: the error type from `x-amzn-ErrorType` (or the body), throttling retryable even
/// when SES answers 400 for it.
fn refusal(status: reqwest::StatusCode, headers: &reqwest::header::HeaderMap, body: &Value) -> ProviderError {
    let from_body = ["__type", "code", "Code"].iter().find_map(|k| body[*k].as_str());
    let code = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .or(from_body)
        .map(|c| {
            c.split(':')
                .next()
                .unwrap_or(c)
                .rsplit('#')
                .next()
                .unwrap_or(c)
                .to_owned()
        })
        .unwrap_or_else(|| status.as_u16().to_string());
    let message = ["message", "Message"]
        .iter()
        .find_map(|k| body[*k].as_str())
        .map_or_else(|| body.to_string(), str::to_owned);
    if matches!(
        code.as_str(),
        "ThrottlingException" | "TooManyRequestsException" | "Throttling"
    ) {
        return ProviderError::Retryable {
            after: crate::http::retry_after(headers),
            code,
            message,
        };
    }
    status_error(status, headers, code, message)
}

impl Ses {
    /// An adapter for one account; SNS certificates are fetched over HTTPS with `http`.
    pub fn new(creds: Credentials, base_url: Option<&str>, http: Client) -> Self {
        let base = base_url.map_or_else(
            || format!("https://email.{}.amazonaws.com", creds.region),
            |b| b.trim_end_matches('/').to_owned(),
        );
        let sns = SnsVerifier::new(
            Arc::new(HttpCertificates::new(http.clone())),
            creds.sns_topic_arns.clone(),
        );
        Self { creds, base, http, sns }
    }

    /// The same adapter taking SNS signing certificates from `certificates`, refusing messages older than
    /// `max_age`.
    pub fn with_certificates(mut self, certificates: Arc<dyn CertificateSource>, max_age: Duration) -> Self {
        self.sns = SnsVerifier::new(certificates, self.creds.sns_topic_arns.clone()).with_max_age(max_age);
        self
    }

    fn key(&self) -> Key<'_> {
        Key {
            access_key_id: &self.creds.access_key_id,
            secret_access_key: &self.creds.secret_access_key,
            session_token: self.creds.session_token.as_deref(),
            region: &self.creds.region,
            service: "ses",
        }
    }
}

/// The recipients an SES event is about.
fn recipients(kind: &str, m: &Value) -> Vec<String> {
    let list = |v: &Value, key: Option<&str>| -> Vec<String> {
        v.as_array()
            .map(|l| l.iter().filter_map(|r| string(key.map_or(r, |k| &r[k]))).collect())
            .unwrap_or_default()
    };
    match kind {
        "Delivery" => list(&m["delivery"]["recipients"], None),
        "Bounce" => list(&m["bounce"]["bouncedRecipients"], Some("emailAddress")),
        "Complaint" => list(&m["complaint"]["complainedRecipients"], Some("emailAddress")),
        "DeliveryDelay" => list(&m["deliveryDelay"]["delayedRecipients"], Some("emailAddress")),
        _ => list(&m["mail"]["destination"], None),
    }
}

/// Maps an SES notification or published event to the normalized kind; `None` for the ones IRISX does not
/// track (`Send`, `Rendering Failure`, `Subscription`).
pub fn normalize(kind: &str, m: &Value) -> Option<EmailEventKind> {
    Some(match kind {
        "Delivery" => EmailEventKind::Delivered,
        "Bounce" => EmailEventKind::Bounced {
            class: if m["bounce"]["bounceType"].as_str() == Some("Permanent") {
                BounceClass::Hard
            } else {
                BounceClass::Soft
            },
        },
        "Complaint" => EmailEventKind::SpamReport,
        "Reject" => EmailEventKind::Dropped,
        "DeliveryDelay" => EmailEventKind::Deferred,
        "Open" => EmailEventKind::Opened,
        "Click" => EmailEventKind::Clicked {
            url: m["click"]["link"].as_str().unwrap_or_default().to_owned(),
        },
        _ => return None,
    })
}

fn events(envelope: &Value) -> Result<Vec<EmailEvent>, CallbackError> {
    let m: Value = envelope["Message"]
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(|| CallbackError::Malformed("the SNS Message is not SES JSON".into()))?;
    let Some(kind) = m["notificationType"].as_str().or(m["eventType"].as_str()) else {
        return Err(CallbackError::Malformed("no notificationType or eventType".into()));
    };
    let Some(normalized) = normalize(kind, &m) else {
        return Ok(Vec::new());
    };
    let detail = [
        "delivery",
        "bounce",
        "complaint",
        "reject",
        "deliveryDelay",
        "open",
        "click",
    ]
    .iter()
    .map(|k| &m[*k])
    .find(|v| v.is_object())
    .unwrap_or(&Value::Null);
    let reason = ["smtpResponse", "reason", "delayType", "complaintFeedbackType"]
        .iter()
        .find_map(|k| string(&detail[*k]));
    let event_id = string(&detail["feedbackId"]).or_else(|| string(&envelope["MessageId"]));
    Ok(recipients(kind, &m)
        .into_iter()
        .map(|recipient| {
            let bounced = m["bounce"]["bouncedRecipients"].as_array().and_then(|l| {
                l.iter()
                    .find(|r| r["emailAddress"].as_str() == Some(recipient.as_str()))
                    .and_then(|r| string(&r["diagnosticCode"]).or_else(|| string(&r["status"])))
            });
            EmailEvent {
                kind: normalized.clone(),
                provider_message_id: string(&m["mail"]["messageId"]),
                message_id: string(&m["mail"]["tags"][MESSAGE_ID_TAG][0]),
                provider_event_id: event_id.clone(),
                reason: bounced.or_else(|| reason.clone()),
                occurred_at: rfc3339(&detail["timestamp"]).or_else(|| rfc3339(&m["mail"]["timestamp"])),
                raw: m.clone(),
                recipient,
            }
        })
        .collect())
}

#[async_trait]
impl EmailProvider for Ses {
    fn kind(&self) -> EmailProviderKind {
        EmailProviderKind::Ses
    }

    async fn send(&self, email: &OutboundEmail) -> Result<EmailAccepted, ProviderError> {
        let url = Url::parse(&format!("{}{PATH}", self.base)).map_err(|e| ProviderError::Permanent {
            code: "base_url".into(),
            message: e.to_string(),
        })?;
        let payload =
            serde_json::to_vec(&body(email, self.creds.configuration_set.as_deref())).expect("a JSON value serializes");
        let content_type = ("content-type", "application/json");
        let signed = sigv4::sign(
            &self.key(),
            "POST",
            &url,
            &[content_type],
            &payload,
            OffsetDateTime::now_utc(),
        );
        let mut req = self.http.post(url).header(content_type.0, content_type.1);
        for (k, v) in signed {
            req = req.header(k, v);
        }
        let resp = req.body(payload).send().await.map_err(|e| transport_error(&e))?;
        if !resp.status().is_success() {
            let (status, headers, body) = error_body(resp).await;
            return Err(refusal(status, &headers, &body));
        }
        let body = json_body(resp).await?;
        let id = body["MessageId"].as_str().ok_or_else(|| ProviderError::Unknown {
            message: "SES answered without a MessageId".into(),
        })?;
        Ok(EmailAccepted {
            provider_message_id: id.to_owned(),
            raw: body,
        })
    }

    async fn verify_and_parse_events(&self, req: &CallbackRequest) -> Result<TrackingOutcome, CallbackError> {
        let envelope = self.sns.verify(req).await?;
        match envelope["Type"].as_str() {
            Some("SubscriptionConfirmation") => {
                let field = |k: &str| string(&envelope[k]).ok_or_else(|| CallbackError::Malformed(format!("no {k}")));
                Ok(TrackingOutcome::ConfirmSubscription(SubscriptionConfirmation {
                    topic_arn: field("TopicArn")?,
                    subscribe_url: field("SubscribeURL")?,
                    token: field("Token")?,
                    raw: envelope.clone(),
                }))
            }
            Some("Notification") => events(&envelope).map(TrackingOutcome::Events),
            _ => Ok(TrackingOutcome::Events(Vec::new())),
        }
    }

    async fn confirm_subscription(&self, confirmation: &SubscriptionConfirmation) -> Result<(), ProviderError> {
        let url = Url::parse(&confirmation.subscribe_url)
            .ok()
            .filter(is_sns_url)
            .ok_or_else(|| ProviderError::Permanent {
                code: "subscribe_url".into(),
                message: format!("{} is not an Amazon SNS https address", confirmation.subscribe_url),
            })?;
        let resp = self.http.get(url).send().await.map_err(|e| transport_error(&e))?;
        if resp.status().is_success() {
            return Ok(());
        }
        let (status, headers, body) = error_body(resp).await;
        Err(status_error(
            status,
            &headers,
            status.as_u16().to_string(),
            body.to_string(),
        ))
    }
}
