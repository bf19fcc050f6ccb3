//! Customer webhooks, the domain side: the endpoint secret, the Standard Webhooks signature, the endpoint URL,
//! and the retry schedule. Sending lives behind [`crate::ports::webhooks::WebhookSender`], whose adapter (the
//! `irisx-webhooks` crate) owns the SSRF-safe HTTP client.
//!
//! The signature follows the Standard Webhooks specification: the signed content is
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, the MAC is HMAC-SHA256 keyed with the secret's decoded bytes,
//! and the header carries `v1,<base64 MAC>`, one per valid secret, separated by spaces (so a receiver accepts
//! the old and the new secret during a rotation).

pub mod model;
mod schedule;
mod secret;
mod url;

pub use schedule::RetrySchedule;
pub use secret::{WebhookSecret, signature, signature_header};
pub use url::WebhookUrl;
