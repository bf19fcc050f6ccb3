//! What the SMS spine stores: provider accounts, routes, numbers, messages with their attempts and status
//! history, opt-outs, usage records and events. Email and the chat channels reuse messages, attempts,
//! history, usage and events with another [`Channel`].

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::provider::ProviderKind;
use super::{DeliveryStatus, Encoding};
use crate::domain::wire_enum;
use crate::id::{
    AttemptId, EventId, MessageId, PhoneNumberId, ProviderAccountId, RouteId, StatusChangeId, TenantId, UsageId,
};

wire_enum!(
    /// The channel a message travels on.
    Channel, "channel" {
        /// SMS and MMS.
        Sms => "sms",
        /// Email.
        Email => "email",
        /// WhatsApp.
        Whatsapp => "whatsapp",
        /// Discord, Slack, Teams, Telegram.
        Chat => "chat",
        /// Voice calls (usage records of calls).
        Voice => "voice",
    }
);

wire_enum!(
    /// Which way a message goes.
    Direction, "direction" {
        /// Sent by a tenant.
        Outbound => "outbound",
        /// Received for a tenant.
        Inbound => "inbound",
    }
);

wire_enum!(
    /// What kind of sender a number is; it sets the default pace (messages per second).
    SenderType, "sender_type" {
        /// A 10-digit long code: 1 message/s by default.
        LongCode => "long_code",
        /// A toll-free number: 3 messages/s by default.
        TollFree => "toll_free",
        /// A short code: 100 messages/s by default.
        ShortCode => "short_code",
        /// An alphanumeric sender id.
        Alphanumeric => "alphanumeric",
    }
);

wire_enum!(
    /// How one attempt ended.
    AttemptOutcome, "outcome" {
        /// The provider accepted the message.
        Accepted => "accepted",
        /// Refused before processing; retried or failed over.
        Retryable => "retryable",
        /// Refused for good.
        Permanent => "permanent",
        /// Outcome unknown; reconciled before any resend.
        Unknown => "unknown",
        /// Reconciliation found the provider had (or had not) taken it.
        Reconciled => "reconciled",
    }
);

/// One vendor account's credentials; `tenant_id` is `None` for the platform's own accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderAccount {
    /// Its id.
    pub id: ProviderAccountId,
    /// The owning tenant, or `None` for the platform.
    pub tenant_id: Option<TenantId>,
    /// The vendor.
    pub kind: ProviderKind,
    /// What it carries: SMS (accounts made before email existed) or email.
    pub channel: Channel,
    /// A name for people.
    pub name: String,
    /// The credentials JSON, sealed with AES-256-GCM (see [`crate::crypto`]); never shown again.
    pub sealed_credentials: String,
    /// An API address other than the vendor's (platform accounts only: regions, test servers).
    pub base_url: Option<String>,
    /// Whether it may be used.
    pub enabled: bool,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A destination prefix served by an account at a cost per segment (SMS) or per recipient (email). An email
/// route's prefix is a recipient domain (`example.com`, which also serves its subdomains) or `*` for every one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Its id.
    pub id: RouteId,
    /// The owning tenant, or `None` for the platform.
    pub tenant_id: Option<TenantId>,
    /// E.164 prefix with its `+` (`+1`, `+4420`), or `+` for every destination.
    pub prefix: String,
    /// The account that sends.
    pub account_id: ProviderAccountId,
    /// The provider's cost per segment, in micro-units of `currency`.
    pub cost_micros: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Among equal costs, lower goes first.
    pub priority: i32,
    /// Whether it may be used.
    pub enabled: bool,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A phone number: in the platform's pool (`tenant_id: None`) or held by a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    /// Its id.
    pub id: PhoneNumberId,
    /// The tenant holding it.
    pub tenant_id: Option<TenantId>,
    /// The number (E.164) or sender id.
    pub number: String,
    /// The account it is provisioned on.
    pub account_id: Option<ProviderAccountId>,
    /// Long code, toll-free, short code or alphanumeric.
    pub sender_type: SenderType,
    /// e.g. `sms`, `mms`, `voice`.
    pub capabilities: Vec<String>,
    /// The answer to HELP; a default is used when empty.
    pub help_text: Option<String>,
    /// The sender pool it belongs to, if any.
    pub pool: Option<String>,
    /// Where calls to it fetch their call-control document (set through `CallStore::set_voice_url`).
    pub voice_url: Option<String>,
    /// When it was added.
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
}

