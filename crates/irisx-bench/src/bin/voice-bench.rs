//! The voice benchmark: IRISX's native engine (in this process, on loopback) answers calls that sipp places
//! at a steady rate; each answered call holds G.711 media both ways (the engine plays a tone for the hold time,
//! sipp plays `g711a.pcap`) and the engine hangs up. Measured: calls set up per second, the most calls held at
//! once with media, the setup time (INVITE to 200 OK, as sipp times it) and the CPU of the engine and of sipp.
//!
//! `bench/run` runs it after the message benchmark; alone: `voice-bench --out bench/results`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use async_trait::async_trait;
use clap::Parser;
use irisx_bench::cpu;
use irisx_core::ports::voice::{AgentCredentials, Audio, CallEvent, IncomingCall, SipRegistrar, VoiceEngine};
use irisx_voice::{NativeVoiceEngine, VoiceConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The voice benchmark's settings.
#[derive(Debug, Parser)]
#[command(about = "IRISX voice benchmark: sipp calls the native engine, which holds G.711 media and hangs up")]
struct Args {
    /// Calls placed per second.
    #[arg(long, default_value_t = 25)]
    rate: u32,
    /// How long each answered call holds media, in seconds.
    #[arg(long, default_value_t = 10)]
    hold: u64,
    /// Calls placed in all.
    #[arg(long, default_value_t = 1000)]
    calls: u32,
    /// Where the results go (`voice-<timestamp>.json`, `voice-latest.json`, `voice-latest.md`).
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// The sipp scenario.
    #[arg(long, default_value = "bench/voice/caller.xml")]
    scenario: PathBuf,
    /// The audio sipp plays once answered.
    #[arg(long, default_value = "/usr/share/sip-tester/g711a.pcap")]
    pcap: PathBuf,
}

/// No agents: the benchmark only takes calls.
struct NoAgents;

#[async_trait]
impl SipRegistrar for NoAgents {
    async fn credentials(&self, _: &str) -> Option<AgentCredentials> {
        None
    }
}

/// What the engine side saw.
#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    completed: AtomicU64,
    failed: AtomicU64,
    live: AtomicUsize,
    most_live: AtomicUsize,
}

/// A 440 Hz tone of `secs` seconds at 8 kHz.
fn tone(secs: u64) -> Vec<i16> {
    (0..secs * 8000)
        .map(|i| ((i as f64 * 2.0 * std::f64::consts::PI * 440.0 / 8000.0).sin() * 8000.0) as i16)
        .collect()
}

/// Answers one call, holds media for the tone's length, hangs up.
async fn take(engine: Arc<NativeVoiceEngine>, call: IncomingCall, audio: Arc<Vec<i16>>, tally: Arc<Tally>) {
    let IncomingCall { handle, .. } = call;
    let (call, mut events) = (handle.call, handle.events);
    let drained = tokio::spawn(async move {
        while events
            .recv()
            .await
            .is_some_and(|e| !matches!(e, CallEvent::Hangup { .. }))
        {}
    });
    if engine.answer(&call, "bench").await.is_err() {
        tally.failed.fetch_add(1, Ordering::Relaxed);
        return;
    }
    tally.answered.fetch_add(1, Ordering::Relaxed);
    let live = tally.live.fetch_add(1, Ordering::Relaxed) + 1;
    tally.most_live.fetch_max(live, Ordering::Relaxed);
    let played = engine.play(&call, Audio::Pcm(audio.as_ref().clone())).await;
    let _ = engine.hangup(&call).await;
    tally.live.fetch_sub(1, Ordering::Relaxed);
    let _ = drained.await;
    match played {
        Ok(()) => tally.completed.fetch_add(1, Ordering::Relaxed),
        Err(_) => tally.failed.fetch_add(1, Ordering::Relaxed),
    };
}

