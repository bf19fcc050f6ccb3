//! The machine's own ceilings, measured in the same run: single-row durable inserts of a message-shaped row
//! (a copy of IRISX's `messages` table with its indexes) from a concurrent client, one statement per
//! transaction, as fast as the database takes them.
//!
//! PostgreSQL: `(LIKE messages INCLUDING ALL)` in IRISX's own database, `synchronous_commit` as the server
//! has it, a pool of `min(concurrency, 32)` connections (the server allows 100). SQLite: a table built from
//! IRISX's own DDL in a separate file beside IRISX's, WAL with `synchronous=FULL` as IRISX opens it, through
//! one connection (SQLite has one writer; more connections only add busy waits).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, PgPool};

use crate::load::{self, Level};

const PG_COLUMNS: &str = "id, tenant_id, channel, direction, from_addr, to_addr, body, media_urls, segments, \
    encoding, status, status_callback, validity_period, send_at, tags, tags_search, metadata, account_id, \
    provider_message_id, error_code, error_message, price_micros, currency, task_id, created_at, updated_at";

fn row_id(seq: u64) -> String {
    format!("msg_{}{seq:x}", uuid::Uuid::now_v7().simple())
}

/// PostgreSQL's ceiling at each concurrency.
pub async fn postgres(url: &str, levels: &[usize], warmup: Duration, window: Duration) -> anyhow::Result<Vec<Level>> {
    let admin = PgPool::connect(url).await.context("connect for the insert ceiling")?;
    sqlx::query("DROP TABLE IF EXISTS bench_raw_messages")
        .execute(&admin)
        .await?;
    sqlx::query("CREATE TABLE bench_raw_messages (LIKE messages INCLUDING ALL)")
        .execute(&admin)
        .await
        .context("create bench_raw_messages")?;
    let tenant: String = sqlx::query_scalar("SELECT id FROM tenants LIMIT 1")
        .fetch_one(&admin)
        .await?;
    admin.close().await;
    let mut out = Vec::new();
    for &c in levels {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(c.min(32) as u32)
            .min_connections(c.min(32) as u32)
            .connect(url)
            .await?;
        let sql: Arc<str> = format!(
            "INSERT INTO bench_raw_messages ({PG_COLUMNS}) VALUES ($1, $2, 'sms', 'outbound', '+15550001000', $3, \
             'Benchmark message from IRISX', '[]'::jsonb, 1, 'gsm7', 'queued', NULL, NULL, NULL, '[]'::jsonb, '', \
             '{{}}'::jsonb, NULL, NULL, NULL, NULL, NULL, NULL, $4, now(), now())"
        )
        .into();
        let tenant = tenant.clone();
        let p = pool.clone();
        let level = load::run(c, warmup, window, move |seq| {
            let (p, sql, tenant) = (p.clone(), sql.clone(), tenant.clone());
            async move {
                sqlx::query(AssertSqlSafe(&*sql))
                    .bind(row_id(seq))
                    .bind(tenant)
                    .bind(format!("+1415{:07}", seq % 10_000_000))
                    .bind(format!("tsk_{seq:x}"))
                    .execute(&p)
                    .await
                    .map(drop)
                    .map_err(|e| format!("insert: {e}"))
            }
        })
        .await;
        pool.close().await;
        out.push(level);
    }
    let admin = PgPool::connect(url).await?;
    sqlx::query("DROP TABLE IF EXISTS bench_raw_messages")
        .execute(&admin)
        .await?;
    admin.close().await;
    Ok(out)
}

/// SQLite's ceiling at each concurrency, in `file` beside IRISX's database `irisx_db`.
pub async fn sqlite(
    irisx_db: &std::path::Path,
    file: &std::path::Path,
    levels: &[usize],
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<Vec<Level>> {
    let source = sqlx::SqlitePool::connect_with(SqliteConnectOptions::new().filename(irisx_db).read_only(true))
        .await
        .context("open IRISX's SQLite database")?;
    let ddl: Vec<String> =
        sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE tbl_name = 'messages' AND sql IS NOT NULL")
            .fetch_all(&source)
            .await?;
    let tenant: String = sqlx::query_scalar("SELECT id FROM tenants LIMIT 1")
        .fetch_one(&source)
        .await?;
    source.close().await;
    let _ = std::fs::remove_file(file);
    let options = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(false);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    for stmt in &ddl {
        let stmt = stmt.replace("messages", "bench_raw_messages");
        sqlx::query(AssertSqlSafe(stmt))
            .execute(&pool)
            .await
            .context("create the table")?;
    }
    let sql: Arc<str> = format!(
        "INSERT INTO bench_raw_messages ({PG_COLUMNS}) VALUES ($1, $2, 'sms', 'outbound', '+15550001000', $3, \
         'Benchmark message from IRISX', '[]', 1, 'gsm7', 'queued', NULL, NULL, NULL, '[]', '', '{{}}', NULL, \
         NULL, NULL, NULL, NULL, NULL, $4, $5, $5)"
    )
    .into();
    let mut out = Vec::new();
    for &c in levels {
        let (p, sql, tenant) = (pool.clone(), sql.clone(), tenant.clone());
        let level = load::run(c, warmup, window, move |seq| {
            let (p, sql, tenant) = (p.clone(), sql.clone(), tenant.clone());
            async move {
                let now = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                sqlx::query(AssertSqlSafe(&*sql))
                    .bind(row_id(seq))
                    .bind(tenant)
                    .bind(format!("+1415{:07}", seq % 10_000_000))
                    .bind(format!("tsk_{seq:x}"))
                    .bind(now)
                    .execute(&p)
                    .await
                    .map(drop)
                    .map_err(|e| format!("insert: {e}"))
            }
        })
        .await;
        out.push(level);
    }
    pool.close().await;
    Ok(out)
}
