//! The email provider port: what every vendor adapter (SendGrid, Mailgun, Postmark, Amazon SES, SMTP, the
//! sandbox) does, in the vendor's own wire format.
//!
//! Failures are classified as for SMS ([`ProviderError`]): `Retryable` (429, 5xx, an SMTP 4yz reply, a
//! connection that never carried the message), `Permanent` with the vendor's code (an HTTP 4xx refusal, an
//! SMTP 5yz reply) and `Unknown` (a timeout after the request left: the vendor may have taken it).
//!
//! Webhooks are verified and read in one step, because for some vendors the proof is inside the body (Mailgun's
//! `signature` object, Amazon SNS's signed envelope) and for Amazon SNS checking it needs a network fetch.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::model::{InboundEmail, OutboundEmail, SubscriptionConfirmation, TrackingOutcome};
pub use crate::sms::provider::{CallbackError, CallbackRequest, ProviderError};

/// The email vendors IRISX speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EmailProviderKind {
    /// Twilio SendGrid v3 Mail Send and Event Webhook.
    Sendgrid,
    /// Mailgun Messages API and webhooks.
    Mailgun,
    /// Postmark Email API and webhooks.
    Postmark,
    /// Amazon SES v2 with notifications through Amazon SNS.
    Ses,
    /// Any SMTP relay.
    Smtp,
    /// IRISX's own sandbox: accepts sends and emits realistic events.
    Sandbox,
}

impl EmailProviderKind {
    /// Every kind.
    pub const ALL: &'static [EmailProviderKind] = &[
        EmailProviderKind::Sendgrid,
        EmailProviderKind::Mailgun,
        EmailProviderKind::Postmark,
        EmailProviderKind::Ses,
        EmailProviderKind::Smtp,
        EmailProviderKind::Sandbox,
    ];

    /// The wire name, also the path segment of its callback routes.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailProviderKind::Sendgrid => "sendgrid",
            EmailProviderKind::Mailgun => "mailgun",
            EmailProviderKind::Postmark => "postmark",
            EmailProviderKind::Ses => "ses",
            EmailProviderKind::Smtp => "smtp",
            EmailProviderKind::Sandbox => "sandbox",
        }
    }
}

/// A send the vendor accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailAccepted {
    /// The vendor's id of the message, which its tracking events carry (for SMTP, the `Message-ID`).
    pub provider_message_id: String,
    /// The vendor's answer, for the attempt record.
    pub raw: serde_json::Value,
}

/// One vendor's email API, with one account's credentials.
#[async_trait]
pub trait EmailProvider: Send + Sync + 'static {
    /// Which vendor.
    fn kind(&self) -> EmailProviderKind;

    /// Sends one message to all its recipients.
    async fn send(&self, email: &OutboundEmail) -> Result<EmailAccepted, ProviderError>;

    /// Checks a tracking webhook with this account's secret and reads its events, mapped to the normalized
    /// kinds. Vendor events IRISX does not track (SendGrid's `processed`, Mailgun's `accepted`) are left out.
    async fn verify_and_parse_events(&self, req: &CallbackRequest) -> Result<TrackingOutcome, CallbackError>;

    /// Confirms a subscription a tracking webhook asked for (Amazon SNS). Vendors without one refuse.
    async fn confirm_subscription(&self, confirmation: &SubscriptionConfirmation) -> Result<(), ProviderError> {
        Err(ProviderError::Permanent {
            code: "unsupported".into(),
            message: format!(
                "{} has no subscriptions to confirm (topic {})",
                self.kind().as_str(),
                confirmation.topic_arn
            ),
        })
    }

    /// Checks and reads an inbound-parse webhook. Vendors without one (or without one IRISX reads) refuse
    /// with [`CallbackError::Malformed`] saying so.
    fn parse_inbound(&self, req: &CallbackRequest) -> Result<InboundEmail, CallbackError> {
        let _ = req;
        Err(CallbackError::Malformed(format!(
            "{} has no inbound-parse webhook in IRISX: receive mail through a vendor that has one (SendGrid, Mailgun, Postmark)",
            self.kind().as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_wire_name_that_serde_agrees_with() {
        let names: std::collections::HashSet<_> = EmailProviderKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), EmailProviderKind::ALL.len());
        for k in EmailProviderKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.as_str()));
        }
    }
}
