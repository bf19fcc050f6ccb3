//! IRISX outbound webhooks: [`HttpWebhookSender`], the adapter of core's
//! [`WebhookSender`](irisx_core::ports::webhooks::WebhookSender) port.
//!
//! It signs each request with the Standard Webhooks headers, and connects only to public addresses: every
//! host is resolved by the sender's own resolver, which hands the HTTP client only the addresses the SSRF
//! rules allow (so a name that changes its answer between registration and delivery gains nothing), IP
//! literals are checked before the request, redirects are never followed and no proxy is used.

mod address;
mod config;
mod error;
mod fetch;
mod headers;
mod outcome;
mod policy;
mod resolver;
mod sender;

pub use address::{AddressClass, classify};
pub use config::SenderConfig;
pub use error::WebhookError;
pub use sender::HttpWebhookSender;
