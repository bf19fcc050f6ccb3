//! What the calls ledger stores: trunks (a tenant's own or the platform's), agents, calls and recordings.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::domain::wire_enum;
use crate::id::{AgentId, CallId, ObjectId, RecordingId, SipTrunkId, TenantId};
use crate::sms::model::Direction;

wire_enum!(
    /// Where a call stands. The last five are final.
    CallStatus, "status" {
        /// Accepted, not yet handed to the engine.
        Queued => "queued",
        /// The engine is placing it.
        Initiated => "initiated",
        /// The far end is ringing.
        Ringing => "ringing",
        /// Answered and running its document.
        InProgress => "in-progress",
        /// Answered, then ended.
        Completed => "completed",
        /// The far end was busy.
        Busy => "busy",
        /// Nobody answered.
        NoAnswer => "no-answer",
        /// It could not be placed or was refused; `error_code` says why.
        Failed => "failed",
        /// Ended before an answer by the tenant or the caller.
        Canceled => "canceled",
    }
);

impl CallStatus {
    /// Whether the call is over.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CallStatus::Completed | CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Failed | CallStatus::Canceled
        )
    }
}

wire_enum!(
    /// The SIP transport to a trunk.
    TrunkTransport, "transport" {
        /// SIP over UDP.
        Udp => "udp",
        /// SIP over TCP.
        Tcp => "tcp",
    }
);

wire_enum!(
    /// How numbers are written to a trunk's carrier, in the To and From of its INVITEs.
    NumberFormat, "number_format" {
        /// E.164 with its plus: `+15551234567`.
        E164 => "e164",
        /// The same digits without the plus: `15551234567`.
        Digits => "digits",
    }
);

wire_enum!(
    /// Which caller ids a trunk presents.
    CallerIdMode, "caller_id_mode" {
        /// Any the call gives.
        Any => "any",
        /// Only the tenant's own numbers: a call from another number does not use the trunk.
        Owned => "owned",
    }
);

/// A trunk's cost per minute for destinations starting with `prefix` (`+` then digits; `+` alone for all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrunkRate {
    /// The destination prefix.
    pub prefix: String,
    /// Cost per minute, micro-units of the trunk's currency.
    pub cost_micros_per_minute: i64,
}

/// A SIP trunk to a carrier; `tenant_id` is `None` for the platform's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipTrunk {
    /// Its id.
    pub id: SipTrunkId,
    /// Its tenant, or the platform.
    pub tenant_id: Option<TenantId>,
    /// A name.
    pub name: String,
    /// The carrier's SIP host.
    pub host: String,
    /// Its SIP port.
    pub port: u16,
    /// UDP or TCP.
    pub transport: TrunkTransport,
    /// `{"username", "password"}` sealed, when the carrier challenges.
    pub sealed_credentials: Option<String>,
    /// The caller id presented on every call through it, replacing the call's `from`, when set.
    pub caller_id: Option<String>,
    /// Which caller ids it presents (a fixed `caller_id` is always allowed).
    pub caller_id_mode: CallerIdMode,
    /// How numbers are written to its carrier.
    pub number_format: NumberFormat,
    /// The codecs the carrier takes, in preference order (`PCMU`, `PCMA`).
    pub codecs: Vec<String>,
    /// Concurrent calls the carrier allows (0: no limit of its own).
    pub max_calls: u32,
    /// Cost per minute by destination prefix.
    pub rates: Vec<TrunkRate>,
    /// ISO 4217 currency of its rates.
    pub currency: String,
    /// Whether calls use it.
    pub enabled: bool,
    /// Created at.
    pub created_at: OffsetDateTime,
}

/// An agent: a SIP user of a tenant that a softphone registers as (digest auth), reachable by `Dial`.
/// User names are unique across the platform, as the engine's registrar knows users by name alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The SIP user name.
    pub username: String,
    /// A display name.
    pub name: String,
    /// The digest password, sealed (digest needs it in clear, so it is sealed, not hashed).
    pub sealed_password: String,
    /// Created at.
    pub created_at: OffsetDateTime,
}

/// One call: the ledger row the API, the orchestrator and the CDR worker share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Its id.
    pub id: CallId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Placed by the tenant (outbound) or received on its number (inbound).
    pub direction: Direction,
    /// The caller id.
    pub from: String,
    /// The number or agent called.
    pub to: String,
    /// Where it stands.
    pub status: CallStatus,
    /// Where the call-control document is fetched.
    pub url: Option<String>,
    /// An inline call-control document (instead of `url`).
    pub document: Option<String>,
    /// Where status events are also posted.
    pub status_callback: Option<String>,
    /// Whether the whole call is recorded.
    pub record: bool,
    /// How long it may ring, seconds.
    pub timeout_secs: u32,
    /// The trunk that answered.
    pub trunk_id: Option<SipTrunkId>,
    /// That trunk's cost per minute for this destination.
    pub rate_micros_per_minute: Option<i64>,
    /// The rate's currency.
    pub currency: Option<String>,
    /// Why it failed (`no_route`, `blocked_destination`, `sip_503`, `document_error` ...).
    pub error_code: Option<String>,
    /// The reason in words.
    pub error_message: Option<String>,
    /// The final SIP status when one ended it.
    pub sip_code: Option<u16>,
    /// When it was answered.
    pub answered_at: Option<OffsetDateTime>,
    /// When it ended.
    pub ended_at: Option<OffsetDateTime>,
    /// Seconds from answer to end (set by the CDR).
    pub duration_secs: Option<i64>,
    /// Seconds billed, rounded up per plan (set by the CDR).
    pub billable_secs: Option<i64>,
    /// The carrier's cost, micro-units (set by the CDR).
    pub cost_micros: Option<i64>,
    /// The tenant's price, micro-units (set by the CDR).
    pub price_micros: Option<i64>,
    /// The voice node supervising it while it is live; when that node stops beating, another ends the call.
    pub node_id: Option<String>,
    /// Created at.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl Call {
    /// The event payload of a call (what webhooks carry for `call.*`).
    pub fn event_data(&self) -> Value {
        json!({
            "id": self.id, "direction": self.direction, "from": self.from, "to": self.to, "status": self.status,
            "error_code": self.error_code, "error_message": self.error_message, "sip_code": self.sip_code,
            "trunk_id": self.trunk_id, "duration_secs": self.duration_secs, "billable_secs": self.billable_secs,
            "price_micros": self.price_micros, "currency": self.currency,
        })
    }

    /// The event `call.<name>` of this call as it is now, posted to its status callback as well.
    pub fn event(&self, name: &str) -> crate::sms::model::Event {
        crate::sms::model::Event::now(
            &self.tenant_id,
            &format!("call.{name}"),
            self.id.as_str(),
            self.event_data(),
        )
        .with_callback(self.status_callback.clone())
    }
}

/// A recording of a call, its bytes in the object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRecording {
    /// Its id.
    pub id: RecordingId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The call.
    pub call_id: CallId,
    /// The stored WAV (download through `/v1/objects/{id}/url`).
    pub object_id: ObjectId,
    /// Its length in milliseconds.
    pub duration_ms: i64,
    /// Created at.
    pub created_at: OffsetDateTime,
}

/// A tenant's change to a live call, left in the ledger for the voice node supervising it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CallControl {
    /// End the call.
    Hangup,
    /// Stop the current document and run this one instead.
    Redirect {
        /// Where to fetch it.
        url: Option<String>,
        /// Or the document itself.
        document: Option<String>,
    },
}
