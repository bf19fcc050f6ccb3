//! Results: `<out>/<timestamp>.json` (every figure, the machine and the settings), `<out>/latest.json` and
//! `<out>/latest.md` (the tables), and the optional `perf record` of the server.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::ProfileResult;
use crate::load::Level;

/// One level as a log line.
pub fn line(l: &Level) -> String {
    format!(
        "{:.0}/s p50 {:.2} ms p95 {:.2} ms p99 {:.2} ms errors {} {:?} cpu µs/op {:?}",
        l.per_second, l.p50_ms, l.p95_ms, l.p99_ms, l.errors, l.error_classes, l.cpu_us_per_op
    )
}

fn machine() -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split(':').nth(1)))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    let mem_kb: u64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model,
        "memory_gib": (mem_kb as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "load_average_at_end": read("/proc/loadavg").split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        "os": read("/etc/os-release").lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).unwrap_or("").trim_matches('"'),
    })
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| (a / b * 1000.0).round() / 1000.0)
}

fn ratios(r: &ProfileResult) -> Vec<Value> {
    r.accept
        .iter()
        .map(|a| {
            let at = |v: &[Level]| v.iter().find(|l| l.concurrency == a.concurrency).map(|l| l.per_second);
            json!({
                "concurrency": a.concurrency,
                "accept_per_insert_ceiling": at(&r.insert).and_then(|i| ratio(a.per_second, i)),
                "accept_per_noop_route": at(&r.noop).and_then(|n| ratio(a.per_second, n)),
            })
        })
        .collect()
}

/// Writes the JSON and markdown results.
pub async fn write(
    out: &Path,
    started: time::OffsetDateTime,
    settings: &Value,
    results: &[ProfileResult],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).context("create the results dir")?;
    let stamp = started.format(time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))?;
    let profiles: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            v["ratios"] = ratios(r).into();
            v
        })
        .collect();
    let doc = json!({
        "started_at": started.format(&time::format_description::well_known::Rfc3339)?,
        "commit": git_commit().await,
        "machine": machine(),
        "settings": settings,
        "profiles": profiles,
    });
    let text = serde_json::to_string_pretty(&doc)?;
    std::fs::write(out.join(format!("{stamp}.json")), &text)?;
    std::fs::write(out.join("latest.json"), &text)?;
    std::fs::write(out.join("latest.md"), markdown(&doc, results, &stamp))?;
    eprintln!("results: {}", out.join(format!("{stamp}.json")).display());
    Ok(())
}

async fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .await
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn cell(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{x:.digits$}"))
}

