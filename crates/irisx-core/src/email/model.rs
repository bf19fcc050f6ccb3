//! The shapes an email adapter works with: the outbound message, the normalized tracking events, inbound mail.
//!
//! Addresses of outbound mail are parsed ([`EmailAddress`]) before they reach an adapter; what vendors report
//! (event recipients, inbound senders) is kept as the vendor wrote it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use time::OffsetDateTime;

use crate::validate::EmailAddress;

/// An address with an optional display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, e.g. `Example Sender`.
    pub name: Option<String>,
    /// The address.
    pub address: EmailAddress,
}

impl Mailbox {
    /// A mailbox without a display name.
    pub fn new(address: EmailAddress) -> Self {
        Self { name: None, address }
    }

    /// A mailbox with a display name.
    pub fn named(name: impl Into<String>, address: EmailAddress) -> Self {
        Self {
            name: Some(name.into()),
            address,
        }
    }

    /// The mailbox as an RFC 5322 header value: `addr`, `Name <addr>`, `"Doe, J." <addr>`, or an RFC 2047
    /// encoded word when the name is not ASCII (`=?UTF-8?B?…?= <addr>`), which every vendor API accepts.
    pub fn to_header(&self) -> String {
        let addr = self.address.as_str();
        match self.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            None => addr.to_owned(),
            Some(name) if !name.is_ascii() => format!("=?UTF-8?B?{}?= <{addr}>", B64.encode(name)),
            Some(name)
                if name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || " !#$%&'*+-/=?^_`{|}~".contains(c)) =>
            {
                format!("{name} <{addr}>")
            }
            Some(name) => format!("\"{}\" <{addr}>", name.replace('\\', "\\\\").replace('"', "\\\"")),
        }
    }
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its file name.
    pub filename: String,
    /// Its media type, e.g. `application/pdf`.
    pub content_type: String,
    /// Its bytes.
    pub content: Bytes,
}

/// One outbound email, as the adapter needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundEmail {
    /// IRISX's message id, sent to the vendor as a custom argument (or as the `Message-ID` over SMTP) so that
    /// tracking events carry it back.
    pub message_id: String,
    /// The sender.
    pub from: Mailbox,
    /// The recipients.
    pub to: Vec<Mailbox>,
    /// Copies.
    pub cc: Vec<Mailbox>,
    /// Blind copies.
    pub bcc: Vec<Mailbox>,
    /// Where replies go.
    pub reply_to: Option<Mailbox>,
    /// The subject (any Unicode).
    pub subject: String,
    /// The HTML body.
    pub html: Option<String>,
    /// The plain-text body.
    pub text: Option<String>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// Extra MIME headers, e.g. `List-Unsubscribe`.
    pub headers: Vec<(String, String)>,
    /// Labels for the vendor's statistics (SendGrid categories, Mailgun tags, Postmark's tag, SES tags).
    pub tags: Vec<String>,
}

impl OutboundEmail {
    /// Every recipient: to, cc and bcc.
    pub fn recipients(&self) -> impl Iterator<Item = &Mailbox> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }
}

/// How final a bounce is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BounceClass {
    /// The address does not exist or refuses mail for good: suppress it.
    Hard,
    /// A temporary refusal (mailbox full, greylisting) after the vendor gave up retrying.
    Soft,
}

/// What happened to a message for one recipient, the same for every vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailEventKind {
    /// The receiving server accepted it.
    Delivered,
    /// The receiving server refused it.
    Bounced {
        /// Hard or soft.
        class: BounceClass,
    },
    /// The vendor did not send it (suppressed address, invalid recipient, policy).
    Dropped,
    /// Delivery was delayed; the vendor keeps trying.
    Deferred,
    /// The recipient opened it (tracking pixel).
    Opened,
    /// The recipient followed a tracked link.
    Clicked {
        /// The link.
        url: String,
    },
    /// The recipient marked it as spam.
    SpamReport,
    /// The recipient unsubscribed.
    Unsubscribed,
}

