//! Shared test fixtures: an engine on loopback with its own ports, a static agent directory, and sipp
//! processes (Debian `sip-tester`) started per test on free ports and killed when dropped.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use irisx_core::ports::voice::{
    AgentCredentials, CallEvent, CallHandle, Destination, HangupCause, Originate, SipRegistrar, SipTransport,
    TrunkTarget, VoiceEngine,
};
use irisx_voice::{NativeVoiceEngine, VoiceConfig};
use tokio::process::{Child, Command};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

/// Agents known to the test registrar: user → (tenant, password).
pub struct Agents(pub HashMap<String, (String, String)>);

#[async_trait]
impl SipRegistrar for Agents {
    async fn credentials(&self, user: &str) -> Option<AgentCredentials> {
        self.0.get(user).map(|(tenant, password)| AgentCredentials {
            tenant: tenant.clone(),
            password: password.clone(),
        })
    }
}

/// A running engine that stops when dropped.
pub struct TestEngine {
    pub engine: Arc<NativeVoiceEngine>,
    cancel: CancellationToken,
}

impl Drop for TestEngine {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl TestEngine {
    /// An engine on 127.0.0.1 with agents alice/secret and bob/hunter2 (tenant `ten_a`).
    pub async fn start() -> TestEngine {
        Self::start_with(|_| {}).await
    }

    /// The same with configuration changes.
    pub async fn start_with(change: impl FnOnce(&mut VoiceConfig)) -> TestEngine {
        tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init()
            .ok();
        let mut config = VoiceConfig {
            bind_ip: "127.0.0.1".parse().unwrap(),
            sip_port: 0,
            rtp_ports: 20000..=29999,
            ban_after_failures: 3,
            ..VoiceConfig::default()
        };
        change(&mut config);
        let agents = Agents(HashMap::from([
            ("alice".to_string(), ("ten_a".to_string(), "secret".to_string())),
            ("bob".to_string(), ("ten_a".to_string(), "hunter2".to_string())),
        ]));
        let cancel = CancellationToken::new();
        let engine = NativeVoiceEngine::start(config, Arc::new(agents), cancel.clone())
            .await
            .expect("engine starts");
        TestEngine {
            engine: Arc::new(engine),
            cancel,
        }
    }

    pub fn sip_addr(&self) -> SocketAddr {
        self.engine.sip_addr()
    }
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

/// The scenario directory.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios").join(name)
}

/// Fails clearly when sipp is not installed.
pub fn require_sipp() {
    let found = std::process::Command::new("sipp").arg("-v").output().is_ok();
    assert!(
        found,
        "sipp is missing: install the Debian package sip-tester (see .ci/run)"
    );
}

/// One sipp process.
pub struct Sipp {
    child: Child,
    dir: tempfile::TempDir,
    /// Its SIP port.
    pub port: u16,
    /// Its media port.
    pub media_port: u16,
}

impl Sipp {
    /// Starts sipp with `scenario` and extra arguments, on a free SIP port and media port, for `-m calls`.
    pub fn start(scenario_file: &str, calls: u32, extra: &[&str]) -> Sipp {
        require_sipp();
        let port = free_udp_ports(1);
        let media_port = free_udp_ports(4);
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sipp");
        cmd.arg("-sf")
            .arg(scenario(scenario_file))
            .args([
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-mp",
                &media_port.to_string(),
            ])
            .args([
                "-m",
                &calls.to_string(),
                "-nostdin",
                "-trace_err",
                "-timeout",
                "12s",
                "-timeout_error",
            ])
            .args(extra)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().expect("sipp starts");
        Sipp {
            child,
            dir,
            port,
            media_port,
        }
    }

    /// Its SIP address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Waits for sipp to finish; panics with its output and error log unless it exited 0 (every call
    /// succeeded).
    pub async fn expect_success(self) {
        let (ok, report) = self.finish().await;
        assert!(ok, "sipp failed:\n{report}");
    }

