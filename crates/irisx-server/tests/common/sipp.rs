//! sipp processes (Debian `sip-tester`) as carriers, callers and agents on loopback, each on its own free
//! ports and killed when dropped; the scenarios are the voice engine's own (`irisx-voice/tests/scenarios`).

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// An engine scenario file.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../irisx-voice/tests/scenarios")
        .join(name)
}

/// Ports this test process has handed out. A port is checked free and then released before its sipp binds it,
/// so it must not be handed out again in between.
static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<u16>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// A free UDP port `p` (even) with `p..p+span` all free at the time of the check and never handed out before by
/// this process, from 10000-19999: below the kernel's ephemeral ports (32768 and up), which any socket bound to
/// port 0 may take, and below the engine's RTP range in tests (20000 and up).
pub fn free_udp_ports(span: u16) -> u16 {
    loop {
        let p = 10000 + (rand::random_range(0..4990u16) * 2);
        let mut handed = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        if (p..p + span).any(|q| handed.contains(&q)) {
            continue;
        }
        let held: Vec<_> = (p..p + span)
            .filter_map(|q| UdpSocket::bind(("127.0.0.1", q)).ok())
            .collect();
        if held.len() == usize::from(span) {
            handed.extend(p..p + span);
            return p;
        }
    }
}

/// One sipp process.
pub struct Sipp {
    child: Child,
    dir: tempfile::TempDir,
    /// Its SIP port.
    pub port: u16,
}

impl Sipp {
    /// Starts sipp with an engine scenario and extra arguments, for one call.
    pub fn start(scenario_file: &str, extra: &[&str]) -> Sipp {
        let found = std::process::Command::new("sipp").arg("-v").output().is_ok();
        assert!(
            found,
            "sipp is missing: install the Debian package sip-tester (see .ci/run)"
        );
        let port = free_udp_ports(1);
        let media_port = free_udp_ports(4);
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(scenario(scenario_file))
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-mp",
                &media_port.to_string(),
            ])
            .args(["-m", "1", "-nostdin", "-trace_err", "-timeout", "15s", "-timeout_error"])
            .args(extra)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("sipp starts");
        Sipp { child, dir, port }
    }

    /// Waits for sipp to finish; panics with its error log unless every call succeeded.
    pub async fn expect_success(self) {
        let Sipp { child, dir, .. } = self;
        let out = tokio::time::timeout(Duration::from_secs(18), child.wait_with_output())
            .await
            .expect("sipp ends within 18 s")
            .expect("sipp output");
        let mut report = String::new();
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            report.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        assert!(
            out.status.success(),
            "sipp failed ({}):\n{report}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