impl EmailEventKind {
    /// The wire name: `delivered`, `bounced`, `dropped`, `deferred`, `opened`, `clicked`, `spam_report`,
    /// `unsubscribed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EmailEventKind::Delivered => "delivered",
            EmailEventKind::Bounced { .. } => "bounced",
            EmailEventKind::Dropped => "dropped",
            EmailEventKind::Deferred => "deferred",
            EmailEventKind::Opened => "opened",
            EmailEventKind::Clicked { .. } => "clicked",
            EmailEventKind::SpamReport => "spam_report",
            EmailEventKind::Unsubscribed => "unsubscribed",
        }
    }

    /// Whether it is an engagement event (stored beside the delivery state, never overwriting it).
    pub fn is_engagement(&self) -> bool {
        matches!(
            self,
            EmailEventKind::Opened
                | EmailEventKind::Clicked { .. }
                | EmailEventKind::SpamReport
                | EmailEventKind::Unsubscribed
        )
    }
}

/// One tracking event for one recipient.
#[derive(Debug, Clone, PartialEq)]
pub struct EmailEvent {
    /// The recipient, as the vendor wrote it.
    pub recipient: String,
    /// What happened.
    pub kind: EmailEventKind,
    /// The vendor's id of the message (what the send answered).
    pub provider_message_id: Option<String>,
    /// IRISX's message id, when the vendor echoed the custom argument IRISX sent.
    pub message_id: Option<String>,
    /// The vendor's id of the event, when it gives one: together with the recipient, the de-duplication key
    /// (vendors retry webhooks and may send an event twice).
    pub provider_event_id: Option<String>,
    /// The vendor's reason or SMTP response, for bounces, drops and deferrals.
    pub reason: Option<String>,
    /// When the vendor says it happened.
    pub occurred_at: Option<OffsetDateTime>,
    /// The vendor's event, kept with the history.
    pub raw: serde_json::Value,
}

/// An Amazon SNS subscription confirmation: the topic asks IRISX to confirm by fetching `subscribe_url`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionConfirmation {
    /// The topic.
    pub topic_arn: String,
    /// The URL to fetch to confirm.
    pub subscribe_url: String,
    /// The confirmation token.
    pub token: String,
    /// The whole envelope.
    pub raw: serde_json::Value,
}

/// What a verified tracking webhook carried.
#[derive(Debug, Clone, PartialEq)]
pub enum TrackingOutcome {
    /// Events to record (possibly none, when the vendor reported only things IRISX does not track).
    Events(Vec<EmailEvent>),
    /// A subscription to confirm (Amazon SNS) with [`crate::email::provider::EmailProvider::confirm_subscription`].
    ConfirmSubscription(SubscriptionConfirmation),
}

impl TrackingOutcome {
    /// The events, or none for a subscription confirmation.
    pub fn into_events(self) -> Vec<EmailEvent> {
        match self {
            TrackingOutcome::Events(events) => events,
            TrackingOutcome::ConfirmSubscription(_) => Vec::new(),
        }
    }
}

/// An email received for a tenant through a vendor's inbound-parse webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEmail {
    /// The message's `Message-ID`, when it has one.
    pub provider_message_id: Option<String>,
    /// The sender, as the `From` header gives it.
    pub from: String,
    /// The envelope recipients: the addresses IRISX received it for.
    pub to: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The plain-text body.
    pub text: Option<String>,
    /// The HTML body.
    pub html: Option<String>,
    /// The message's headers, in order, when the vendor passes them.
    pub headers: Vec<(String, String)>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
    /// The vendor's fields (without file contents).
    pub raw: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::a_bare_address(None, "ann@example.com")]
    #[case::a_plain_name(Some("Ann Example"), "Ann Example <ann@example.com>")]
    #[case::a_name_with_a_comma_is_quoted(Some("Example, Ann"), "\"Example, Ann\" <ann@example.com>")]
    #[case::quotes_are_escaped(Some("Ann \"A\" E."), "\"Ann \\\"A\\\" E.\" <ann@example.com>")]
    #[case::a_unicode_name_is_an_encoded_word(Some("Zoë"), "=?UTF-8?B?Wm/Dqw==?= <ann@example.com>")]
    fn a_mailbox_is_written_as_a_header_value(#[case] name: Option<&str>, #[case] want: &str) {
        let address = EmailAddress::parse("to", "ann@example.com").unwrap();
        let m = Mailbox {
            name: name.map(str::to_owned),
            address,
        };
        assert_eq!(m.to_header(), want);
    }
}