    /// Waits for sipp to finish: whether it exited 0, and its output and error log.
    pub async fn finish(self) -> (bool, String) {
        let Sipp { child, dir, .. } = self;
        let out = tokio::time::timeout(Duration::from_secs(15), child.wait_with_output())
            .await
            .expect("sipp ends within 15 s")
            .expect("sipp output");
        let mut report = format!("status {}\n", out.status);
        for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
            report.push_str(&format!("--- {}\n", entry.path().display()));
            report.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let tail: String = stdout
            .chars()
            .rev()
            .take(3000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        report.push_str(&format!(
            "--- stdout (tail)\n{tail}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
        (out.status.success(), report)
    }
}

/// The next event, within `secs` seconds.
pub async fn next_event(events: &mut UnboundedReceiver<CallEvent>, secs: u64) -> CallEvent {
    tokio::time::timeout(Duration::from_secs(secs), events.recv())
        .await
        .expect("an event in time")
        .expect("the event stream is open")
}

/// Events until (and including) the first that matches.
pub async fn events_until(
    events: &mut UnboundedReceiver<CallEvent>,
    secs: u64,
    stop: impl Fn(&CallEvent) -> bool,
) -> Vec<CallEvent> {
    let mut seen = Vec::new();
    loop {
        let e = next_event(events, secs).await;
        let done = stop(&e);
        seen.push(e);
        if done {
            return seen;
        }
    }
}

/// Events until (and including) the answer or the hangup, whichever comes first.
pub async fn until_answered_or_ended(events: &mut UnboundedReceiver<CallEvent>, secs: u64) -> Vec<CallEvent> {
    events_until(events, secs, |e| {
        matches!(e, CallEvent::Answered { .. } | CallEvent::Hangup { .. })
    })
    .await
}

/// An OPTIONS request from `from` with a User-Agent.
pub fn options_request(from: SocketAddr, user_agent: &str) -> String {
    let tag = rand::random::<u32>();
    format!(
        "OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bK{tag}\r\nFrom: <sip:probe@{from}>;tag={tag}\r\n\
         To: <sip:ping@127.0.0.1>\r\nCall-ID: {tag}@probe\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nUser-Agent: {user_agent}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// A UDP trunk at a sipp carrier on loopback, with digest credentials.
pub fn trunk(name: &str, port: u16) -> TrunkTarget {
    TrunkTarget {
        name: name.into(),
        host: "127.0.0.1".into(),
        port,
        transport: SipTransport::Udp,
        username: Some("carrier-user".into()),
        password: Some("carrier-pass".into()),
        codecs: Vec::new(),
        caller_id: None,
        strip_plus: false,
    }
}

/// A call from tenant `ten_a` through these trunks.
pub fn call_to(trunks: Vec<TrunkTarget>) -> Originate {
    Originate {
        tenant: "ten_a".into(),
        to: "15551230000".into(),
        from: "15559870000".into(),
        destination: Destination::Trunks(trunks),
        ring_timeout: Duration::from_secs(5),
    }
}

/// Originates through these trunks and waits for the answer.
pub async fn answered(engine: &TestEngine, trunks: Vec<TrunkTarget>) -> CallHandle {
    let mut handle = engine.engine.originate(call_to(trunks)).await.expect("originate");
    let seen = until_answered_or_ended(&mut handle.events, 8).await;
    assert!(
        matches!(seen.last(), Some(CallEvent::Answered { .. })),
        "the call was not answered: {seen:?}"
    );
    handle
}

/// Hangs up and checks the call completed.
pub async fn hang_up(engine: &TestEngine, mut handle: CallHandle) {
    engine.engine.hangup(&handle.call).await.expect("hangup");
    let seen = events_until(&mut handle.events, 5, |e| matches!(e, CallEvent::Hangup { .. })).await;
    assert_eq!(
        seen.last(),
        Some(&CallEvent::Hangup {
            cause: HangupCause::Completed,
            sip_code: None
        })
    );
}
