//! `irisx-bench`: starts IRISX per profile with fresh backends, sets a tenant up through the API, and measures
//! accepts (`POST /v1/sms/send`) at each concurrency, the same server's no-op route (`GET /health`), raw
//! durable inserts of a message-shaped row into the same database, and the end-to-end path to `delivered`
//! and its webhooks. Writes `<out>/<timestamp>.json` and `<out>/latest.md`. Run through `bench/run`.

mod ceiling;
mod e2e;
mod irisx;
mod load;
mod report;
mod setup;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde::Serialize;

use crate::irisx::{Env, Profile, Services};
use crate::load::Level;

/// Benchmarks IRISX against the machine's own ceilings.
#[derive(Debug, Parser)]
struct Args {
    /// The `irisx` binary (a release build).
    #[arg(long, default_value = "target/release/irisx")]
    irisx: PathBuf,
    /// Profiles to run, comma-separated: `services` (PostgreSQL + NATS + Redis), `embedded`.
    #[arg(long, value_delimiter = ',', default_value = "services,embedded")]
    profiles: Vec<String>,
    /// Phases to run, comma-separated: `accept`, `noop`, `insert`, `e2e`.
    #[arg(long, value_delimiter = ',', default_value = "accept,noop,insert,e2e")]
    phases: Vec<String>,
    /// Concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64,256")]
    levels: Vec<usize>,
    /// Seconds of warm-up before each measured window (not counted).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds measured at each level.
    #[arg(long, default_value_t = 8.0)]
    window: f64,
    /// Messages in the end-to-end phase.
    #[arg(long, default_value_t = 5_000)]
    e2e_messages: u64,
    /// Senders in the end-to-end phase.
    #[arg(long, default_value_t = 64)]
    e2e_concurrency: usize,
    /// Seconds the end-to-end phase may take at most.
    #[arg(long, default_value_t = 180)]
    e2e_timeout: u64,
    /// The sandbox's pause before each receipt, in milliseconds.
    #[arg(long, default_value_t = 20)]
    receipt_delay_ms: u64,
    #[arg(
        long,
        env = "IRISX_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres: String,
    #[arg(long, env = "IRISX_BENCH_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats: String,
    #[arg(long, env = "IRISX_BENCH_REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis: String,
    /// Where results go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Where data dirs go.
    #[arg(long, default_value = "/tmp/irisx-bench")]
    work: PathBuf,
    /// Keep the data dirs (with each server's log) and the PostgreSQL databases.
    #[arg(long)]
    keep: bool,
    /// Further IRISX settings, `IRISX_KEY=value` (repeatable), e.g. `--irisx-env IRISX_WORKER_BATCH=128`.
    #[arg(long = "irisx-env", value_parser = parse_setting)]
    irisx_env: Vec<(String, String)>,
    /// Record `perf record -g` of the server during the accept phase at this concurrency.
    #[arg(long)]
    perf_at: Option<usize>,
}

/// One profile's figures.
#[derive(Debug, Serialize)]
pub struct ProfileResult {
    pub profile: String,
    pub database: String,
    pub accept: Vec<Level>,
    pub noop: Vec<Level>,
    pub insert: Vec<Level>,
    pub insert_ceiling: String,
    pub e2e: Option<e2e::EndToEnd>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let services = Services {
        postgres: args.postgres.clone(),
        nats: args.nats.clone(),
        redis: args.redis.clone(),
    };
    let started = time::OffsetDateTime::now_utc();
    let settings = args_summary(&args);
    let mut results = Vec::new();
    for name in &args.profiles {
        let profile = match name.as_str() {
            "services" => Profile::Services,
            "embedded" => Profile::Embedded,
            other => anyhow::bail!("unknown profile `{other}`"),
        };
        eprintln!("== profile {name}");
        results.push(run_profile(&args, profile, &services).await?);
    }
    report::write(&args.out, started, &settings, &results).await
}

fn args_summary(a: &Args) -> serde_json::Value {
    serde_json::json!({
        "levels": a.levels, "warmup_seconds": a.warmup, "window_seconds": a.window,
        "e2e_messages": a.e2e_messages, "e2e_concurrency": a.e2e_concurrency,
        "receipt_delay_ms": a.receipt_delay_ms,
        "irisx_env": a.irisx_env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        "load_average_at_start": std::fs::read_to_string("/proc/loadavg").unwrap_or_default()
            .split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    })
}

fn settings() -> Vec<(String, String)> {
    let big = "1000000000".to_owned();
    vec![
        // The benchmark measures the platform, not a plan's or a carrier's throttle.
        ("IRISX_PLAN_KEY_LIMITS__FREE".into(), big.clone()),
        ("IRISX_PLAN_TENANT_LIMITS__FREE".into(), big),
        ("IRISX_SMS_PACE__SHORT_CODE".into(), "1000000".into()),
        ("IRISX_SMS_PACE__PER_PROVIDER".into(), "1000000".into()),
        // The local receiver lives on loopback, which webhooks refuse unless allowed.
        ("IRISX_WEBHOOKS__ALLOWLIST".into(), "127.0.0.0/8".into()),
    ]
}

fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if k.starts_with("IRISX_") => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("`{s}` is not IRISX_KEY=value")),
    }
}

fn has(args: &Args, phase: &str) -> bool {
    args.phases.iter().any(|p| p == phase)
}

