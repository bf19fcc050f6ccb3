//! IRISX store adapters: the [`Store`](irisx_core::ports::store::Store) port on SQLite (embedded, the default)
//! and on PostgreSQL (scaled out), with their migrations and one conformance suite run against both.
//!
//! The same two types implement the [`MessagingStore`](irisx_core::ports::messaging::MessagingStore) port;
//! [`open_both`] returns one store (one pool) as both trait objects.
//!
//! Pick the backend once with [`open`] (or [`open_both`]); after that, code holds `Arc<dyn Store>`.

mod calls_impl;
mod email_impl;
mod error;
mod group_commit;
mod messaging_impl;
mod msg_rows;
mod objects_impl;
mod open;
mod postgres;
mod rows;
mod shared;
mod sqlite;
mod store_impl;
mod webhook_rows;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(test)]
mod open_tests;
#[cfg(test)]
mod tests;

pub(crate) use open::redact;
pub use open::{OpenError, OpenOptions, Stores, migrate, open, open_all, open_both};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