fn markdown(doc: &Value, results: &[ProfileResult], stamp: &str) -> String {
    let m = &doc["machine"];
    let mut s = String::new();
    let _ = writeln!(s, "# IRISX benchmark {stamp}\n");
    let _ = writeln!(
        s,
        "Machine: {} × {}, {} GiB, {}, Linux {}; commit {}. Settings: {}.\n",
        m["cpus"],
        m["cpu_model"].as_str().unwrap_or(""),
        m["memory_gib"],
        m["os"].as_str().unwrap_or(""),
        m["kernel"].as_str().unwrap_or(""),
        doc["commit"].as_str().unwrap_or(""),
        doc["settings"]
    );
    for r in results {
        let _ = writeln!(s, "## Profile `{}` ({})\n", r.profile, r.database);
        let _ = writeln!(
            s,
            "| concurrency | accepts/s | p50 ms | p95 ms | p99 ms | errors | insert ceiling/s | accept ÷ insert | no-op route/s | accept ÷ no-op | CPU µs/accept: IRISX, all |"
        );
        let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for a in &r.accept {
            let at = |v: &[Level]| v.iter().find(|l| l.concurrency == a.concurrency).map(|l| l.per_second);
            let (ins, noop) = (at(&r.insert), at(&r.noop));
            let _ = writeln!(
                s,
                "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {}, {} |",
                a.concurrency,
                a.per_second,
                a.p50_ms,
                a.p95_ms,
                a.p99_ms,
                a.errors,
                cell(ins, 0),
                cell(ins.and_then(|i| ratio(a.per_second, i)), 2),
                cell(noop, 0),
                cell(noop.and_then(|n| ratio(a.per_second, n)), 2),
                cell(a.cpu_us_per_op.get("irisx").copied(), 0),
                cell(a.cpu_us_per_op.get("total").copied(), 0),
            );
        }
        if !r.insert.is_empty() {
            let _ = writeln!(s, "\nInsert ceiling: {}.\n", r.insert_ceiling);
            let _ = writeln!(
                s,
                "| concurrency | inserts/s | p50 ms | p99 ms | CPU µs/insert (all) | no-op/s | no-op p99 ms | CPU µs/no-op (all) |"
            );
            let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|");
            for i in &r.insert {
                let n = r.noop.iter().find(|l| l.concurrency == i.concurrency);
                let _ = writeln!(
                    s,
                    "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {} |",
                    i.concurrency,
                    i.per_second,
                    i.p50_ms,
                    i.p99_ms,
                    cell(i.cpu_us_per_op.get("total").copied(), 0),
                    cell(n.map(|l| l.per_second), 0),
                    cell(n.map(|l| l.p99_ms), 2),
                    cell(n.and_then(|l| l.cpu_us_per_op.get("total").copied()), 0)
                );
            }
        }
        if let Some(e) = &r.e2e {
            let _ = writeln!(
                s,
                "\nEnd to end: {} messages from {} senders; accepted at {:.0}/s ({} errors); all delivered \
                 (receipts applied) in {} s: **{} delivered/s**; webhooks {}: {} s, **{} webhooks/s** \
                 ({} of {} arrived). CPU per delivered message: {} µs in IRISX, {} µs in all.\n",
                e.messages,
                e.concurrency,
                e.accepted_per_second,
                e.accept_errors,
                cell(e.delivered_seconds, 2),
                cell(e.delivered_per_second, 0),
                e.webhooks,
                cell(e.webhook_seconds, 2),
                cell(e.webhooks_per_second, 0),
                e.webhooks_at_timeout,
                e.messages,
                cell(e.cpu_us_per_message.get("irisx").copied(), 0),
                cell(e.cpu_us_per_message.get("total").copied(), 0)
            );
            if let Some(c) = e.commits_per_message {
                // The single-row insert ceiling at the senders' concurrency: commits/s this PostgreSQL takes.
                let ceiling = r
                    .insert
                    .iter()
                    .filter(|i| i.concurrency <= e.concurrency)
                    .max_by_key(|i| i.concurrency)
                    .map(|i| i.per_second);
                let _ = writeln!(
                    s,
                    "PostgreSQL per message: {} transactions, {c:.1} of them durable commits; with the insert \
                     ceiling of {} commits/s at concurrency {}, at most **{} messages/s** while each step \
                     commits on its own.\n",
                    cell(e.transactions_per_message, 1),
                    cell(ceiling, 0),
                    e.concurrency,
                    cell(ceiling.map(|x| x / c), 0)
                );
            }
        }
        s.push('\n');
    }
    s
}

/// A running `perf record` of the server.
pub struct Perf(Child);

/// Starts `perf record -g` on `pid`, writing `<out>/perf-<profile>.data`.
pub fn perf_start(out: &Path, profile: &str, pid: u32) -> anyhow::Result<Perf> {
    std::fs::create_dir_all(out)?;
    let file: PathBuf = out.join(format!("perf-{profile}.data"));
    let child = Command::new("perf")
        .args([
            "record",
            "-F",
            "499",
            "--call-graph",
            "dwarf,16384",
            "-p",
            &pid.to_string(),
            "-o",
        ])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("start perf record (Debian package linux-perf)")?;
    Ok(Perf(child))
}

/// Stops `perf record` with SIGINT so it writes its file.
pub async fn perf_stop(mut p: Perf) {
    if let Some(pid) = p.0.id() {
        let _ = Command::new("kill").args(["-INT", &pid.to_string()]).status().await;
    }
    let _ = p.0.wait().await;
}
