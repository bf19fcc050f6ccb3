//! Mapping sqlx errors to [`StoreError`]: the only place that decides what a database failure means.

use irisx_core::ports::store::StoreError;

/// Messages for the unique constraints a caller can hit, by index name (PostgreSQL reports the constraint,
/// SQLite names the index or the columns in its message). More specific names first.
const CONFLICTS: &[(&str, &str)] = &[
    ("admin_users_email", "a staff member with this email already exists"),
    ("admin_users.email", "a staff member with this email already exists"),
    ("users_email", "a user with this email already exists"),
    ("users.email", "a user with this email already exists"),
    ("api_keys_key_hash", "an API key with this hash already exists"),
    ("api_keys.key_hash", "an API key with this hash already exists"),
    ("agents_username", "an agent with this user name already exists"),
    ("agents.username", "an agent with this user name already exists"),
    ("phone_numbers_number", "this phone number already exists"),
    ("phone_numbers.number", "this phone number already exists"),
    (
        "messages_provider_message_id",
        "a message with this provider id already exists for the account",
    ),
    (
        "messages.account_id, messages.provider_message_id",
        "a message with this provider id already exists for the account",
    ),
    (
        "email_templates_tenant_id_name",
        "a template with this name already exists",
    ),
    (
        "email_templates.tenant_id, email_templates.name",
        "a template with this name already exists",
    ),
    (
        "admin_sessions_token_hash",
        "a staff session with this token already exists",
    ),
];

/// Maps an sqlx error: unique violation → Conflict, row not found → NotFound, unreachable → Unavailable.
pub(crate) fn map(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::RowNotFound => StoreError::NotFound("row"),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
        sqlx::Error::Database(ref db) if db.is_unique_violation() => {
            let haystack = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            let msg = CONFLICTS
                .iter()
                .find(|(needle, _)| haystack.contains(needle))
                .map(|(_, msg)| (*msg).to_owned())
                .unwrap_or_else(|| format!("a row with this id already exists ({})", db.message()));
            StoreError::Conflict(msg)
        }
        sqlx::Error::Database(ref db) if db.is_foreign_key_violation() => {
            StoreError::Conflict("the change refers to a row that does not exist".to_owned())
        }
        sqlx::Error::Database(ref db) if is_unavailable_code(db.code().as_deref()) => {
            StoreError::Unavailable(Box::new(e))
        }
        other => StoreError::Backend(Box::new(other)),
    }
}

/// PostgreSQL's "cannot connect now", "admin shutdown" and connection-exception classes, and SQLite's busy
/// and locked codes: the database is there but cannot serve now.
fn is_unavailable_code(code: Option<&str>) -> bool {
    match code {
        Some(c) if c.starts_with("08") => true,
        Some("57P01" | "57P02" | "57P03" | "53300") => true,
        Some("5" | "6" | "261" | "517") => true,
        _ => false,
    }
}
