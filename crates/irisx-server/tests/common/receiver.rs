//! A local webhook receiver: records every request (headers, body, arrival) and answers by script.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The nth request (from 0).
    pub nth: usize,
    /// Lower-cased header names with their values.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// Decides the answer to the nth request.
pub type Script = Box<dyn Fn(usize) -> ResponseTemplate + Send + Sync>;

struct Recorder {
    log: Arc<Mutex<Vec<Received>>>,
    script: Script,
}

impl Respond for Recorder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let nth = {
            let mut log = self.log.lock().unwrap();
            let nth = log.len();
            log.push(Received {
                nth,
                headers: req
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                    .collect(),
                body: req.body.clone(),
                at: Instant::now(),
            });
            nth
        };
        (self.script)(nth)
    }
}

/// A receiver and its log.
pub struct Receiver {
    pub server: MockServer,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(script: Script) -> Self {
        let server = MockServer::start().await;
        let log = Arc::new(Mutex::new(Vec::new()));
        Mock::given(any())
            .respond_with(Recorder {
                log: log.clone(),
                script,
            })
            .mount(&server)
            .await;
        Self { server, log }
    }

    /// A receiver answering 200 to everything.
    pub async fn ok() -> Self {
        Self::start(Box::new(|_| ResponseTemplate::new(200))).await
    }

    pub fn url(&self) -> String {
        format!("{}/hooks", self.server.uri())
    }

    pub fn all(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// Waits until `done` holds for the log (within `within`), and returns the log.
    pub async fn wait_for(&self, within: Duration, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let all = self.all();
            if done(&all) {
                return all;
            }
            assert!(
                started.elapsed() < within,
                "receiver: {what} not seen within {within:?}; got {} requests",
                all.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Verifies a received webhook with the reference Standard Webhooks library (PyPI `standardwebhooks`): an
/// implementation independent of IRISX's.
pub fn verify_with_reference(secret: &str, r: &Received) -> bool {
    use base64::Engine;
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../irisx-webhooks/tests/support/verify.py");
    let headers: serde_json::Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let input = serde_json::json!({
        "secret": secret,
        "headers": headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(&r.body),
    });
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the reference verifier failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("verifier JSON");
    answer["verified"] == true
}
