//! Pacing and fairness on the real binary: a sender's and a provider account's messages per second, kept by
//! reserving one slot per message; and one tenant's burst never queues ahead of another tenant's message,
//! because the relay keeps a bounded window in flight and takes the backlog round-robin across tenants.

mod common;

use std::time::{Duration, Instant};

use common::sms::*;
use common::*;
use futures::StreamExt;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// When a message's one attempt started.
fn attempt_started(m: &Value) -> OffsetDateTime {
    let attempts = m["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "a paced message is sent once, not retried: {m}");
    OffsetDateTime::parse(attempts[0]["started_at"].as_str().unwrap(), &Rfc3339).unwrap()
}

async fn send(api: &Api, key: &str, from: &str, body: String) -> String {
    let sent = api
        .post(
            "/v1/sms/send",
            Auth::Key(key),
            json!({"to": "+14155550123", "from": from, "body": body}),
        )
        .await
        .expect(202);
    sent["id"].as_str().unwrap().to_owned()
}

/// Sends five messages from one sender and returns when each attempt started, in milliseconds after the first.
async fn paced_starts(profile: Profile, vars: &[(&str, &str)], sender_type: &str) -> Vec<i128> {
    let mut env = TestEnv::new(profile).await;
    for (k, v) in vars {
        env.set(k, v);
    }
    let (env, server, staff) = boot_in(env).await;
    let api = server.api();
    let from = "+15550103000";
    let (_, _, key, _) = sms_tenant_with(&api, &staff, "paced", from, sender_type, sandbox_credentials()).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(send(&api, &key, from, format!("paced {i}")).await);
    }
    let mut starts = Vec::new();
    for id in &ids {
        starts.push(attempt_started(&wait_status(&api, &key, id, "delivered").await));
    }
    starts.sort();
    env.cleanup().await;
    starts.iter().map(|t| (*t - starts[0]).whole_milliseconds()).collect()
}

/// At two a second, the first two go at once (a burst of the rate), then one each 500 ms: the k-th attempt
/// starts no earlier than (k - 1) × 500 ms after the first. A slot may be taken late, never early.
fn assert_two_a_second(profile: Profile, starts: &[i128]) {
    for (k, at) in starts.iter().enumerate().skip(1) {
        let earliest = (k as i128 - 1) * 500 - 30;
        assert!(
            *at >= earliest,
            "{profile:?}: attempt {k} started at {at} ms, before {earliest} ms: {starts:?}"
        );
    }
}

#[tokio::test]
async fn a_long_code_sends_at_its_pace_and_each_message_is_sent_once() {
    for profile in profiles("long code pace") {
        let starts = paced_starts(profile, &[("IRISX_SMS_PACE__LONG_CODE", "2")], "long_code").await;
        assert_two_a_second(profile, &starts);
    }
}

#[tokio::test]
async fn a_provider_account_is_paced_across_all_its_senders() {
    for profile in profiles("provider pace") {
        let starts = paced_starts(profile, &[("IRISX_SMS_PACE__PER_PROVIDER", "2")], "short_code").await;
        assert_two_a_second(profile, &starts);
    }
}

/// Tenant A accepts a burst; tenant B then sends one message. B's message goes out within the relay's
/// window, while most of A's burst is still waiting.
async fn burst_does_not_starve(profile: Profile) {
    let mut env = TestEnv::new(profile).await;
    for (k, v) in [
        ("IRISX_RELAY_MAX_IN_FLIGHT", "16"),
        ("IRISX_WORKER_BATCH", "4"),
        ("IRISX_SMS_PACE__SHORT_CODE", "100000"),
        ("IRISX_SMS_PACE__PER_PROVIDER", "100000"),
        ("IRISX_PLAN_KEY_LIMITS__FREE", "100000"),
        ("IRISX_PLAN_TENANT_LIMITS__FREE", "100000"),
    ] {
        env.set(k, v);
    }
    let (env, server, staff) = boot_in(env).await;
    let api = server.api();
    // A provider that takes 40 ms a send: with batches of 4, the worker sends about 100 a second.
    let slow = json!({"secret": "sandbox-secret", "receipt_delay_ms": 20, "send_delay_ms": 40});
    let (_, _, key_a, _) = sms_tenant_with(&api, &staff, "bursty", "+15550104000", "short_code", slow.clone()).await;
    let (_, _, key_b, _) = sms_tenant_with(&api, &staff, "quiet", "+15550105000", "short_code", slow).await;
    let burst: Vec<String> = futures::stream::iter(0..400)
        .map(|i| {
            let (api, key) = (&api, &key_a);
            async move { send(api, key, "+15550104000", format!("burst {i}")).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let accepted = Instant::now();
    let quiet = send(&api, &key_b, "+15550105000", "quiet one".into()).await;
    let b = wait_status(&api, &key_b, &quiet, "delivered").await;
    let waited = accepted.elapsed();
    let b_started = attempt_started(&b);
    let mut after_b = 0;
    for id in &burst {
        let m = wait_status(&api, &key_a, id, "delivered").await;
        after_b += usize::from(attempt_started(&m) > b_started);
    }
    assert!(
        after_b >= 100,
        "{profile:?}: the burst should still be waiting when B goes out, but only {after_b} of A's went after it"
    );
    assert!(
        waited < Duration::from_secs(3),
        "{profile:?}: B waited {waited:?} behind A's burst ({after_b} of A's went after it)"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn one_tenants_burst_does_not_delay_another_tenants_message() {
    for profile in profiles("fairness") {
        burst_does_not_starve(profile).await;
    }
}