fn send_body(seq: u64, send_at: Option<&str>) -> Vec<u8> {
    let to = format!("+1415{:07}", seq % 10_000_000);
    let mut v = serde_json::json!({"to": to, "from": setup::FROM, "body": "Benchmark message from IRISX"});
    if let Some(at) = send_at {
        v["send_at"] = at.into();
    }
    serde_json::to_vec(&v).expect("a JSON value serializes")
}

/// A sender of `POST /v1/sms/send` expecting 202; `send_at` schedules the message (the worker stays idle).
fn sender(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    send_at: Option<String>,
) -> impl Fn(u64) -> std::pin::Pin<Box<dyn std::future::Future<Output = load::Outcome> + Send>> + Send + Sync + 'static
{
    let (http, url, key) = (
        http.clone(),
        Arc::<str>::from(format!("{base}/v1/sms/send")),
        Arc::<str>::from(key),
    );
    let send_at: Option<Arc<str>> = send_at.map(Into::into);
    move |seq| {
        let (http, url, key) = (http.clone(), url.clone(), key.clone());
        let body = send_body(seq, send_at.as_deref());
        Box::pin(async move {
            let r = http
                .post(&*url)
                .header("x-api-key", &*key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map_err(|e| format!("transport: {}", e.without_url()))?;
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            if status == 202 {
                Ok(())
            } else {
                Err(format!("HTTP {status}"))
            }
        })
    }
}

async fn run_profile(args: &Args, profile: Profile, services: &Services) -> anyhow::Result<ProfileResult> {
    let receiver = e2e::Receiver::start().await?;
    let env = Env::new(
        profile,
        &args.irisx,
        services,
        &args.work,
        &[settings(), args.irisx_env.clone()].concat(),
    )
    .await?;
    setup::staff(&env).await?;
    let server = env.serve().await?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .context("build the HTTP client")?;
    let tenant = setup::tenant(&http, &server.base, args.receipt_delay_ms).await?;
    let (warmup, window) = (
        Duration::from_secs_f64(args.warmup),
        Duration::from_secs_f64(args.window),
    );
    let mut result = ProfileResult {
        profile: profile.name().into(),
        database: env.database_url.split('@').next_back().unwrap_or_default().to_owned(),
        accept: Vec::new(),
        noop: Vec::new(),
        insert: Vec::new(),
        insert_ceiling: String::new(),
        e2e: None,
    };
    if has(args, "accept") {
        // Scheduled an hour ahead: the accept path does all its work (the message, its event and its task in
        // one transaction) while the worker stays idle, so this phase measures accepting alone.
        let at = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
            .format(&time::format_description::well_known::Rfc3339)?;
        for &c in &args.levels {
            let perf = match (args.perf_at, server.pid()) {
                (Some(p), Some(pid)) if p == c => Some(report::perf_start(&args.out, profile.name(), pid)?),
                _ => None,
            };
            let level = load::run(
                c,
                warmup,
                window,
                sender(&http, &server.base, &tenant.key, Some(at.clone())),
            )
            .await;
            if let Some(p) = perf {
                report::perf_stop(p).await;
            }
            eprintln!("accept c={c}: {}", report::line(&level));
            result.accept.push(level);
        }
    }
    if has(args, "noop") {
        let url: Arc<str> = format!("{}/health", server.base).into();
        for &c in &args.levels {
            let (http, url) = (http.clone(), url.clone());
            let level = load::run(c, warmup, window, move |_| {
                let (http, url) = (http.clone(), url.clone());
                async move {
                    let r = http.get(&*url).send().await.map_err(|e| format!("transport: {e}"))?;
                    let ok = r.status().is_success();
                    let _ = r.bytes().await;
                    if ok { Ok(()) } else { Err("not 2xx".into()) }
                }
            })
            .await;
            eprintln!("noop   c={c}: {}", report::line(&level));
            result.noop.push(level);
        }
    }
    if has(args, "insert") {
        result.insert = match profile {
            Profile::Services => {
                result.insert_ceiling = "PostgreSQL: single-row INSERT per transaction into a copy of `messages` \
                    with its indexes, min(concurrency, 32) connections"
                    .into();
                ceiling::postgres(&env.database_url, &args.levels, warmup, window).await?
            }
            Profile::Embedded => {
                result.insert_ceiling = "SQLite (WAL, synchronous=FULL): single-row INSERT per transaction into a \
                    copy of `messages` with its indexes, in a file beside IRISX's, through its one writer"
                    .into();
                let db = env.data_dir.join("irisx.db");
                ceiling::sqlite(&db, &env.data_dir.join("ceiling.db"), &args.levels, warmup, window).await?
            }
        };
        for l in &result.insert {
            eprintln!("insert c={}: {}", l.concurrency, report::line(l));
        }
    }
    if has(args, "e2e") {
        let note = match setup::webhook(&http, &server.base, &tenant.owner_token, &receiver.url).await? {
            Some(_) => "measured: one message.delivered webhook per message at the local receiver".to_owned(),
            None => "not measured: this IRISX has no /v1/webhooks route yet".to_owned(),
        };
        let with_hooks = note.starts_with("measured");
        let counter = e2e::Counter::open(&env.database_url).await?;
        let e = e2e::run(
            args.e2e_messages,
            args.e2e_concurrency,
            sender(&http, &server.base, &tenant.key, None),
            &counter,
            with_hooks.then_some(&receiver),
            note,
            Duration::from_secs(args.e2e_timeout),
        )
        .await?;
        eprintln!("e2e: {}", serde_json::to_string(&e)?);
        result.e2e = Some(e);
    }
    server.stop().await;
    env.cleanup(args.keep).await;
    Ok(result)
}
