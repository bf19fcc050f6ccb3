//! Customer webhooks end to end on the real binary, against local receivers: signatures checked by the
//! reference Standard Webhooks library, retries with one `webhook-id`, 410 disabling the endpoint, a 302 that
//! is not followed, a hanging receiver cut at the timeout, SSRF refusals, status callbacks, retry, replay and
//! test events, and a worker killed with SIGKILL mid-delivery.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use common::receiver::{Receiver, verify_with_reference};
use common::sms::*;
use common::*;
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

/// Loopback receivers are allowed, attempts come one second apart.
fn local_env(env: &mut TestEnv) {
    env.set("IRISX_WEBHOOKS__ALLOWLIST", "127.0.0.0/8");
    env.set("IRISX_WEBHOOKS__SCHEDULE_SECS", "1,1,1,1");
}

async fn start(profile: Profile, extra: &[(&str, &str)]) -> (TestEnv, Server, String) {
    let mut env = TestEnv::new(profile).await;
    local_env(&mut env);
    for (k, v) in extra {
        env.set(k, v);
    }
    boot_in(env).await
}

/// A tenant's owner token with a webhooks key; returns (owner token, key).
async fn webhook_tenant(api: &Api, staff: &str, tag: &str) -> (String, String) {
    let (_, owner) = api
        .tenant_with_owner(staff, &format!("Hooks {tag}"), &format!("owner@{tag}.test"))
        .await;
    let (_, key) = api.api_key(&owner, &["webhooks:manage", "events:read"]).await;
    (owner, key)
}

/// Registers an endpoint; returns (id, secret).
async fn endpoint(api: &Api, key: &str, url: &str, types: Value) -> (String, String) {
    let e = api
        .post(
            "/v1/webhooks",
            Auth::Key(key),
            json!({"url": url, "event_types": types}),
        )
        .await
        .expect(201);
    assert!(e["secret"].as_str().unwrap().starts_with("whsec_"));
    (
        e["id"].as_str().unwrap().to_owned(),
        e["secret"].as_str().unwrap().to_owned(),
    )
}

async fn attempts(api: &Api, key: &str, id: &str) -> Vec<Value> {
    let page = api
        .get(&format!("/v1/webhooks/{id}/attempts"), Auth::Key(key))
        .await
        .expect(200);
    page["data"].as_array().unwrap().clone()
}

async fn retried_then_delivered(profile: Profile) {
    let (env, server, staff) = start(profile, &[]).await;
    let api = server.api();
    let (_, key) = webhook_tenant(&api, &staff, "retry").await;
    let receiver = Receiver::start(Box::new(|n| ResponseTemplate::new(if n < 3 { 500 } else { 200 }))).await;
    let (id, secret) = endpoint(&api, &key, &receiver.url(), json!(["webhook.*"])).await;
    let test = api
        .post(&format!("/v1/webhooks/{id}/test"), Auth::Key(&key), json!({}))
        .await
        .expect(202);
    let got = receiver
        .wait_for(Duration::from_secs(20), "four attempts", |r| r.len() >= 4)
        .await;
    let ids: HashSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids, HashSet::from([test["event_id"].as_str().unwrap()]), "{profile:?}");
    for r in &got {
        assert!(
            verify_with_reference(&secret, r),
            "{profile:?}: attempt {} does not verify",
            r.nth
        );
        assert_eq!(r.json()["type"], "webhook.test");
    }
    let gaps: Vec<_> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(700)),
        "{profile:?}: retried too soon: {gaps:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = attempts(&api, &key, &id).await;
    let statuses: Vec<_> = log
        .iter()
        .rev()
        .map(|a| (a["attempt"].clone(), a["status_code"].clone()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (json!(1), json!(500)),
            (json!(2), json!(500)),
            (json!(3), json!(500)),
            (json!(4), json!(200))
        ]
    );
    assert!(
        log.iter()
            .all(|a| a["request_headers"]["webhook-signature"] == "v1,***"),
        "{log:?}"
    );
    assert_eq!(receiver.all().len(), 4, "{profile:?}: nothing after the 2xx");
    env.cleanup().await;
}

