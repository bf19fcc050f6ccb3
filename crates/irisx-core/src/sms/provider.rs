//! The SMS provider port: what every vendor adapter (Twilio, Telnyx, Bandwidth, Plivo, Vonage, MessageBird,
//! Sinch, the sandbox) does, in the vendor's own wire format.
//!
//! Failures are classified once, here, so the worker decides retry, failover or give-up from the class alone:
//! - [`ProviderError::Retryable`]: the request was refused before it was processed (429, 5xx, a connection that
//!   never carried the request); safe to retry or to send elsewhere.
//! - [`ProviderError::Permanent`]: the provider processed and refused it (invalid number, unauthorised sender,
//!   bad credentials); retrying cannot help.
//! - [`ProviderError::Unknown`]: the request may have been processed (a timeout after it left, a garbled
//!   answer); the send must be reconciled with [`SmsProvider::fetch_status`] before any resend elsewhere.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{DeliveryStatus, E164};

/// The vendors IRISX speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Twilio Programmable Messaging.
    Twilio,
    /// Telnyx Messaging API v2.
    Telnyx,
    /// Bandwidth Messaging API v2.
    Bandwidth,
    /// Plivo Message API.
    Plivo,
    /// Vonage SMS API.
    Vonage,
    /// MessageBird REST API.
    Messagebird,
    /// Sinch SMS REST API.
    Sinch,
    /// IRISX's own sandbox: accepts sends and emits realistic receipts (an SMS or an email sandbox, as the
    /// account's channel says).
    Sandbox,
    /// Twilio SendGrid (email).
    Sendgrid,
    /// Mailgun (email).
    Mailgun,
    /// Postmark (email).
    Postmark,
    /// Amazon SES (email).
    Ses,
    /// Any SMTP relay (email).
    Smtp,
}

impl ProviderKind {
    /// Every kind.
    pub const ALL: &'static [ProviderKind] = &[
        ProviderKind::Twilio,
        ProviderKind::Telnyx,
        ProviderKind::Bandwidth,
        ProviderKind::Plivo,
        ProviderKind::Vonage,
        ProviderKind::Messagebird,
        ProviderKind::Sinch,
        ProviderKind::Sandbox,
        ProviderKind::Sendgrid,
        ProviderKind::Mailgun,
        ProviderKind::Postmark,
        ProviderKind::Ses,
        ProviderKind::Smtp,
    ];

    /// The wire name, also the path segment of its callback routes.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Twilio => "twilio",
            ProviderKind::Telnyx => "telnyx",
            ProviderKind::Bandwidth => "bandwidth",
            ProviderKind::Plivo => "plivo",
            ProviderKind::Vonage => "vonage",
            ProviderKind::Messagebird => "messagebird",
            ProviderKind::Sinch => "sinch",
            ProviderKind::Sandbox => "sandbox",
            ProviderKind::Sendgrid => "sendgrid",
            ProviderKind::Mailgun => "mailgun",
            ProviderKind::Postmark => "postmark",
            ProviderKind::Ses => "ses",
            ProviderKind::Smtp => "smtp",
        }
    }

    /// Whether the vendor carries this channel (the sandbox carries SMS and email).
    pub fn serves(self, channel: super::model::Channel) -> bool {
        use super::model::Channel;
        match self {
            ProviderKind::Sandbox => matches!(channel, Channel::Sms | Channel::Email),
            k if k.email().is_some() => channel == Channel::Email,
            _ => channel == Channel::Sms,
        }
    }

    /// The email vendor of this kind, for the kinds that send email.
    pub fn email(self) -> Option<crate::email::provider::EmailProviderKind> {
        use crate::email::provider::EmailProviderKind as E;
        Some(match self {
            ProviderKind::Sendgrid => E::Sendgrid,
            ProviderKind::Mailgun => E::Mailgun,
            ProviderKind::Postmark => E::Postmark,
            ProviderKind::Ses => E::Ses,
            ProviderKind::Smtp => E::Smtp,
            ProviderKind::Sandbox => E::Sandbox,
            _ => return None,
        })
    }

    /// The channel an account of this kind carries when none is named: email for the email vendors, else SMS.
    pub fn default_channel(self) -> super::model::Channel {
        match self {
            ProviderKind::Sandbox => super::model::Channel::Sms,
            k if k.email().is_some() => super::model::Channel::Email,
            _ => super::model::Channel::Sms,
        }
    }
}