/// A message on any channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The channel.
    pub channel: Channel,
    /// Outbound or inbound.
    pub direction: Direction,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// Text.
    pub body: String,
    /// Media URLs (MMS).
    pub media_urls: Vec<String>,
    /// Segments (what SMS is billed by).
    pub segments: u32,
    /// GSM-7 or UCS-2, for SMS.
    pub encoding: Option<Encoding>,
    /// Current delivery status.
    pub status: DeliveryStatus,
    /// The tenant's per-message callback URL.
    pub status_callback: Option<String>,
    /// Seconds the provider may keep trying.
    pub validity_period: Option<u32>,
    /// Not before this time (scheduled sends).
    pub send_at: Option<OffsetDateTime>,
    /// The tenant's tags.
    pub tags: Vec<String>,
    /// The tenant's metadata.
    pub metadata: Value,
    /// The account that took it.
    pub account_id: Option<ProviderAccountId>,
    /// The provider's id of it.
    pub provider_message_id: Option<String>,
    /// The provider's error code, on failure.
    pub error_code: Option<String>,
    /// The error, for people.
    pub error_message: Option<String>,
    /// What the tenant pays, in micro-units.
    pub price_micros: Option<i64>,
    /// Currency of the price.
    pub currency: Option<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

/// One attempt to hand a message to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Its id.
    pub id: AttemptId,
    /// The message.
    pub message_id: MessageId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The account tried.
    pub account_id: ProviderAccountId,
    /// Its vendor.
    pub provider: ProviderKind,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// How long the provider took.
    pub latency_ms: i64,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The provider's code or HTTP status.
    pub code: Option<String>,
    /// What the provider said.
    pub detail: Option<String>,
}

/// One entry of a message's status history. A change that would move the message backwards is kept with
/// `applied: false`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// Its id.
    pub id: StatusChangeId,
    /// The message.
    pub message_id: MessageId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The normalized status.
    pub status: DeliveryStatus,
    /// The provider's own word.
    pub provider_status: Option<String>,
    /// The provider's error code.
    pub error_code: Option<String>,
    /// Whether it changed the message's status.
    pub applied: bool,
    /// The raw provider payload.
    pub raw: Value,
    /// When it happened.
    pub occurred_at: OffsetDateTime,
}

/// A number that asked not to be messaged by a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOut {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The number that opted out.
    pub number: String,
    /// `keyword` (STOP and its kin), `api` or `admin`.
    pub source: String,
    /// When.
    pub created_at: OffsetDateTime,
}

/// One billable unit of use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    /// Its id.
    pub id: UsageId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The channel.
    pub channel: Channel,
    /// The message or call.
    pub resource_id: String,
    /// How many units (segments, emails, seconds).
    pub quantity: i64,
    /// `segment`, `email`, `second`.
    pub unit: String,
    /// What the provider charges IRISX, micro-units.
    pub cost_micros: i64,
    /// What the tenant pays, micro-units.
    pub price_micros: i64,
    /// Currency.
    pub currency: String,
    /// When.
    pub created_at: OffsetDateTime,
}

/// An entry of a tenant's event log, with a stable id webhooks deliver it under.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// e.g. `message.delivered`.
    pub event_type: String,
    /// The message or call it is about.
    pub resource_id: String,
    /// The documented payload of its type.
    pub data: Value,
    /// When it happened.
    pub occurred_at: OffsetDateTime,
    /// The resource's own status callback URL (a message's `status_callback`), which receives the event too.
    pub callback_url: Option<String>,
}

impl Event {
    /// A new event happening now.
    pub fn now(tenant_id: &TenantId, event_type: &str, resource_id: &str, data: Value) -> Self {
        Self {
            id: EventId::new(),
            tenant_id: tenant_id.clone(),
            event_type: event_type.to_owned(),
            resource_id: resource_id.to_owned(),
            data,
            occurred_at: OffsetDateTime::now_utc(),
            callback_url: None,
        }
    }

    /// The same event, also posted to this status callback URL.
    pub fn with_callback(mut self, url: Option<String>) -> Self {
        self.callback_url = url;
        self
    }

    /// The body every webhook of this event carries: `{"id", "type", "tenant_id", "occurred_at", "data"}`.
    pub fn webhook_body(&self) -> Value {
        serde_json::json!({
            "id": self.id,
            "type": self.event_type,
            "tenant_id": self.tenant_id,
            "occurred_at": self.occurred_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "data": self.data,
        })
    }
}
