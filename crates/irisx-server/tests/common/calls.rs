//! Helpers of the calls suites: a server whose documents may come from loopback, tenants with trunks at sipp
//! carriers, and polls of a call's state and of a document server's requests.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::{MockServer, Request, ResponseTemplate};

use super::*;

/// A server whose webhooks (and documents) may go to loopback.
pub async fn start(profile: Profile) -> (TestEnv, Server, String) {
    start_with(profile, &[]).await
}

/// [`start`] with more settings.
pub async fn start_with(profile: Profile, settings: &[(&str, &str)]) -> (TestEnv, Server, String) {
    let mut env = TestEnv::new(profile).await;
    env.set("IRISX_WEBHOOKS__ALLOWLIST", "127.0.0.0/8");
    env.set("IRISX_PUBLIC_RATE_PER_MINUTE", "100000");
    for (key, value) in settings {
        env.set(key, value);
    }
    boot_in(env).await
}

/// A tenant (free plan) with its owner's token.
pub async fn tenant(api: &Api, staff: &str, tag: &str) -> String {
    api.tenant_with_owner(staff, tag, &format!("owner@{tag}.test")).await.1
}

/// Adds one of the tenant's trunks at a sipp carrier, with a per-minute rate for every destination.
pub async fn trunk(api: &Api, token: &str, name: &str, port: u16, rate: i64) -> String {
    let body = json!({"name": name, "host": "127.0.0.1", "port": port, "username": "carrier-user",
        "password": "carrier-pass", "rates": [{"prefix": "+", "cost_micros_per_minute": rate}]});
    let t = api.post("/v1/sip-trunks", Auth::Bearer(token), body).await.expect(201);
    assert!(t.get("password").is_none() && t["has_credentials"] == true, "{t}");
    t["id"].as_str().unwrap().to_owned()
}

/// Polls a call until `done` holds for it, within `within`; panics saying what never happened.
pub async fn call_when(
    api: &Api,
    token: &str,
    id: &str,
    within: Duration,
    never: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let c = api
            .get(&format!("/v1/calls/{id}"), Auth::Bearer(token))
            .await
            .expect(200);
        if done(&c) {
            return c;
        }
        assert!(started.elapsed() < within, "{never}: {c}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls a call until it has a CDR (its price is set), within 20 s.
pub async fn rated(api: &Api, token: &str, id: &str) -> Value {
    let rated = |c: &Value| !c["price_micros"].is_null();
    call_when(
        api,
        token,
        id,
        Duration::from_secs(20),
        "the call was never rated",
        rated,
    )
    .await
}

/// Polls a call until it has ended, within 20 s.
pub async fn ended(api: &Api, token: &str, id: &str) -> Value {
    let ended = |c: &Value| !c["ended_at"].is_null();
    call_when(api, token, id, Duration::from_secs(20), "the call never ended", ended).await
}

/// A stored object's bytes, through its download link.
pub async fn download(api: &Api, token: &str, object: &str) -> Vec<u8> {
    let link = api
        .get(&format!("/v1/objects/{object}/url"), Auth::Bearer(token))
        .await
        .expect(200);
    reqwest::get(link["url"].as_str().unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

pub fn xml(doc: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(doc.as_bytes().to_vec(), "application/xml")
}

/// The JSON bodies posted to `at`.
pub async fn posted(server: &MockServer, at: &str) -> Vec<Value> {
    let all: Vec<Request> = server.received_requests().await.unwrap_or_default();
    all.iter()
        .filter(|r| r.url.path() == at)
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

/// Waits until the status callback got an event of each of `kinds` (deliveries run in parallel, so in any
/// order).
pub async fn callbacks(server: &MockServer, kinds: &[&str]) {
    let started = Instant::now();
    loop {
        let types: Vec<String> = posted(server, "/status")
            .await
            .iter()
            .filter_map(|b| b["type"].as_str().map(str::to_owned))
            .collect();
        if kinds.iter().all(|k| types.iter().any(|t| t == k)) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "not all of {kinds:?} called back; got {types:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls a call until it is in progress, within 10 s.
pub async fn in_progress(api: &Api, token: &str, id: &str) {
    let answered = |c: &Value| c["status"] == "in-progress";
    call_when(
        api,
        token,
        id,
        Duration::from_secs(10),
        "the call was never answered",
        answered,
    )
    .await;
}