/// The `q` quantile (0..=1) of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Setup times in ms from sipp's response-time trace (`<scenario>_<pid>_rtt.csv`: `date_ms;time_ms;rtd`).
fn setup_times(dir: &Path) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)?.flatten() {
        if !entry.file_name().to_string_lossy().ends_with("_rtt.csv") {
            continue;
        }
        for line in std::fs::read_to_string(entry.path())?.lines().skip(1) {
            if let Some(ms) = line.split(';').nth(1).and_then(|v| v.trim().parse::<f64>().ok()) {
                out.push(ms);
            }
        }
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// A free UDP port on loopback (the next one free as well, for RTP and RTCP).
fn free_port_pair() -> u16 {
    loop {
        let p = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if p.is_multiple_of(2) && std::net::UdpSocket::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let cancel = CancellationToken::new();
    let config = VoiceConfig {
        bind_ip: "127.0.0.1".parse()?,
        sip_port: 0,
        rtp_ports: 30000..=39999,
        max_calls_per_tenant: 100_000,
        ..VoiceConfig::default()
    };
    let engine = Arc::new(NativeVoiceEngine::start(config, Arc::new(NoAgents), cancel.clone()).await?);
    let audio = Arc::new(tone(args.hold));
    let tally = Arc::new(Tally::default());
    let taker = {
        let (engine, tally) = (engine.clone(), tally.clone());
        tokio::spawn(async move {
            while let Some(call) = engine.next_incoming().await {
                tokio::spawn(take(engine.clone(), call, audio.clone(), tally.clone()));
            }
        })
    };

    let work = tempfile::tempdir()?;
    let scenario = std::fs::canonicalize(&args.scenario).context("the sipp scenario")?;
    let sip_port = free_port_pair();
    let cpu_before = cpu::snapshot_of(&["voice-bench"]);
    let started = Instant::now();
    let child = tokio::process::Command::new("sipp")
        .arg("-sf")
        .arg(&scenario)
        .args(["-key", "pcap"])
        .arg(&args.pcap)
        .args(["-s", "bench", "-i", "127.0.0.1", "-p", &sip_port.to_string()])
        .args(["-mp", &free_port_pair().to_string()])
        .args(["-r", &args.rate.to_string(), "-m", &args.calls.to_string()])
        .args(["-l", &(u64::from(args.rate) * (args.hold + 5)).to_string()])
        .args([
            "-trace_rtt",
            "-rtt_freq",
            "1",
            "-trace_err",
            "-nostdin",
            "-timeout",
            "600s",
        ])
        .arg(engine.sip_addr().to_string())
        .current_dir(work.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("sipp (Debian package sip-tester) starts")?;
    // sipp's CPU is read while it runs (its /proc entry goes with it): the last reading misses at most 200 ms.
    let sipp_secs = Arc::new(AtomicU64::new(0));
    let watcher = child.id().map(|pid| {
        let secs = sipp_secs.clone();
        tokio::spawn(async move {
            while let Some(s) = cpu::process_secs(pid) {
                secs.store(s.to_bits(), Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    });
    let sipp = child.wait_with_output().await?;
    let elapsed = started.elapsed();
    if let Some(w) = watcher {
        w.abort();
    }
    let mut cpu_after = cpu::snapshot_of(&["voice-bench"]);
    cpu_after.insert("sipp".into(), f64::from_bits(sipp_secs.load(Ordering::Relaxed)));
    cancel.cancel();
    taker.abort();

    let setup = setup_times(work.path())?;
    let cpu = cpu::per_op(&cpu_before, &cpu_after, u64::from(args.calls));
    let answered = tally.answered.load(Ordering::Relaxed);
    let result = json!({
        "when": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339)?,
        "settings": {"rate": args.rate, "hold_secs": args.hold, "calls": args.calls, "codec": "PCMA (G.711 A-law), 20 ms"},
        "sipp_exit": sipp.status.code(),
        "answered": answered,
        "completed": tally.completed.load(Ordering::Relaxed),
        "failed": tally.failed.load(Ordering::Relaxed),
        "most_concurrent_with_media": tally.most_live.load(Ordering::Relaxed),
        "setup_calls_per_sec": answered as f64 / (elapsed.as_secs_f64() - args.hold as f64).max(1.0),
        "setup_ms": {"count": setup.len(), "p50": quantile(&setup, 0.5), "p95": quantile(&setup, 0.95),
                     "p99": quantile(&setup, 0.99), "max": setup.last()},
        "elapsed_secs": elapsed.as_secs_f64(),
        "cpu_us_per_call": cpu,
        "cpu_cores_busy": cpu_after.iter().map(|(k, v)| (k.clone(), (v - cpu_before.get(k).unwrap_or(&0.0)) / elapsed.as_secs_f64())).collect::<std::collections::BTreeMap<_, _>>(),
        "load_average": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    });
    write_results(&args.out, &result)?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    if !sipp.status.success() {
        bail!("sipp reported failed calls:\n{}", String::from_utf8_lossy(&sipp.stderr));
    }
    Ok(())
}

/// `voice-<timestamp>.json`, `voice-latest.json` and `voice-latest.md` in `dir`.
fn write_results(dir: &Path, r: &serde_json::Value) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stamp = time::OffsetDateTime::now_utc().format(&time::macros::format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))?;
    let text = serde_json::to_string_pretty(r)?;
    std::fs::write(dir.join(format!("voice-{stamp}.json")), &text)?;
    std::fs::write(dir.join("voice-latest.json"), &text)?;
    let s = &r["settings"];
    let md = format!(
        "| calls placed | rate/s | hold s | answered | most held at once with media | calls set up/s | setup p50 ms | setup p95 ms | setup p99 ms | engine CPU µs/call | sipp CPU µs/call |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n\
         | {} | {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |\n",
        s["calls"],
        s["rate"],
        s["hold_secs"],
        r["answered"],
        r["most_concurrent_with_media"],
        r["setup_calls_per_sec"].as_f64().unwrap_or(0.0),
        r["setup_ms"]["p50"].as_f64().unwrap_or(f64::NAN),
        r["setup_ms"]["p95"].as_f64().unwrap_or(f64::NAN),
        r["setup_ms"]["p99"].as_f64().unwrap_or(f64::NAN),
        r["cpu_us_per_call"]["voice-bench"],
        r["cpu_us_per_call"]["sipp"],
    );
    std::fs::write(dir.join("voice-latest.md"), md)?;
    Ok(())
}
