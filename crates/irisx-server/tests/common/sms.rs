//! SMS fixtures: a tenant with a sandbox provider, a catch-all route and a number; waiting for a status.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Api, Auth};

/// The sandbox settings most tests use: receipts 20 ms apart, sends answered at once.
pub fn sandbox_credentials() -> Value {
    json!({"secret": "sandbox-secret", "receipt_delay_ms": 20})
}

/// A tenant with a platform sandbox account (these credentials), a catch-all route and a number of this
/// sender type; returns (tenant id, owner token, key, account id).
pub async fn sms_tenant_with(
    api: &Api,
    staff: &str,
    tag: &str,
    number: &str,
    sender_type: &str,
    credentials: Value,
) -> (String, String, String, String) {
    let (tenant, owner) = api
        .tenant_with_owner(staff, &format!("SMS {tag}"), &format!("owner@{tag}.test"))
        .await;
    let account = api
        .post(
            "/admin/providers",
            Auth::Bearer(staff),
            json!({"kind": "sandbox", "name": format!("sandbox {tag}"), "credentials": credentials}),
        )
        .await
        .expect(201);
    let account_id = account["id"].as_str().unwrap().to_owned();
    api.post(
        "/admin/routes",
        Auth::Bearer(staff),
        json!({"prefix": "+", "account_id": account_id, "cost_micros": 5000}),
    )
    .await
    .expect(201);
    api.post(
        "/admin/phone-numbers",
        Auth::Bearer(staff),
        json!({"number": number, "account_id": account_id, "tenant_id": tenant, "sender_type": sender_type}),
    )
    .await
    .expect(201);
    let (_, key) = api
        .api_key(&owner, &["sms:send", "sms:read", "usage:read", "events:read"])
        .await;
    (tenant, owner, key, account_id)
}

/// A tenant with a short code on the default sandbox.
pub async fn sms_tenant(api: &Api, staff: &str, tag: &str, number: &str) -> (String, String, String, String) {
    sms_tenant_with(api, staff, tag, number, "short_code", sandbox_credentials()).await
}

/// Polls a message until it has status `want` (20 s at most) and returns it.
pub async fn wait_status(api: &Api, key: &str, id: &str, want: &str) -> Value {
    let started = Instant::now();
    loop {
        let m = api.get(&format!("/v1/sms/{id}"), Auth::Key(key)).await.expect(200);
        if m["status"] == want {
            return m;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "message never became {want}: {m}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
