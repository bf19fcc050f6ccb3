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
    /// Accepted messages are written through this group commit.
    writes: crate::group_commit::GroupCommit,
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
        // Two writers: one group is written while the other waits for its commit.
        let writes = crate::group_commit::GroupCommit::spawn(pool.clone(), 2);
        Ok(Self { pool, writes })
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

/// Claims due rows fairly: the lanes with pending rows are found by a loose index scan (one probe per
/// lane), each lane offers its oldest due rows, and the rows are taken round-robin across lanes (every lane's
/// first, then every lane's second, ...). Rows published before `republish_before` and still pending come
/// first. `SKIP LOCKED` keeps concurrent relays apart; the outer re-check drops a row another relay took.
async fn claim_outbox(
    pool: &Pool<Db>,
    limit: u32,
    republish_before: OffsetDateTime,
) -> StoreResult<Vec<irisx_core::task::OutboxEntry>> {
    let now = ts(OffsetDateTime::now_utc());
    let stale = sqlx::query(
        "UPDATE outbox SET published_at = $1, attempts = attempts + 1 WHERE id IN ( \
           SELECT id FROM outbox WHERE published_at < $2 AND completed_at IS NULL AND failed_at IS NULL \
           ORDER BY published_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING id, subject, payload, attempts, generation",
    )
    .bind(now)
    .bind(ts(republish_before))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let room = i64::from(limit) - stale.len() as i64;
    let fair = if room > 0 {
        // Planned with its values each time (see FAIR_CLAIM): a cached generic plan, not knowing the limit,
        // expects thousands of rows and hashes the whole outbox twice per claim.
        sqlx::query(FAIR_CLAIM)
            .persistent(false)
            .bind(now)
            .bind(room)
            .fetch_all(pool)
            .await
            .map_err(db_err)?
    } else {
        Vec::new()
    };
    let mut ranked = fair
        .iter()
        .map(|r| Ok((rows::Cols::int(r, "rank")?, rows::outbox_entry(r)?)))
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(db_err)?;
    ranked.sort_by(|a, b| (a.0, &a.1.id).cmp(&(b.0, &b.1.id)));
    let stale = stale
        .iter()
        .map(rows::outbox_entry)
        .collect::<sqlx::Result<Vec<_>>>()
        .map_err(db_err)?;
    Ok(stale.into_iter().chain(ranked.into_iter().map(|(_, e)| e)).collect())
}

/// The fair claim of [`claim_outbox`]: `$1` now, `$2` how many rows. The lanes are walked as a loose index scan
/// of `outbox_lane_due_idx`, each step an `ORDER BY lane LIMIT 1`: so written, the planner takes that index
/// even before the table has statistics, where `MIN(lane)` over a table it believed empty read every
/// unpublished row (milliseconds per claim with tasks scheduled ahead, on every relay wake-up). For the same
/// reason the last step re-checks a chosen row's state in a form the partial indexes cannot serve
/// (`COALESCE(..) IS NULL`): it then finds the rows by primary key, where a planner without statistics
/// otherwise hashed every unpublished row to update a few.
const FAIR_CLAIM: &str = "\
WITH RECURSIVE lanes(lane) AS ( \
    (SELECT lane FROM outbox WHERE published_at IS NULL AND completed_at IS NULL AND failed_at IS NULL \
     ORDER BY lane LIMIT 1) \
  UNION ALL \
    SELECT (SELECT o.lane FROM outbox o WHERE o.published_at IS NULL AND o.completed_at IS NULL \
            AND o.failed_at IS NULL AND o.lane > l.lane ORDER BY o.lane LIMIT 1) \
    FROM lanes l WHERE l.lane IS NOT NULL \
), offered AS ( \
    SELECT c.id, c.rank FROM lanes l CROSS JOIN LATERAL ( \
        SELECT o.id, row_number() OVER (ORDER BY o.available_at, o.id) AS rank FROM outbox o \
        WHERE o.lane = l.lane AND o.published_at IS NULL AND o.completed_at IS NULL AND o.failed_at IS NULL \
          AND o.available_at <= $1 \
        ORDER BY o.available_at, o.id LIMIT $2) c \
    WHERE l.lane IS NOT NULL \
), chosen AS ( \
    SELECT o.id, f.rank FROM outbox o JOIN offered f ON f.id = o.id \
    ORDER BY f.rank, o.id LIMIT $2 FOR UPDATE OF o SKIP LOCKED \
) \
UPDATE outbox SET published_at = $1, attempts = outbox.attempts + 1 FROM chosen \
WHERE outbox.id = chosen.id AND outbox.published_at IS NULL \
  AND COALESCE(outbox.completed_at, outbox.failed_at) IS NULL \
RETURNING outbox.id, outbox.subject, outbox.payload, outbox.attempts, outbox.generation, chosen.rank";

crate::shared::shared_sql!();
crate::store_impl::impl_store!(PgStore);
crate::messaging_impl::impl_messaging_store!(PgStore);
crate::email_impl::impl_email_store!(PgStore);
crate::objects_impl::impl_object_index!(PgStore);
crate::calls_impl::impl_call_store!(PgStore);
