//! Email fixtures: a tenant with an email sandbox account and a catch-all route; sandbox-signed tracking
//! events; waiting for an email's status.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Api, Auth, Resp};

/// The email sandbox's signing secret in these tests.
pub const SANDBOX_SECRET: &str = "email-sandbox-secret";

/// The scopes an email test key holds.
pub const EMAIL_SCOPES: &[&str] = &["email:send", "email:read", "usage:read", "events:read"];

/// Adds a platform email account of `kind` with these credentials (and API address) and a route for
/// `prefix` at `cost_micros` per recipient; returns the account id.
pub async fn email_account(
    api: &Api,
    staff: &str,
    kind: &str,
    credentials: Value,
    base_url: Option<&str>,
    route: (&str, i64),
) -> String {
    let mut body =
        json!({"kind": kind, "channel": "email", "name": format!("{kind} email"), "credentials": credentials});
    if let Some(b) = base_url {
        body["base_url"] = json!(b);
    }
    let account = api
        .post("/admin/providers", Auth::Bearer(staff), body)
        .await
        .expect(201);
    assert_eq!(account["channel"], "email");
    let id = account["id"].as_str().unwrap().to_owned();
    api.post(
        "/admin/routes",
        Auth::Bearer(staff),
        json!({"prefix": route.0, "account_id": id, "cost_micros": route.1}),
    )
    .await
    .expect(201);
    id
}

/// A tenant and a key with the email scopes; returns (tenant id, key).
pub async fn email_tenant(api: &Api, staff: &str, tag: &str) -> (String, String) {
    let (tenant, owner) = api
        .tenant_with_owner(staff, &format!("Email {tag}"), &format!("owner@{tag}.test"))
        .await;
    let (_, key) = api.api_key(&owner, EMAIL_SCOPES).await;
    (tenant, key)
}

/// A tenant with a platform email sandbox serving every domain at 1000 micro-units a recipient; returns
/// (tenant id, key, account id).
pub async fn sandbox_email_tenant(api: &Api, staff: &str, tag: &str) -> (String, String, String) {
    let account = email_account(
        api,
        staff,
        "sandbox",
        json!({"secret": SANDBOX_SECRET}),
        None,
        ("*", 1000),
    )
    .await;
    let (tenant, key) = email_tenant(api, staff, tag).await;
    (tenant, key, account)
}

/// Posts one sandbox tracking event for a message, signed with `secret`.
pub async fn post_event(api: &Api, account: &str, secret: &str, event: Value) -> Resp {
    let body = json!({"events": [event]}).to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let sig = irisx_providers::sms::sandbox::sign(secret, now, body.as_bytes());
    let headers = [
        ("content-type", "application/json"),
        ("x-irisx-sandbox-signature", sig.as_str()),
    ];
    api.raw(
        reqwest::Method::POST,
        &format!("/v1/callbacks/email/{account}/events"),
        Auth::None,
        &headers,
        Some(body.into_bytes()),
    )
    .await
}

/// A sandbox event of `kind` for one recipient of a message.
pub fn event(id: &str, message: &Value, recipient: &str, kind: &str) -> Value {
    json!({
        "id": id, "message_id": message["id"], "provider_message_id": message["provider_message_id"],
        "recipient": recipient, "event": kind, "url": "https://example.com/offer",
        "occurred_at": time::OffsetDateTime::now_utc().unix_timestamp(),
    })
}

/// Polls an email until it has status `want` (20 s at most) and returns it.
pub async fn wait_email(api: &Api, key: &str, id: &str, want: &str) -> Value {
    let started = Instant::now();
    loop {
        let m = api.get(&format!("/v1/email/{id}"), Auth::Key(key)).await.expect(200);
        if m["status"] == want {
            return m;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "email never became {want}: {m}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
