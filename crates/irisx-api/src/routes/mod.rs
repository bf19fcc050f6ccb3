//! The routers, one per resource.

pub mod admin;
pub mod api_keys;
pub mod auth;
pub mod system;
pub mod users;
