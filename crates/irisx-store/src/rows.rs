//! Turning rows into domain values, written once for both backends.
//!
//! [`Cols`] is the handful of column reads the decoders need; it is implemented for each backend's row type,
//! so the decoders below are plain generic Rust and never name a database.

use std::str::FromStr;

use irisx_core::audit::{Actor, AuditEntry};
use irisx_core::domain::{AdminSession, AdminUser, ApiKey, Scope, Session, Tenant, User};
use irisx_core::ports::store::IdempotencyRecord;
use irisx_core::task::{OutboxEntry, Subject};
use serde_json::Value;
use sqlx::Row;
use time::{OffsetDateTime, UtcOffset};

/// The column reads the decoders need. Columns are named `<prefix><name>`, so joined queries can alias them.
pub(crate) trait Cols {
    /// A text column.
    fn text(&self, col: &str) -> sqlx::Result<String>;
    /// A nullable text column.
    fn opt_text(&self, col: &str) -> sqlx::Result<Option<String>>;
    /// A time column.
    fn time(&self, col: &str) -> sqlx::Result<OffsetDateTime>;
    /// A nullable time column.
    fn opt_time(&self, col: &str) -> sqlx::Result<Option<OffsetDateTime>>;
    /// An integer column.
    fn int(&self, col: &str) -> sqlx::Result<i64>;
    /// A JSON column (JSONB on PostgreSQL, text on SQLite).
    fn json(&self, col: &str) -> sqlx::Result<Value>;
    /// A nullable integer column.
    fn opt_int(&self, col: &str) -> sqlx::Result<Option<i64>>;
    /// A boolean column (BOOLEAN on PostgreSQL, 0/1 on SQLite).
    fn flag(&self, col: &str) -> sqlx::Result<bool>;
}

macro_rules! impl_cols {
    ($row:ty) => {
        impl Cols for $row {
            fn text(&self, col: &str) -> sqlx::Result<String> {
                self.try_get(col)
            }
            fn opt_text(&self, col: &str) -> sqlx::Result<Option<String>> {
                self.try_get(col)
            }
            fn time(&self, col: &str) -> sqlx::Result<OffsetDateTime> {
                self.try_get(col)
            }
            fn opt_time(&self, col: &str) -> sqlx::Result<Option<OffsetDateTime>> {
                self.try_get(col)
            }
            fn int(&self, col: &str) -> sqlx::Result<i64> {
                // INTEGER is 4 bytes on PostgreSQL and 8 on SQLite: read either.
                self.try_get::<i64, _>(col)
                    .or_else(|_| self.try_get::<i32, _>(col).map(i64::from))
            }
            fn json(&self, col: &str) -> sqlx::Result<Value> {
                self.try_get::<sqlx::types::Json<Value>, _>(col).map(|j| j.0)
            }
            fn opt_int(&self, col: &str) -> sqlx::Result<Option<i64>> {
                self.try_get::<Option<i64>, _>(col)
                    .or_else(|_| self.try_get::<Option<i32>, _>(col).map(|v| v.map(i64::from)))
            }
            fn flag(&self, col: &str) -> sqlx::Result<bool> {
                self.try_get(col)
            }
        }
    };
}
impl_cols!(sqlx::sqlite::SqliteRow);
impl_cols!(sqlx::postgres::PgRow);

/// Normalises a time for storage: UTC, microsecond precision (what PostgreSQL keeps), so both backends give
/// back exactly what they were given.
pub(crate) fn norm(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    let micros = t.microsecond();
    t.replace_nanosecond(micros * 1_000)
        .expect("a microsecond count is a valid nanosecond count")
}

