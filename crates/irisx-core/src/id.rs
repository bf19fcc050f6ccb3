//! Typed, prefixed, time-ordered identifiers.
//!
//! Every id is `<prefix>_<32 lowercase hex>` where the hex is a UUIDv7, so ids sort by creation time as plain
//! strings; cursor pagination relies on that. An id is only built by [`new`](TenantId::new) or parsed at the edge
//! with [`FromStr`], so a value of one id type can never be passed where another is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The error of parsing an id of the wrong prefix or shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id (expected `{prefix}_` followed by 32 hex digits)")]
pub struct IdParseError {
    /// The id type's name, e.g. `tenant`.
    pub kind: &'static str,
    /// The id type's prefix, e.g. `ten`.
    pub prefix: &'static str,
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this type starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(format!("{}_{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id as owned text.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let ok = s
                    .strip_prefix(concat!($prefix, "_"))
                    .is_some_and(|hex| {
                        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                    });
                if ok {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(IdParseError { kind: $kind, prefix: $prefix })
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some(concat!("^", $prefix, "_[0-9a-f]{32}$")))
                    .examples([serde_json::json!(concat!($prefix, "_0193b0c8a6f47d2e9a1c3b5d7e9f0a12"))])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

define_id!(
    /// A tenant (customer account).
    TenantId, "ten", "tenant"
);
define_id!(
    /// A tenant's user.
    UserId, "usr", "user"
);
define_id!(
    /// A member of the platform staff.
    AdminUserId, "adm", "admin user"
);
define_id!(
    /// A customer login session (the `jti` of its token).
    SessionId, "ses", "session"
);
define_id!(
    /// A platform staff login session.
    AdminSessionId, "ads", "admin session"
);
define_id!(
    /// An API key.
    ApiKeyId, "key", "API key"
);
define_id!(
    /// An audit log entry.
    AuditId, "aud", "audit entry"
);
define_id!(
    /// A task in the outbox; also the queue's de-duplication id.
    TaskId, "task", "task"
);
define_id!(
    /// A provider account: one vendor's credentials, a tenant's own or the platform's.
    ProviderAccountId, "pa", "provider account"
);
define_id!(
    /// A route: a destination prefix served by a provider account at a cost.
    RouteId, "rt", "route"
);
define_id!(
    /// A phone number held by the platform or a tenant.
    PhoneNumberId, "pn", "phone number"
);
define_id!(
    /// A message on any channel, outbound or inbound.
    MessageId, "msg", "message"
);
define_id!(
    /// One attempt to hand a message to a provider.
    AttemptId, "att", "attempt"
);
define_id!(
    /// One entry of a message's status history.
    StatusChangeId, "sc", "status change"
);
define_id!(
    /// An event of a tenant's event log (what webhooks deliver).
    EventId, "evt", "event"
);
define_id!(
    /// A tenant's webhook endpoint.
    WebhookEndpointId, "ep", "webhook endpoint"
);
define_id!(
    /// One event on its way to one endpoint (or status callback URL).
    WebhookDeliveryId, "whd", "webhook delivery"
);
define_id!(
    /// One HTTP attempt of a webhook delivery.
    WebhookAttemptId, "wha", "webhook attempt"
);
define_id!(
    /// A usage record (what billing rates).
    UsageId, "use", "usage record"
);
define_id!(
    /// An HTTP request, echoed in `x-request-id` and in error bodies.
    RequestId, "req", "request"
);
define_id!(
    /// A tenant's email template.
    TemplateId, "tpl", "email template"
);
define_id!(
    /// A stored file: an attachment, an inbound email's part, a recording.
    ObjectId, "obj", "object"
);
define_id!(
    /// A voice call, outbound or inbound.
    CallId, "cal", "call"
);
define_id!(
    /// A SIP trunk to a carrier, a tenant's own or the platform's.
    SipTrunkId, "trk", "SIP trunk"
);
define_id!(
    /// An agent: a SIP user a softphone registers as.
    AgentId, "agt", "agent"
);
define_id!(
    /// A call recording.
    RecordingId, "rec", "recording"
);
define_id!(
    /// One run of a voice node (a restarted node has a new one).
    VoiceNodeId, "vnd", "voice node"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_parse_back_and_sort_by_creation() {
        let a = TenantId::new();
        let b = TenantId::new();
        assert_eq!(a.as_str().parse::<TenantId>().unwrap(), a);
        assert!(a < b, "{a} should sort before {b}");
        assert!(a.as_str().starts_with("ten_"));
        assert_eq!(a.as_str().len(), 4 + 32);
    }

    #[test]
    fn an_id_of_another_type_or_shape_is_refused() {
        let user = UserId::new();
        assert!(user.as_str().parse::<TenantId>().is_err());
        assert!("ten_XYZ".parse::<TenantId>().is_err());
        assert!("ten_0193B0C8A6F47D2E9A1C3B5D7E9F0A12".parse::<TenantId>().is_err());
        assert!("".parse::<TenantId>().is_err());
    }
}