#[tokio::test]
async fn a_receiver_answering_500_three_times_then_200_gets_four_signed_attempts_with_one_webhook_id() {
    for profile in profiles("webhook retries") {
        retried_then_delivered(profile).await;
    }
}

async fn gone_disables(profile: Profile) {
    let (env, server, staff) = start(profile, &[]).await;
    let api = server.api();
    let (_, key) = webhook_tenant(&api, &staff, "gone").await;
    let gone = Receiver::start(Box::new(|_| ResponseTemplate::new(410))).await;
    let watcher = Receiver::ok().await;
    let (id, _) = endpoint(&api, &key, &gone.url(), json!(["*"])).await;
    endpoint(&api, &key, &watcher.url(), json!(["webhook.endpoint.*"])).await;
    api.post(&format!("/v1/webhooks/{id}/test"), Auth::Key(&key), json!({}))
        .await
        .expect(202);
    let seen = watcher
        .wait_for(Duration::from_secs(20), "the disabled event", |r| !r.is_empty())
        .await;
    let event = seen[0].json();
    assert_eq!(event["type"], "webhook.endpoint.disabled", "{profile:?}");
    assert_eq!(event["data"]["endpoint_id"], id.as_str());
    let e = api
        .get(&format!("/v1/webhooks/{id}"), Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(e["enabled"], false);
    assert!(e["disabled_reason"].as_str().unwrap().contains("410"), "{e}");
    assert_eq!(gone.all().len(), 1, "{profile:?}: a 410 is never retried");
    // Enabling it again clears the reason.
    let e = api
        .patch(&format!("/v1/webhooks/{id}"), Auth::Key(&key), json!({"enabled": true}))
        .await
        .expect(200);
    assert_eq!(
        (e["enabled"].clone(), e["disabled_reason"].clone()),
        (json!(true), Value::Null)
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_410_disables_the_endpoint_with_a_webhook_endpoint_disabled_event() {
    for profile in profiles("webhook 410") {
        gone_disables(profile).await;
    }
}

#[tokio::test]
async fn a_302_is_a_failure_and_its_redirect_is_never_followed() {
    let (env, server, staff) = start(Profile::Embedded, &[("IRISX_WEBHOOKS__SCHEDULE_SECS", "1")]).await;
    let api = server.api();
    let (_, key) = webhook_tenant(&api, &staff, "redirect").await;
    let target = Receiver::ok().await;
    let location = target.url();
    let redirect = Receiver::start(Box::new(move |_| {
        ResponseTemplate::new(302).insert_header("location", location.as_str())
    }))
    .await;
    let (id, _) = endpoint(&api, &key, &redirect.url(), json!(["*"])).await;
    api.post(&format!("/v1/webhooks/{id}/test"), Auth::Key(&key), json!({}))
        .await
        .expect(202);
    redirect
        .wait_for(Duration::from_secs(20), "two attempts", |r| r.len() >= 2)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(target.all().is_empty(), "the redirect was followed");
    let log = attempts(&api, &key, &id).await;
    assert!(
        log.iter().all(|a| a["status_code"] == 302 && a["result"] == "failed"),
        "{log:?}"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_hanging_receiver_is_cut_at_the_timeout() {
    let (env, server, staff) = start(Profile::Embedded, &[("IRISX_WEBHOOKS__TIMEOUT_SECS", "1")]).await;
    let api = server.api();
    let (_, key) = webhook_tenant(&api, &staff, "hang").await;
    let hang = Receiver::start(Box::new(|_| {
        ResponseTemplate::new(200).set_delay(Duration::from_secs(30))
    }))
    .await;
    let (id, _) = endpoint(&api, &key, &hang.url(), json!(["*"])).await;
    api.post(&format!("/v1/webhooks/{id}/test"), Auth::Key(&key), json!({}))
        .await
        .expect(202);
    let started = Instant::now();
    let log = loop {
        let log = attempts(&api, &key, &id).await;
        if !log.is_empty() {
            break log;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "no attempt was recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let a = &log[0];
    assert_eq!(
        (a["result"].clone(), a["status_code"].clone()),
        (json!("failed"), Value::Null),
        "{a}"
    );
    assert!(a["latency_ms"].as_i64().unwrap() < 3000, "{a}");
    assert!(a["error"].as_str().is_some_and(|e| !e.is_empty()), "{a}");
    env.cleanup().await;
}

#[tokio::test]
async fn internal_addresses_are_refused_at_registration_without_the_allowlist() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, key) = webhook_tenant(&api, &staff, "ssrf").await;
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    for url in [
        "http://127.0.0.1/hook".to_owned(),
        "http://10.0.0.1/hook".into(),
        "http://169.254.169.254/latest/meta-data".into(),
        "http://[::1]/hook".into(),
        format!("http://localhost:{port}/hook"),
    ] {
        let r = api.post("/v1/webhooks", Auth::Key(&key), json!({"url": url})).await;
        let body = world::expect_code(r, 422, "validation_failed", &url);
        assert_eq!(body["error"]["details"][0]["code"], "url_refused", "{url}: {body}");
    }
    let r = api
        .post("/v1/webhooks", Auth::Key(&key), json!({"url": "ftp://example.com/x"}))
        .await;
    world::expect_code(r, 422, "validation_failed", "ftp");
    let r = api
        .post(
            "/v1/webhooks",
            Auth::Key(&key),
            json!({"url": "https://example.com/x", "event_types": ["Message.*"]}),
        )
        .await;
    world::expect_code(r, 422, "validation_failed", "a bad pattern");
    env.cleanup().await;
}

async fn status_callbacks(profile: Profile) {
    let (env, server, staff) = start(profile, &[]).await;
    let api = server.api();
    let (_, _, key, _) = sms_tenant(&api, &staff, "callbacks", "+15550201000").await;
    let (_, owner) = (0, api.login("owner@callbacks.test", OWNER_PASSWORD).await);
    let (_, hooks_key) = api.api_key(&owner, &["webhooks:manage"]).await;
    let endpoint_rx = Receiver::ok().await;
    let callback_rx = Receiver::ok().await;
    let (_, secret) = endpoint(&api, &hooks_key, &endpoint_rx.url(), json!(["message.*"])).await;
    let cb_secret = api
        .get("/v1/webhooks/status-callback-secret", Auth::Key(&hooks_key))
        .await
        .expect(200)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let sent = api
        .post(
            "/v1/sms/send",
            Auth::Key(&key),
            json!({"to": "+14155550123", "from": "+15550201000", "body": "hooks", "status_callback": callback_rx.url()}),
        )
        .await
        .expect(202);
    let id = sent["id"].as_str().unwrap();
    wait_status(&api, &key, id, "delivered").await;
    let types = |rx: &[common::receiver::Received]| -> Vec<String> {
        rx.iter()
            .map(|r| r.json()["type"].as_str().unwrap().to_owned())
            .collect()
    };
    let want = |r: &[common::receiver::Received]| types(r).iter().any(|t| t == "message.delivered");
    let at_endpoint = endpoint_rx
        .wait_for(Duration::from_secs(20), "message.delivered", want)
        .await;
    let at_callback = callback_rx
        .wait_for(Duration::from_secs(20), "message.delivered", want)
        .await;
    for t in ["message.queued", "message.sent", "message.delivered"] {
        assert!(
            types(&at_endpoint).iter().any(|x| x == t),
            "{profile:?}: endpoint lacks {t}"
        );
        assert!(
            types(&at_callback).iter().any(|x| x == t),
            "{profile:?}: callback lacks {t}"
        );
    }
    assert!(at_endpoint.iter().all(|r| verify_with_reference(&secret, r)));
    assert!(at_callback.iter().all(|r| verify_with_reference(&cb_secret, r)));
    assert!(at_callback.iter().all(|r| r.json()["data"]["id"] == id));
    env.cleanup().await;
}

#[tokio::test]
async fn message_events_reach_matching_endpoints_and_the_messages_status_callback_signed() {
    for profile in profiles("status callbacks") {
        status_callbacks(profile).await;
    }
}

#[tokio::test]
async fn failed_deliveries_are_replayed_and_one_event_is_retried_on_request() {
    let (env, server, staff) = start(Profile::Embedded, &[("IRISX_WEBHOOKS__SCHEDULE_SECS", "1")]).await;
    let api = server.api();
    let (_, key) = webhook_tenant(&api, &staff, "replay").await;
    let flaky = Receiver::start(Box::new(|n| ResponseTemplate::new(if n < 4 { 503 } else { 200 }))).await;
    let (id, _) = endpoint(&api, &key, &flaky.url(), json!(["*"])).await;
    let since = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    let first = api
        .post(&format!("/v1/webhooks/{id}/test"), Auth::Key(&key), json!({}))
        .await
        .expect(202);
    api.post(&format!("/v1/webhooks/{id}/test"), Auth::Key(&key), json!({}))
        .await
        .expect(202);
    flaky
        .wait_for(Duration::from_secs(20), "both deliveries to fail twice", |r| {
            r.len() >= 4
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let since = since.format(&time::format_description::well_known::Rfc3339).unwrap();
    let replayed = api
        .post(
            &format!("/v1/webhooks/{id}/replay"),
            Auth::Key(&key),
            json!({"since": since}),
        )
        .await
        .expect(202);
    assert_eq!(replayed["queued"], 2);
    let got = flaky
        .wait_for(Duration::from_secs(20), "the replays", |r| r.len() >= 6)
        .await;
    assert_eq!(
        got[4..]
            .iter()
            .map(|r| r.header("webhook-id"))
            .collect::<HashSet<_>>()
            .len(),
        2
    );
    let retried = api
        .post(
            &format!("/v1/webhooks/{id}/retry"),
            Auth::Key(&key),
            json!({"event_id": first["event_id"]}),
        )
        .await
        .expect(202);
    assert_eq!(retried["queued"], 1);
    let got = flaky
        .wait_for(Duration::from_secs(20), "the retry", |r| r.len() >= 7)
        .await;
    assert_eq!(got[6].header("webhook-id"), first["event_id"].as_str().unwrap());
    let r = api
        .post(
            &format!("/v1/webhooks/{id}/retry"),
            Auth::Key(&key),
            json!({"event_id": "evt_0193b0c8a6f47d2e9a1c3b5d7e9f0a12"}),
        )
        .await;
    world::expect_code(r, 404, "not_found", "an unknown event");
    env.cleanup().await;
}

#[tokio::test]
async fn another_tenant_cannot_see_change_or_use_an_endpoint() {
    let (env, server, staff) = start(Profile::Embedded, &[]).await;
    let api = server.api();
    let (_, key_a) = webhook_tenant(&api, &staff, "owner-a").await;
    let (_, key_b) = webhook_tenant(&api, &staff, "owner-b").await;
    let rx = Receiver::ok().await;
    let (id, _) = endpoint(&api, &key_a, &rx.url(), json!(["*"])).await;
    for (m, path, body) in [
        (reqwest::Method::GET, format!("/v1/webhooks/{id}"), None),
        (
            reqwest::Method::PATCH,
            format!("/v1/webhooks/{id}"),
            Some(json!({"enabled": false})),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/webhooks/{id}/test"),
            Some(json!({})),
        ),
        (
            reqwest::Method::POST,
            format!("/v1/webhooks/{id}/rotate-secret"),
            Some(json!({})),
        ),
        (reqwest::Method::GET, format!("/v1/webhooks/{id}/attempts"), None),
        (reqwest::Method::DELETE, format!("/v1/webhooks/{id}"), None),
    ] {
        let r = world::send(&api, m.clone(), &path, Auth::Key(&key_b), body).await;
        world::expect_code(r, 404, "not_found", &format!("{m} {path}"));
    }
    assert!(
        api.get("/v1/webhooks", Auth::Key(&key_b)).await.expect(200)["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    api.get(&format!("/v1/webhooks/{id}"), Auth::Key(&key_a))
        .await
        .expect(200);
    env.cleanup().await;
}

async fn rotation(profile: Profile) {
    let (env, server, staff) = start(profile, &[]).await;
    let api = server.api();
    let (_, key) = webhook_tenant(&api, &staff, "rotate").await;
    let rx = Receiver::ok().await;
    let (id, old) = endpoint(&api, &key, &rx.url(), json!(["*"])).await;
    let new = api
        .post(&format!("/v1/webhooks/{id}/rotate-secret"), Auth::Key(&key), json!({}))
        .await
        .expect(200)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(old, new);
    api.post(&format!("/v1/webhooks/{id}/test"), Auth::Key(&key), json!({}))
        .await
        .expect(202);
    let got = rx
        .wait_for(Duration::from_secs(20), "the test event", |r| !r.is_empty())
        .await;
    assert_eq!(got[0].header("webhook-signature").split(' ').count(), 2, "{profile:?}");
    assert!(verify_with_reference(&old, &got[0]) && verify_with_reference(&new, &got[0]));
    env.cleanup().await;
}

#[tokio::test]
async fn after_a_rotation_both_the_old_and_the_new_secret_verify() {
    for profile in profiles("secret rotation") {
        rotation(profile).await;
    }
}

async fn survives_sigkill(profile: Profile) {
    let mut env = TestEnv::new(profile).await;
    local_env(&mut env);
    env.set("IRISX_QUEUE_ACK_WAIT_SECS", "2");
    env.set("IRISX_REPUBLISH_AFTER_SECS", "5");
    let (env, mut server, staff) = boot_in(env).await;
    let api = server.api();
    let (_, key) = webhook_tenant(&api, &staff, "crash").await;
    // Every answer takes a second, so attempts are in flight when the process dies.
    let slow = Receiver::start(Box::new(|_| {
        ResponseTemplate::new(200).set_delay(Duration::from_secs(1))
    }))
    .await;
    let (id, _) = endpoint(&api, &key, &slow.url(), json!(["*"])).await;
    let mut events = HashSet::new();
    for _ in 0..12 {
        let t = api
            .post(&format!("/v1/webhooks/{id}/test"), Auth::Key(&key), json!({}))
            .await
            .expect(202);
        events.insert(t["event_id"].as_str().unwrap().to_owned());
    }
    slow.wait_for(Duration::from_secs(20), "a first attempt", |r| !r.is_empty())
        .await;
    server.kill9().await;
    let before = slow.all().len();
    let server = env.serve(&[]).await;
    let got = slow
        .wait_for(Duration::from_secs(60), "every event", |r| {
            let seen: HashSet<String> = r.iter().map(|x| x.header("webhook-id").to_owned()).collect();
            events.iter().all(|e| seen.contains(e))
        })
        .await;
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &got {
        assert_eq!(
            r.header("webhook-id"),
            r.json()["id"].as_str().unwrap(),
            "a duplicate changed its id"
        );
        *per_id.entry(r.header("webhook-id").to_owned()).or_default() += 1;
    }
    let duplicates: usize = per_id.values().map(|n| n - 1).sum();
    eprintln!(
        "{profile:?}: {} requests for {} events, {before} before the kill, {duplicates} repeats",
        got.len(),
        events.len()
    );
    drop(server);
    env.cleanup().await;
}

#[tokio::test]
async fn a_webhook_worker_killed_mid_delivery_delivers_every_event_and_repeats_keep_their_webhook_id() {
    for profile in profiles("webhook crash") {
        survives_sigkill(profile).await;
    }
}
