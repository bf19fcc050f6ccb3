//! End to end: N messages sent at once-for-all concurrency, then timed from the first accept until every one is
//! `delivered` (the sandbox's signed receipts applied) and, when IRISX has webhooks, until every
//! `message.delivered` webhook has reached the local receiver.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Serialize;

/// The webhook receiver: answers 204 at once and counts distinct `message.delivered` deliveries.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<ReceiverState>,
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
}

struct ReceiverState {
    seen: Mutex<HashSet<String>>,
    delivered: AtomicU64,
    requests: AtomicU64,
    last: Mutex<Option<Instant>>,
}

async fn hook(State(st): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    st.requests.fetch_add(1, Ordering::Relaxed);
    let is_delivered = serde_json::from_slice::<serde_json::Value>(&body)
        .is_ok_and(|v| v["type"].as_str() == Some("message.delivered"));
    let id = headers
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    if is_delivered && st.seen.lock().expect("receiver lock").insert(id) {
        st.delivered.fetch_add(1, Ordering::Relaxed);
        *st.last.lock().expect("receiver lock") = Some(Instant::now());
    }
    StatusCode::NO_CONTENT
}

impl Receiver {
    /// Starts the receiver on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let inner = Arc::new(ReceiverState {
            seen: Mutex::new(HashSet::new()),
            delivered: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            last: Mutex::new(None),
        });
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind the receiver")?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Self { inner, url })
    }

    fn delivered(&self) -> u64 {
        self.inner.delivered.load(Ordering::Relaxed)
    }

    fn last(&self) -> Option<Instant> {
        *self.inner.last.lock().expect("receiver lock")
    }
}

/// Counts delivered messages in IRISX's database (read-only).
pub enum Counter {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

impl Counter {
    /// Opens a read-only counter on `url`.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        Ok(if let Some(path) = url.strip_prefix("sqlite://") {
            let o = sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true);
            Counter::Sqlite(sqlx::SqlitePool::connect_with(o).await?)
        } else {
            Counter::Postgres(sqlx::PgPool::connect(url).await?)
        })
    }

    /// PostgreSQL's transaction counters so far: `(transactions, writes)`. Transactions are those committed in
    /// IRISX's database, read-only ones included (`pg_stat_database`); writes are the transaction ids handed
    /// out in the whole cluster, one per transaction that wrote, so one durable commit each (the next id is
    /// read without taking one). `None` on SQLite.
    async fn commits(&self) -> Option<(u64, u64)> {
        let Counter::Postgres(p) = self else {
            return None;
        };
        let sql = "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), \
                   pg_snapshot_xmax(pg_current_snapshot())::text::bigint";
        let (all, next): (Option<i64>, i64) = sqlx::query_as(sql).fetch_one(p).await.ok()?;
        Some((all? as u64, next as u64))
    }

    async fn delivered(&self) -> anyhow::Result<u64> {
        const SQL: &str = "SELECT COUNT(*) FROM messages WHERE status = 'delivered'";
        let n: i64 = match self {
            Counter::Postgres(p) => sqlx::query_scalar(SQL).fetch_one(p).await?,
            Counter::Sqlite(p) => sqlx::query_scalar(SQL).fetch_one(p).await?,
        };
        Ok(n as u64)
    }
}

/// The end-to-end figures.
#[derive(Debug, Clone, Serialize)]
pub struct EndToEnd {
    pub messages: u64,
    pub concurrency: usize,
    pub accept_errors: u64,
    /// Seconds from the first accept to the last accept.
    pub accept_seconds: f64,
    pub accepted_per_second: f64,
    /// Seconds from the first accept until all were delivered (polled every 100 ms), if they all were.
    pub delivered_seconds: Option<f64>,
    pub delivered_per_second: Option<f64>,
    pub delivered_at_timeout: u64,
    /// Whether webhooks were measured, and why not when they were not.
    pub webhooks: String,
    pub webhook_seconds: Option<f64>,
    pub webhooks_per_second: Option<f64>,
    pub webhooks_at_timeout: u64,
    /// Microseconds of CPU per message from the first accept until all were delivered (or the timeout), by
    /// process: what one message costs end to end, and so the most this machine could deliver.
    pub cpu_us_per_message: std::collections::BTreeMap<String, f64>,
    /// PostgreSQL transactions per accepted message, read-only ones included, from the first accept until
    /// the last webhook arrived (statistics are flushed for a second first; the counter's own polling adds
    /// about ten a second).
    pub transactions_per_message: Option<f64>,
    /// PostgreSQL transactions that wrote (durable commits) per accepted message, over the same span. The
    /// single-row insert ceiling (one durable commit each) divided by this bounds the end-to-end rate while
    /// each step of a message commits on its own.
    pub commits_per_message: Option<f64>,
}

/// Sends `n` messages from `concurrency` workers with `send` and waits (at most `timeout`) for delivery and
/// webhooks.
pub async fn run<F, Fut>(
    n: u64,
    concurrency: usize,
    send: F,
    counter: &Counter,
    receiver: Option<&Receiver>,
    webhooks_note: String,
    timeout: Duration,
) -> anyhow::Result<EndToEnd>
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = crate::load::Outcome> + Send,
{
    let send = Arc::new(send);
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let commits_before = counter.commits().await;
    let cpu_before = irisx_bench::cpu::snapshot();
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (send, next, errors) = (send.clone(), next.clone(), errors.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                if send(i).await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let accepts = async {
        for w in workers {
            w.await.expect("a sender panicked");
        }
        start.elapsed()
    };
    let deliveries = async {
        loop {
            let d = counter.delivered().await.unwrap_or(0);
            if d >= n - errors.load(Ordering::Relaxed) || start.elapsed() > timeout {
                return (d, start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (accept_time, (delivered, delivered_time)) = tokio::join!(accepts, deliveries);
    let cpu = irisx_bench::cpu::per_op(&cpu_before, &irisx_bench::cpu::snapshot(), delivered);
    let accepted = n - errors.load(Ordering::Relaxed);
    let (mut webhook_seconds, mut webhooks_at_timeout) = (None, 0);
    if let Some(r) = receiver {
        while r.delivered() < accepted && start.elapsed() < timeout {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        webhooks_at_timeout = r.delivered();
        if webhooks_at_timeout >= accepted {
            webhook_seconds = r.last().map(|t| t.duration_since(start).as_secs_f64());
        }
    }
    // Backends report their counts at most once a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let per_message = |n: u64, m: u64| (accepted > 0).then(|| n.saturating_sub(m) as f64 / accepted as f64);
    let (transactions_per_message, commits_per_message) = match (commits_before, counter.commits().await) {
        (Some((all0, w0)), Some((all1, w1))) => (per_message(all1, all0), per_message(w1, w0)),
        _ => (None, None),
    };
    let all_delivered = delivered >= accepted;
    let delivered_seconds = all_delivered.then_some(delivered_time.as_secs_f64());
    Ok(EndToEnd {
        messages: n,
        concurrency,
        accept_errors: errors.load(Ordering::Relaxed),
        accept_seconds: accept_time.as_secs_f64(),
        accepted_per_second: accepted as f64 / accept_time.as_secs_f64(),
        delivered_seconds,
        delivered_per_second: delivered_seconds.map(|s| accepted as f64 / s),
        delivered_at_timeout: delivered,
        webhooks: webhooks_note,
        webhook_seconds,
        webhooks_per_second: webhook_seconds.map(|s| accepted as f64 / s),
        webhooks_at_timeout,
        cpu_us_per_message: cpu,
        transactions_per_message,
        commits_per_message,
    })
}
