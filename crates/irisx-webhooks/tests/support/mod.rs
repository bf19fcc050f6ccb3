//! What the webhook suites share: a sender, a request, local receivers, and the independent signature check
//! (the reference `standardwebhooks` library from PyPI, run with `python3`).

// Each suite uses its own part of this module.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use irisx_core::ports::webhooks::WebhookRequest;
use irisx_core::webhook::{WebhookSecret, WebhookUrl};
use irisx_webhooks::{HttpWebhookSender, SenderConfig};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The allowlist the tests that need a local receiver use.
pub const LOOPBACK: &str = "127.0.0.0/8";

/// A sender with this allowlist and the default limits.
pub fn sender(allowlist: &[&str]) -> HttpWebhookSender {
    HttpWebhookSender::new(SenderConfig {
        allowlist: allowlist.iter().map(|e| e.to_string()).collect(),
        ..SenderConfig::default()
    })
    .expect("the test allowlist is valid")
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A request to `url`, signed with `secrets`, stamped now, with a 5 s timeout.
pub fn request(url: &str, secrets: &[WebhookSecret]) -> WebhookRequest {
    WebhookRequest {
        url: WebhookUrl::parse(url).expect("a valid test URL"),
        webhook_id: "msg_2mP1Zq7NwX0aVb9kTf3Rj".into(),
        timestamp: now(),
        body: r#"{"type":"message.delivered","data":{"id":"msg_01","to":"+14155550100","price":"0.0075"}}"#.into(),
        secrets: secrets.to_vec(),
        headers: Vec::new(),
        timeout: Duration::from_secs(5),
    }
}

/// A receiver on 127.0.0.1 that answers every request with `response`.
pub async fn receiver(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(response).mount(&server).await;
    server
}

/// The requests a receiver got.
pub async fn received(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

/// The parts of a delivered webhook a receiver verifies.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
}

impl Delivered {
    /// Takes the parts from the request the receiver actually got.
    pub fn from_request(request: &wiremock::Request) -> Self {
        let header = |name: &str| {
            let value = request.headers.get(name).unwrap_or_else(|| panic!("no {name} header"));
            value.to_str().unwrap().to_owned()
        };
        Self {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            body: request.body.clone(),
        }
    }
}

/// What the reference library said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Verified,
    Refused(String),
}

/// Verifies a delivery with the reference library, as a receiver holding `secret` would.
pub fn verify(secret: &str, delivered: &Delivered) -> Verdict {
    let input = serde_json::json!({
        "secret": secret,
        "headers": {
            "webhook-id": delivered.id,
            "webhook-timestamp": delivered.timestamp,
            "webhook-signature": delivered.signature,
        },
        "body_b64": B64.encode(&delivered.body),
    });
    let output = run_python(&input.to_string());
    let answer: serde_json::Value = serde_json::from_slice(&output).expect("the verifier prints JSON");
    if answer["verified"] == true {
        Verdict::Verified
    } else {
        Verdict::Refused(answer["reason"].as_str().unwrap_or_default().to_owned())
    }
}

fn run_python(input: &str) -> Vec<u8> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/verify.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is needed to verify signatures ({e}); install it, then: pip install standardwebhooks")
        });
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => out.stdout,
        Some(3) => panic!("{stderr}"),
        _ => panic!("the signature verifier failed ({}): {stderr}", out.status),
    }
}
