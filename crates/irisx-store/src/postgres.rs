//! The PostgreSQL adapter: the scaled-out system of record.
//!
//! Migrations are not applied on open unless asked: several processes share the database, and an operator
//! decides when its schema changes. A schema behind this binary is refused at open.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Postgres, Transaction};

use crate::shared::prelude::*;
use crate::{OpenError, OpenOptions};

type Db = Postgres;

/// The store on a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: sqlx::PgPool,
}

/// The embedded migrations.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl PgStore {
    /// Connects a pool of `options.max_connections` to `url`; migrates when `options.migrate`, and otherwise
    /// fails with [`OpenError::SchemaBehind`] when a migration of this binary is not applied.
    pub async fn connect(url: &str, options: &OpenOptions) -> Result<Self, OpenError> {
        let connect = url
            .parse::<PgConnectOptions>()
            .map_err(|source| OpenError::InvalidUrl {
                url: crate::redact(url),
                source,
            })?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(OpenError::Connect)?;
        if options.migrate {
            MIGRATOR.run(&pool).await.map_err(OpenError::Migrate)?;
        } else {
            check_schema(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// The connection pool.
    pub fn pool(&self) -> &sqlx::PgPool {
        &self.pool
    }
}

/// Fails when a migration embedded in this binary is not applied (successfully) to the database.
async fn check_schema(pool: &sqlx::PgPool) -> Result<(), OpenError> {
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(OpenError::Connect)?;
    let applied: Vec<i64> = if has_table {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await
            .map_err(OpenError::Connect)?
    } else {
        Vec::new()
    };
    let missing: Vec<i64> = MIGRATOR
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(OpenError::SchemaBehind {
        applied: applied.last().copied(),
        missing,
    })
}

async fn begin_write(pool: &Pool<Db>) -> sqlx::Result<Transaction<'static, Db>> {
    pool.begin().await
}

/// A time as stored on PostgreSQL (TIMESTAMPTZ keeps microseconds).
fn ts(t: OffsetDateTime) -> OffsetDateTime {
    rows::norm(t)
}

/// Claims due rows; `FOR UPDATE SKIP LOCKED` lets concurrent relays each take different rows without waiting.
async fn claim_outbox(
    pool: &Pool<Db>,
    limit: u32,
    republish_before: OffsetDateTime,
) -> StoreResult<Vec<irisx_core::task::OutboxEntry>> {
    let rows = sqlx::query(
        "UPDATE outbox SET published_at = $1, attempts = attempts + 1 WHERE id IN ( \
           SELECT id FROM outbox WHERE completed_at IS NULL AND failed_at IS NULL \
           AND ((published_at IS NULL AND available_at <= $1) OR published_at < $2) \
           ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING id, subject, payload, attempts, generation",
    )
    .bind(ts(OffsetDateTime::now_utc()))
    .bind(ts(republish_before))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut entries = rows
        .iter()
        .map(rows::outbox_entry)
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(db_err)?;
    entries.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(entries)
}

crate::shared::shared_sql!();
crate::store_impl::impl_store!(PgStore);
crate::messaging_impl::impl_messaging_store!(PgStore);
