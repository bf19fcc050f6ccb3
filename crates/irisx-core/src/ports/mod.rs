//! The ports: what the core needs from the outside world. Each has one adapter per backend, chosen once at
//! start-up; the code holds `Arc<dyn Port>` and never asks which backend it has.

pub mod cache;
pub mod calls;
pub mod email;
pub mod messaging;
pub mod objects;
pub mod providers;
pub mod queue;
pub mod store;
pub mod voice;
pub mod webhooks;
