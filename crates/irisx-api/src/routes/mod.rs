//! The routers, one per resource.

pub mod admin;
pub mod agents;
pub mod api_keys;
pub mod auth;
pub mod callbacks;
pub mod calls;
pub mod email;
pub mod email_inbound;
pub mod email_templates;
pub mod email_tracking;
pub mod event_schemas;
pub mod numbers;
pub mod objects;
pub mod providers;
pub mod sms;
pub mod system;
pub mod trunks;
pub mod usage;
pub mod users;
pub mod webhooks;
