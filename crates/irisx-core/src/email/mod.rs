//! Email: the outbound message, the normalized tracking events, inbound mail, and the provider port.

pub mod content;
pub mod mime;
pub mod model;
pub mod provider;
pub mod template;

pub use model::{
    Attachment, BounceClass, EmailEvent, EmailEventKind, InboundEmail, Mailbox, OutboundEmail,
    SubscriptionConfirmation, TrackingOutcome,
};
