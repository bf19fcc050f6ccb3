//! Webhook endpoints, deliveries and attempts, as the store keeps them.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use super::WebhookUrl;
use crate::id::{EventId, TenantId, WebhookAttemptId, WebhookDeliveryId, WebhookEndpointId};

/// Which event types an endpoint receives: `*`, a family such as `message.*`, or one type such as
/// `message.delivered`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EventPattern(String);

impl EventPattern {
    /// Every event.
    pub fn all() -> Self {
        Self("*".into())
    }

    /// Parses a pattern: lower-case words of letters, digits and `_` joined by dots, optionally ending in
    /// `.*`; or `*` alone.
    pub fn parse(text: &str) -> Result<Self, String> {
        let body = text.strip_suffix(".*").unwrap_or(text);
        let word_ok = |w: &str| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if text == "*" || (text.len() <= 100 && body.split('.').all(word_ok)) {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{text}` is not an event type pattern; use `*`, `message.*` or `message.delivered`"
            ))
        }
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What a matching type starts with (for a family or `*`), or the one type it is: (text, is_prefix).
    pub fn stored(&self) -> (&str, bool) {
        match self.0.strip_suffix('*') {
            Some(prefix) => (prefix, true),
            None => (&self.0, false),
        }
    }

    /// Whether an event type matches.
    pub fn matches(&self, event_type: &str) -> bool {
        match self.stored() {
            (prefix, true) => event_type.starts_with(prefix),
            (exact, false) => event_type == exact,
        }
    }
}

impl TryFrom<String> for EventPattern {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EventPattern> for String {
    fn from(value: EventPattern) -> Self {
        value.0
    }
}

/// A tenant's endpoint. Its secrets and custom headers are kept sealed; the use cases open them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Its id.
    pub id: WebhookEndpointId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// Where events are posted.
    pub url: WebhookUrl,
    /// The tenant's note.
    pub description: Option<String>,
    /// Which events it receives.
    pub event_types: Vec<EventPattern>,
    /// Whether events are delivered to it.
    pub enabled: bool,
    /// Custom headers (JSON object of strings), sealed.
    pub sealed_headers: Option<String>,
    /// Deliveries per second at most.
    pub rate_limit_per_second: Option<u32>,
    /// The signing secret, sealed.
    pub sealed_secret: String,
    /// The secret before the last rotation, sealed, and until when it still signs.
    pub previous_secret: Option<(String, OffsetDateTime)>,
    /// Why it was disabled by IRISX (410, failing for days), when it was.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed (cleared by a success).
    pub failing_since: Option<OffsetDateTime>,
    /// Created.
    pub created_at: OffsetDateTime,
    /// Last changed.
    pub updated_at: OffsetDateTime,
}

crate::domain::wire_enum!(
    /// Where a delivery stands.
    DeliveryState, "delivery state" {
        /// Waiting for its next attempt.
        Pending => "pending",
        /// A 2xx came back.
        Delivered => "delivered",
        /// Every attempt failed, or the endpoint is gone or disabled.
        Failed => "failed",
    }
);

/// One event on its way to one endpoint, or to a message's status callback URL (`endpoint_id: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// Its id.
    pub id: WebhookDeliveryId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The endpoint, or `None` for a status callback.
    pub endpoint_id: Option<WebhookEndpointId>,
    /// The status callback URL (endpoint deliveries use the endpoint's current URL).
    pub url: Option<String>,
    /// The event.
    pub event_id: EventId,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// Created.
    pub created_at: OffsetDateTime,
}

crate::domain::wire_enum!(
    /// How an attempt ended, as logged.
    AttemptResult, "attempt result" {
        /// 2xx.
        Delivered => "delivered",
        /// Anything else but 410.
        Failed => "failed",
        /// 410: the endpoint was disabled.
        Gone => "gone",
    }
);

/// One logged HTTP attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttemptLog {
    /// Its id.
    pub id: WebhookAttemptId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The delivery.
    pub delivery_id: WebhookDeliveryId,
    /// The endpoint, if not a status callback.
    pub endpoint_id: Option<WebhookEndpointId>,
    /// The event.
    pub event_id: EventId,
    /// 1 for the first attempt of the delivery.
    pub attempt: u32,
    /// The URL called.
    pub url: String,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// The answer's status.
    pub status_code: Option<u16>,
    /// How long it took.
    pub latency_ms: i64,
    /// How it ended.
    pub result: AttemptResult,
    /// The request headers, secrets masked.
    pub request_headers: Value,
    /// The start of the answer's body.
    pub response_body: Option<String>,
    /// The failure, when no answer came.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_all_a_family_or_one_type() {
        let p = |s| EventPattern::parse(s).unwrap();
        assert!(p("*").matches("message.sent"));
        assert!(p("message.*").matches("message.sent"));
        assert!(!p("message.*").matches("messages.sent"));
        assert!(!p("message.*").matches("email.sent"));
        assert!(p("call.completed").matches("call.completed"));
        assert!(!p("call.completed").matches("call.completed.late"));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        for bad in [
            "",
            "Message.sent",
            "message.",
            "*.sent",
            "message.**",
            "a b",
            "message.*.x",
        ] {
            assert!(EventPattern::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