/// One outbound SMS, as the adapter needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSms {
    /// IRISX's message id, sent as the provider's client reference where it has one.
    pub message_id: String,
    /// The sender: an E.164 number, a short code or an alphanumeric sender id.
    pub from: String,
    /// The recipient.
    pub to: E164,
    /// The text.
    pub body: String,
    /// Media for MMS.
    pub media_urls: Vec<String>,
    /// Where the provider should post delivery receipts for this message.
    pub status_callback: Option<String>,
    /// How long the provider may keep trying, in seconds.
    pub validity_period: Option<u32>,
}

/// A send the provider accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The provider's id of the message (for receipts and reconciliation).
    pub provider_message_id: String,
    /// The status the provider reported.
    pub status: DeliveryStatus,
    /// Segments, when the provider says.
    pub segments: Option<u32>,
    /// The provider's answer, for the attempt record.
    pub raw: serde_json::Value,
}

/// A classified failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Not processed; may be retried or sent elsewhere, after `after` when the provider said.
    #[error("retryable provider failure ({code}): {message}")]
    Retryable {
        /// The provider's code or the HTTP status.
        code: String,
        /// What the provider said.
        message: String,
        /// The provider's `Retry-After`, when given.
        after: Option<Duration>,
    },
    /// Processed and refused; never retried.
    #[error("permanent provider failure ({code}): {message}")]
    Permanent {
        /// The provider's code, e.g. Twilio's `21211`.
        code: String,
        /// What the provider said.
        message: String,
    },
    /// May or may not have been processed: reconcile before resending.
    #[error("unknown provider outcome: {message}")]
    Unknown {
        /// What happened, e.g. a timeout after the request was sent.
        message: String,
    },
}

/// A callback request as it reached IRISX, for signature checks and parsing.
#[derive(Debug, Clone)]
pub struct CallbackRequest {
    /// The full URL the provider called, as the provider saw it (scheme, host, path, query).
    pub url: String,
    /// The HTTP method.
    pub method: String,
    /// The headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Bytes,
    /// When it arrived (for timestamp tolerance checks).
    pub received_at: OffsetDateTime,
}

impl CallbackRequest {
    /// A header's value (the first, when repeated).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }
}

/// Why a callback was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// The signature is missing, wrong, or the timestamp is outside the tolerance.
    #[error("callback signature rejected: {0}")]
    Signature(String),
    /// The body is not what the provider sends.
    #[error("callback body not understood: {0}")]
    Malformed(String),
}

/// A refused callback, for its sender: a bad signature is 403 and changes nothing; a body the vendor would not
/// send is 422 on `body`.
impl From<CallbackError> for crate::CoreError {
    fn from(e: CallbackError) -> Self {
        match e {
            CallbackError::Signature(m) => crate::CoreError::Forbidden(format!("callback refused: {m}")),
            CallbackError::Malformed(m) => crate::CoreError::field("body", "malformed_callback", m),
        }
    }
}

/// A delivery receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// The provider's message id.
    pub provider_message_id: String,
    /// The normalized status.
    pub status: DeliveryStatus,
    /// The provider's own status word.
    pub provider_status: String,
    /// The provider's error code, on failures.
    pub error_code: Option<String>,
    /// When the provider says it happened.
    pub occurred_at: Option<OffsetDateTime>,
    /// The whole payload, kept with the status history.
    pub raw: serde_json::Value,
}

/// One media item of an inbound MMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMedia {
    /// Where the provider serves it.
    pub url: String,
    /// Its content type, when given.
    pub content_type: Option<String>,
}

/// An inbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundSms {
    /// The provider's message id.
    pub provider_message_id: String,
    /// The sender.
    pub from: String,
    /// The IRISX number it was sent to.
    pub to: String,
    /// The text.
    pub body: String,
    /// Media, for MMS.
    pub media: Vec<InboundMedia>,
    /// The whole payload.
    pub raw: serde_json::Value,
}

/// One vendor's SMS API, with one account's credentials.
#[async_trait]
pub trait SmsProvider: Send + Sync + 'static {
    /// Which vendor.
    fn kind(&self) -> ProviderKind;
    /// Sends one message.
    async fn send(&self, sms: &OutboundSms) -> Result<Accepted, ProviderError>;
    /// The provider's current status of a message it accepted, to reconcile an unknown outcome: `Ok(None)`
    /// when the provider has no such message (it was never processed).
    async fn fetch_status(
        &self,
        sms: &OutboundSms,
        provider_message_id: Option<&str>,
    ) -> Result<Option<StatusUpdate>, ProviderError>;
    /// Checks a callback's signature with this account's secret.
    fn verify(&self, req: &CallbackRequest) -> Result<(), CallbackError>;
    /// Reads the delivery receipts in a verified status callback.
    fn parse_status(&self, req: &CallbackRequest) -> Result<Vec<StatusUpdate>, CallbackError>;
    /// Reads a verified inbound-message callback.
    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundSms, CallbackError>;
}
