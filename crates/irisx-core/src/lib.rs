//! IRISX core: the domain types and rules, typed ids, the ports (traits) the adapters implement, the versioned
//! tasks carried by the queue, and the use cases the HTTP and worker layers call.
//!
//! This crate knows nothing of sqlx, axum, NATS, Redis or reqwest: adapters live in their own crates and are
//! chosen once by the `irisx` binary.

pub mod audit;
pub mod auth;
pub mod calls;
pub mod crypto;
pub mod domain;
pub mod email;
pub mod error;
pub mod id;
pub mod page;
pub mod ports;
pub mod sms;
pub mod task;
pub mod usecase;
pub mod validate;
pub mod webhook;

pub use error::{CoreError, FieldError};
