//! The normalized delivery status every provider's statuses map to, and the rule that a message never moves
//! backwards: a late `sent` after `delivered` is kept in the history but does not change the message.

use serde::{Deserialize, Serialize};

/// A message's delivery status, the same for every provider and channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Accepted by IRISX (or a provider's service) and waiting.
    Accepted,
    /// Queued for sending.
    Queued,
    /// Handed to the carrier or mail server.
    Sent,
    /// Delivered to the handset or mailbox.
    Delivered,
    /// Read (channels that report it).
    Read,
    /// A negative receipt after hand-off.
    Undelivered,
    /// Refused by the provider, or could not be handed off.
    Failed,
    /// An inbound message.
    Received,
    /// Canceled before sending.
    Canceled,
    /// The provider cannot confirm the outcome.
    Unknown,
}

impl DeliveryStatus {
    /// How far along a message is; a status may only replace one of a lower stage.
    fn stage(self) -> u8 {
        match self {
            DeliveryStatus::Accepted | DeliveryStatus::Queued => 1,
            DeliveryStatus::Sent => 2,
            DeliveryStatus::Unknown => 3,
            DeliveryStatus::Delivered
            | DeliveryStatus::Undelivered
            | DeliveryStatus::Failed
            | DeliveryStatus::Canceled
            | DeliveryStatus::Received => 4,
            DeliveryStatus::Read => 5,
        }
    }

    /// Whether no further delivery status is expected (a `read` may still follow `delivered`).
    pub fn is_final(self) -> bool {
        self.stage() >= 4
    }

    /// Whether a message in `self` may move to `next`.
    pub fn may_become(self, next: DeliveryStatus) -> bool {
        match (self, next) {
            (DeliveryStatus::Delivered, DeliveryStatus::Read) => true,
            (current, _) if current.stage() >= 4 => false,
            (current, next) => next.stage() > current.stage(),
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Accepted => "accepted",
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Undelivered => "undelivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Received => "received",
            DeliveryStatus::Canceled => "canceled",
            DeliveryStatus::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryStatus::*;

    #[test]
    fn a_message_moves_forward_only() {
        assert!(Queued.may_become(Sent));
        assert!(Sent.may_become(Delivered));
        assert!(Queued.may_become(Delivered));
        assert!(Sent.may_become(Unknown));
        assert!(Unknown.may_become(Delivered));
        assert!(Delivered.may_become(Read));
        assert!(!Delivered.may_become(Sent));
        assert!(!Delivered.may_become(Undelivered));
        assert!(!Failed.may_become(Delivered));
        assert!(!Sent.may_become(Queued));
        assert!(!Sent.may_become(Sent));
        assert!(!Read.may_become(Delivered));
    }
}
