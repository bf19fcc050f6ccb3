//! The SQLite adapter: the embedded system of record (one file, WAL).
//!
//! Every write runs in a `BEGIN IMMEDIATE` transaction: SQLite has one writer, and taking the write lock up
//! front means a transaction never reads, then fails busy when it tries to write.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, Transaction};
use time::format_description::BorrowedFormatItem;

use crate::shared::prelude::*;
use crate::{OpenError, OpenOptions};

type Db = Sqlite;

/// The store on a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    /// Accepted messages are written through this group commit.
    writes: crate::group_commit::GroupCommit,
}

/// The embedded migrations.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqliteStore {
    /// Opens (creating the file and its directory if missing) and migrates the database at `url`.
    ///
    /// The connection runs in WAL mode with `synchronous=FULL` (a commit is on disk before it returns: an
    /// accepted request must survive a power cut, as the database is the ledger), a 5 s busy timeout and
    /// foreign keys on.
    pub async fn connect(url: &str, options: &OpenOptions) -> Result<Self, OpenError> {
        let connect = url
            .parse::<SqliteConnectOptions>()
            .map_err(|source| OpenError::InvalidUrl {
                url: crate::redact(url),
                source,
            })?;
        let file = connect.get_filename().to_path_buf();
        if file.as_os_str().is_empty() || url.contains(":memory:") || url.contains("mode=memory") {
            return Err(OpenError::InMemorySqlite);
        }
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(OpenError::Connect)?;
        MIGRATOR.run(&pool).await.map_err(OpenError::Migrate)?;
        // One writer: SQLite takes one write transaction at a time.
        let writes = crate::group_commit::GroupCommit::spawn(pool.clone(), 1);
        Ok(Self { pool, writes })
    }

    /// The connection pool.
    pub fn pool(&self) -> &sqlx::SqlitePool {
        &self.pool
    }
}

async fn begin_write(pool: &Pool<Db>) -> sqlx::Result<Transaction<'static, Db>> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

const TS_FORMAT: &[BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// A time as stored on SQLite: RFC 3339 UTC with exactly six fractional digits, so text order is time order
/// (sqlx's own encoding trims the fraction, which breaks comparisons in SQL).
fn ts(t: OffsetDateTime) -> String {
    rows::norm(t).format(TS_FORMAT).expect("a UTC time always formats")
}

/// Claims due rows fairly, under the single write lock: rows published before `republish_before` and still
/// pending first, then round-robin across lanes (every lane's oldest due row, then every lane's second, ...).
/// The lanes with pending rows are found by a loose index scan, one probe per lane.
async fn claim_outbox(
    pool: &Pool<Db>,
    limit: u32,
    republish_before: OffsetDateTime,
) -> StoreResult<Vec<irisx_core::task::OutboxEntry>> {
    let now = ts(OffsetDateTime::now_utc());
    let mut tx = begin_write(pool).await.map_err(db_err)?;
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM outbox WHERE published_at < $1 AND completed_at IS NULL AND failed_at IS NULL \
         ORDER BY published_at LIMIT $2",
    )
    .bind(ts(republish_before))
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let lanes: Vec<String> = sqlx::query_scalar(
        "WITH RECURSIVE lanes(lane) AS ( \
           SELECT MIN(lane) FROM outbox WHERE published_at IS NULL AND completed_at IS NULL AND failed_at IS NULL \
           UNION ALL \
           SELECT (SELECT MIN(o.lane) FROM outbox o WHERE o.published_at IS NULL AND o.completed_at IS NULL \
                   AND o.failed_at IS NULL AND o.lane > l.lane) FROM lanes l WHERE l.lane IS NOT NULL) \
         SELECT lane FROM lanes WHERE lane IS NOT NULL",
    )
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let room = (limit as usize).saturating_sub(stale.len());
    let mut offered = Vec::with_capacity(lanes.len());
    for lane in &lanes {
        let due: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE lane = $1 AND published_at IS NULL AND completed_at IS NULL \
             AND failed_at IS NULL AND available_at <= $2 ORDER BY available_at, id LIMIT $3",
        )
        .bind(lane)
        .bind(&now)
        .bind(room as i64)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        offered.push(due);
    }
    let mut chosen = stale;
    chosen.extend(round_robin(offered, room));
    let mut entries = Vec::with_capacity(chosen.len());
    for id in &chosen {
        let row = sqlx::query(
            "UPDATE outbox SET published_at = $1, attempts = attempts + 1 WHERE id = $2 \
             RETURNING id, subject, payload, attempts, generation",
        )
        .bind(&now)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        entries.push(rows::outbox_entry(&row).map_err(db_err)?);
    }
    tx.commit().await.map_err(db_err)?;
    Ok(entries)
}

/// Up to `limit` items taken from the lists in turns: every list's first, then every list's second, ...
fn round_robin(lists: Vec<Vec<String>>, limit: usize) -> Vec<String> {
    let mut iters: Vec<_> = lists.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    while out.len() < limit {
        let before = out.len();
        for it in &mut iters {
            if out.len() == limit {
                break;
            }
            out.extend(it.next());
        }
        if out.len() == before {
            break;
        }
    }
    out
}

crate::shared::shared_sql!();
crate::store_impl::impl_store!(SqliteStore);
crate::messaging_impl::impl_messaging_store!(SqliteStore);
crate::email_impl::impl_email_store!(SqliteStore);
crate::objects_impl::impl_object_index!(SqliteStore);
crate::calls_impl::impl_call_store!(SqliteStore);
