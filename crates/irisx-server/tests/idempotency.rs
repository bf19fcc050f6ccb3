//! `Idempotency-Key` on creates: twenty identical requests at once create one resource; another body is 422.

mod common;

use common::*;
use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

async fn twenty_at_once(profile: Profile) {
    let (env, server, staff) = boot(profile).await;
    let api = server.api();
    let (_, owner) = api.tenant_with_owner(&staff, "Idem", "owner@idem.test").await;
    let body = serde_json::to_vec(&json!({"name": "once", "scopes": ["sms:send"]})).unwrap();
    let headers = [
        ("content-type", "application/json"),
        ("idempotency-key", "create-key-once"),
    ];
    let calls = (0..20).map(|_| {
        api.raw(
            Method::POST,
            "/v1/api-keys",
            Auth::Bearer(&owner),
            &headers,
            Some(body.clone()),
        )
    });
    let responses = join_all(calls).await;
    let mut ids: Vec<String> = responses
        .into_iter()
        .map(|r| r.expect(201)["id"].as_str().expect("id").to_owned())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "every response names the same key: {ids:?}");
    let listed = api.get("/v1/api-keys", Auth::Bearer(&owner)).await.expect(200);
    let named_once = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["name"] == "once")
        .count();
    assert_eq!(named_once, 1, "one key was created");

    let replay = api
        .raw(Method::POST, "/v1/api-keys", Auth::Bearer(&owner), &headers, Some(body))
        .await;
    assert_eq!(
        replay.headers.get("idempotent-replayed").map(|v| v.to_str().unwrap()),
        Some("true")
    );
    assert_eq!(replay.expect(201)["id"], ids[0].as_str());

    let other = serde_json::to_vec(&json!({"name": "twice", "scopes": ["sms:send"]})).unwrap();
    let err = api
        .raw(
            Method::POST,
            "/v1/api-keys",
            Auth::Bearer(&owner),
            &headers,
            Some(other),
        )
        .await
        .expect(422);
    assert_eq!(err["error"]["code"], "idempotency_key_reused");

    // Keys are per tenant: another tenant may use the same key text for its own request.
    let (_, other_owner) = api.tenant_with_owner(&staff, "Idem 2", "owner@idem2.test").await;
    let body = serde_json::to_vec(&json!({"name": "once", "scopes": ["sms:send"]})).unwrap();
    let theirs = api
        .raw(
            Method::POST,
            "/v1/api-keys",
            Auth::Bearer(&other_owner),
            &headers,
            Some(body),
        )
        .await
        .expect(201);
    assert_ne!(theirs["id"], ids[0].as_str());
    env.cleanup().await;
}

#[tokio::test]
async fn the_same_idempotency_key_sent_twenty_times_at_once_creates_one_resource() {
    for p in profiles("the idempotency test") {
        twenty_at_once(p).await;
    }
}
