//! The closed-loop load generator: `concurrency` workers, each sending its next request as soon as the last
//! one answered, for a warm-up (not counted) and then a measured window. Latencies are kept whole and sorted
//! once, so the percentiles are exact.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// What one request came to: `Ok` for the expected answer, `Err` with a short class otherwise.
pub type Outcome = Result<(), String>;

/// One load level's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Level {
    /// Concurrent workers.
    pub concurrency: usize,
    /// Measured seconds.
    pub seconds: f64,
    /// Requests answered as expected in the window.
    pub ok: u64,
    /// Requests that failed in the window, with their classes.
    pub errors: u64,
    /// The error classes seen, with counts.
    pub error_classes: Vec<(String, u64)>,
    /// Expected answers per second.
    pub per_second: f64,
    /// Latency percentiles of the expected answers, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Microseconds of CPU per expected answer in the window, by process (and `total`); other work on the
    /// machine is counted when it runs in processes of the same name (another PostgreSQL client, say).
    pub cpu_us_per_op: std::collections::BTreeMap<String, f64>,
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: Vec<String>,
}

/// Runs `call` from `concurrency` workers for `warmup` and then `window`, and measures the window.
pub async fn run<F, Fut>(concurrency: usize, warmup: Duration, window: Duration, call: F) -> Level
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let call = Arc::new(call);
    let start = Instant::now();
    let (from, until) = (start + warmup, start + warmup + window);
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(from.into()).await;
        let before = irisx_bench::cpu::snapshot();
        tokio::time::sleep_until(until.into()).await;
        (before, irisx_bench::cpu::snapshot())
    });
    let mut workers = Vec::with_capacity(concurrency);
    for w in 0..concurrency {
        let call = call.clone();
        workers.push(tokio::spawn(async move {
            let mut t = Tally::default();
            let mut seq = (w as u64) << 32;
            loop {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let outcome = call(seq).await;
                seq += 1;
                let done = Instant::now();
                if sent < from || done > until {
                    continue;
                }
                match outcome {
                    Ok(()) => t
                        .latencies_us
                        .push(u32::try_from(done.duration_since(sent).as_micros()).unwrap_or(u32::MAX)),
                    Err(class) => t.errors.push(class),
                }
            }
            t
        }));
    }
    let mut all = Tally::default();
    for w in workers {
        let t = w.await.expect("a load worker panicked");
        all.latencies_us.extend(t.latencies_us);
        all.errors.extend(t.errors);
    }
    let (before, after) = cpu.await.expect("the CPU sampler panicked");
    let mut level = summarize(concurrency, window, all);
    level.cpu_us_per_op = irisx_bench::cpu::per_op(&before, &after, level.ok);
    level
}

fn summarize(concurrency: usize, window: Duration, mut t: Tally) -> Level {
    t.latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if t.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((t.latencies_us.len() as f64 * p).ceil() as usize).clamp(1, t.latencies_us.len()) - 1;
        f64::from(t.latencies_us[i]) / 1000.0
    };
    let mut classes: Vec<(String, u64)> = Vec::new();
    t.errors.sort();
    for e in t.errors.iter() {
        match classes.last_mut() {
            Some((c, n)) if c == e => *n += 1,
            _ => classes.push((e.clone(), 1)),
        }
    }
    let seconds = window.as_secs_f64();
    Level {
        concurrency,
        seconds,
        ok: t.latencies_us.len() as u64,
        errors: t.errors.len() as u64,
        error_classes: classes,
        per_second: t.latencies_us.len() as f64 / seconds,
        p50_ms: pct(0.50),
        p95_ms: pct(0.95),
        p99_ms: pct(0.99),
        max_ms: pct(1.0),
        cpu_us_per_op: Default::default(),
    }
}