pub(crate) fn parse<T: FromStr>(what: &'static str, text: &str) -> sqlx::Result<T>
where
    T::Err: std::fmt::Debug,
{
    text.parse()
        .map_err(|e: T::Err| sqlx::Error::Decode(format!("stored {what} `{text}` is invalid: {e:?}").into()))
}

fn c(p: &str, name: &str) -> String {
    format!("{p}{name}")
}

/// A tenant from columns prefixed `p`.
pub(crate) fn tenant(r: &impl Cols, p: &str) -> sqlx::Result<Tenant> {
    Ok(Tenant {
        id: parse("tenant id", &r.text(&c(p, "id"))?)?,
        name: r.text(&c(p, "name"))?,
        plan: parse("plan", &r.text(&c(p, "plan"))?)?,
        status: parse("tenant status", &r.text(&c(p, "status"))?)?,
        created_at: r.time(&c(p, "created_at"))?,
        updated_at: r.time(&c(p, "updated_at"))?,
    })
}

/// A user from columns prefixed `p`.
pub(crate) fn user(r: &impl Cols, p: &str) -> sqlx::Result<User> {
    Ok(User {
        id: parse("user id", &r.text(&c(p, "id"))?)?,
        tenant_id: parse("tenant id", &r.text(&c(p, "tenant_id"))?)?,
        email: r.text(&c(p, "email"))?,
        name: r.text(&c(p, "name"))?,
        role: parse("role", &r.text(&c(p, "role"))?)?,
        status: parse("user status", &r.text(&c(p, "status"))?)?,
        password_hash: r.text(&c(p, "password_hash"))?,
        created_at: r.time(&c(p, "created_at"))?,
        updated_at: r.time(&c(p, "updated_at"))?,
        last_login_at: r.opt_time(&c(p, "last_login_at"))?,
    })
}

/// A staff member from columns prefixed `p`.
pub(crate) fn admin_user(r: &impl Cols, p: &str) -> sqlx::Result<AdminUser> {
    Ok(AdminUser {
        id: parse("admin id", &r.text(&c(p, "id"))?)?,
        email: r.text(&c(p, "email"))?,
        name: r.text(&c(p, "name"))?,
        role: parse("admin role", &r.text(&c(p, "role"))?)?,
        status: parse("admin status", &r.text(&c(p, "status"))?)?,
        password_hash: r.text(&c(p, "password_hash"))?,
        created_at: r.time(&c(p, "created_at"))?,
        last_login_at: r.opt_time(&c(p, "last_login_at"))?,
    })
}

/// A session from columns prefixed `p`.
pub(crate) fn session(r: &impl Cols, p: &str) -> sqlx::Result<Session> {
    Ok(Session {
        id: parse("session id", &r.text(&c(p, "id"))?)?,
        tenant_id: parse("tenant id", &r.text(&c(p, "tenant_id"))?)?,
        user_id: parse("user id", &r.text(&c(p, "user_id"))?)?,
        token_hash: r.text(&c(p, "token_hash"))?,
        created_at: r.time(&c(p, "created_at"))?,
        expires_at: r.time(&c(p, "expires_at"))?,
        revoked_at: r.opt_time(&c(p, "revoked_at"))?,
        ip: r.opt_text(&c(p, "ip"))?,
        user_agent: r.opt_text(&c(p, "user_agent"))?,
    })
}

/// A staff session from columns prefixed `p`.
pub(crate) fn admin_session(r: &impl Cols, p: &str) -> sqlx::Result<AdminSession> {
    Ok(AdminSession {
        id: parse("admin session id", &r.text(&c(p, "id"))?)?,
        admin_id: parse("admin id", &r.text(&c(p, "admin_id"))?)?,
        token_hash: r.text(&c(p, "token_hash"))?,
        created_at: r.time(&c(p, "created_at"))?,
        expires_at: r.time(&c(p, "expires_at"))?,
        revoked_at: r.opt_time(&c(p, "revoked_at"))?,
        ip: r.opt_text(&c(p, "ip"))?,
        user_agent: r.opt_text(&c(p, "user_agent"))?,
    })
}

/// An API key from columns prefixed `p`.
pub(crate) fn api_key(r: &impl Cols, p: &str) -> sqlx::Result<ApiKey> {
    let scopes: Vec<String> =
        serde_json::from_value(r.json(&c(p, "scopes"))?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(ApiKey {
        id: parse("API key id", &r.text(&c(p, "id"))?)?,
        tenant_id: parse("tenant id", &r.text(&c(p, "tenant_id"))?)?,
        name: r.text(&c(p, "name"))?,
        environment: parse("environment", &r.text(&c(p, "environment"))?)?,
        last_four: r.text(&c(p, "last_four"))?,
        key_hash: r.text(&c(p, "key_hash"))?,
        scopes: scopes
            .iter()
            .map(|s| parse::<Scope>("scope", s))
            .collect::<sqlx::Result<_>>()?,
        created_by: r
            .opt_text(&c(p, "created_by"))?
            .map(|s| parse("user id", &s))
            .transpose()?,
        created_at: r.time(&c(p, "created_at"))?,
        last_used_at: r.opt_time(&c(p, "last_used_at"))?,
        revoked_at: r.opt_time(&c(p, "revoked_at"))?,
    })
}

/// The JSON array stored for a key's scopes.
pub(crate) fn scopes_json(scopes: &[Scope]) -> Value {
    Value::Array(scopes.iter().map(|s| Value::String(s.as_str().to_owned())).collect())
}

/// An audit entry.
pub(crate) fn audit(r: &impl Cols) -> sqlx::Result<AuditEntry> {
    Ok(AuditEntry {
        id: parse("audit id", &r.text("id")?)?,
        tenant_id: r.opt_text("tenant_id")?.map(|s| parse("tenant id", &s)).transpose()?,
        actor: Actor {
            kind: parse("actor type", &r.text("actor_type")?)?,
            id: r.opt_text("actor_id")?,
            ip: r.opt_text("ip")?,
            user_agent: r.opt_text("user_agent")?,
        },
        action: r.text("action")?,
        target_type: r.opt_text("target_type")?,
        target_id: r.opt_text("target_id")?,
        details: r.json("details")?,
        created_at: r.time("created_at")?,
    })
}

/// A claimed outbox row.
pub(crate) fn outbox_entry(r: &impl Cols) -> sqlx::Result<OutboxEntry> {
    let subject = r.text("subject")?;
    Ok(OutboxEntry {
        id: parse("task id", &r.text("id")?)?,
        subject: Subject::parse(&subject)
            .ok_or_else(|| sqlx::Error::Decode(format!("stored subject `{subject}` is unknown").into()))?,
        payload: r.text("payload")?,
        attempts: u32::try_from(r.int("attempts")?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        generation: u32::try_from(r.int("generation")?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
    })
}

/// An idempotency record.
pub(crate) fn idempotency(r: &impl Cols) -> sqlx::Result<IdempotencyRecord> {
    Ok(IdempotencyRecord {
        scope: r.text("scope")?,
        key: r.text("key")?,
        request_hash: r.text("request_hash")?,
        status_code: u16::try_from(r.int("status_code")?).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        response_body: r.text("response_body")?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
    })
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// `%text%`, escaped, lower-cased.
pub(crate) fn contains_pattern(text: &str) -> String {
    format!("%{}%", like_escape(&text.to_lowercase()))
}
