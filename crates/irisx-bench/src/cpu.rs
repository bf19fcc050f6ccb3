//! CPU time spent by the processes taking part (IRISX, PostgreSQL, Redis, NATS, this load generator), read
//! from `/proc/<pid>/stat` around a measured window: CPU per request is steadier than throughput on a machine
//! that other work shares.

use std::collections::BTreeMap;

/// The processes counted, by command name.
const WATCHED: &[&str] = &["irisx", "postgres", "redis-server", "nats-server", "irisx-bench"];
/// `sysconf(_SC_CLK_TCK)` on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds per watched command name, now.
pub fn snapshot() -> BTreeMap<String, f64> {
    snapshot_of(WATCHED)
}

/// CPU seconds of the processes with these command names, now.
pub fn snapshot_of(watched: &[&str]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if let Some((comm, secs)) = parse_stat(&stat)
            && watched.contains(&comm)
        {
            *out.entry(comm.to_owned()).or_insert(0.0) += secs;
        }
    }
    out
}

/// The CPU seconds (user and system) of one process, while it exists.
pub fn process_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|(_, secs)| secs)
}

/// The command name and CPU seconds of a `/proc/<pid>/stat` line.
fn parse_stat(stat: &str) -> Option<(&str, f64)> {
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    // After the command: state, ppid, pgrp, session, tty, tpgid, flags, minflt, cminflt, majflt, cmajflt,
    // utime, stime.
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let ticks: f64 = fields
        .get(11..13)
        .map_or(0.0, |f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum());
    Some((&stat[open + 1..close], ticks / TICKS_PER_SECOND))
}

/// Microseconds of CPU per operation for each process between two snapshots.
pub fn per_op(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, ops: u64) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    if ops == 0 {
        return out;
    }
    let mut total = 0.0;
    for (k, a) in after {
        let d = (a - before.get(k).copied().unwrap_or(0.0)).max(0.0);
        let us = (d * 1e6 / ops as f64).round();
        total += us;
        out.insert(k.clone(), us);
    }
    out.insert("total".into(), total);
    out
}
