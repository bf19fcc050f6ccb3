//! SMS end to end on the real binary: API → outbox → worker → provider → signed receipt → `delivered`, with
//! the sandbox provider posting its receipts back to IRISX; opt-out keywords; numbers a tenant does not hold.

mod common;

use std::time::Duration;

use common::sms::*;
use common::*;
use serde_json::json;

async fn delivered_end_to_end(profile: Profile) {
    let (env, server, staff) = boot(profile).await;
    let api = server.api();
    let (_, _, key, _) = sms_tenant(&api, &staff, "e2e", "+15550001000").await;
    let sent = api
        .post(
            "/v1/sms/send",
            Auth::Key(&key),
            json!({"to": "+14155550123", "from": "+15550001000", "body": "Hello 👋 from IRISX", "tags": ["welcome"]}),
        )
        .await
        .expect(202);
    assert_eq!(sent["status"], "queued");
    assert_eq!(sent["encoding"], "ucs2");
    assert_eq!(sent["segments"], 1);
    let id = sent["id"].as_str().unwrap();
    let m = wait_status(&api, &key, id, "delivered").await;
    assert_eq!(m["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(m["attempts"][0]["outcome"], "accepted");
    assert_eq!(m["attempts"][0]["provider"], "sandbox");
    assert!(m["provider_message_id"].as_str().unwrap().starts_with("SB"));
    assert_eq!(m["price_micros"], 6000, "5000 cost per segment plus the 20 % markup");
    let history: Vec<&str> = m["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert!(history.ends_with(&["delivered"]), "{history:?}");
    let events = api
        .get(&format!("/v1/events?resource_id={id}"), Auth::Key(&key))
        .await
        .expect(200);
    let mut types: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    types.reverse();
    assert_eq!(types.first(), Some(&"message.queued"));
    assert_eq!(types.last(), Some(&"message.delivered"));
    let usage = api.get("/v1/usage?channel=sms", Auth::Key(&key)).await.expect(200);
    assert_eq!(usage["data"][0]["quantity"], 1);
    assert_eq!(usage["data"][0]["price_micros"], 6000);
    let listed = api
        .get("/v1/sms?tag=welcome&status=delivered", Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(listed["data"][0]["id"], id);
    env.cleanup().await;
}

#[tokio::test]
async fn a_message_goes_from_the_api_through_the_worker_and_a_signed_receipt_to_delivered() {
    for p in profiles("SMS end to end") {
        delivered_end_to_end(p).await;
    }
}

#[tokio::test]
async fn a_permanent_refusal_fails_at_once_with_the_providers_code() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, _, key, _) = sms_tenant(&api, &staff, "refused", "+15550002000").await;
    let sent = api
        .post(
            "/v1/sms/send",
            Auth::Key(&key),
            json!({"to": "+15005550001", "from": "+15550002000", "body": "x"}),
        )
        .await
        .expect(202);
    let m = wait_status(&api, &key, sent["id"].as_str().unwrap(), "failed").await;
    assert_eq!(m["error_code"], "21211");
    assert_eq!(
        m["attempts"].as_array().unwrap().len(),
        1,
        "a permanent refusal is never retried"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn stop_opts_out_start_opts_in_and_please_stop_does_nothing() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, _, key, account) = sms_tenant(&api, &staff, "optout", "+15550003000").await;
    let inbound = |body: &str| {
        let payload =
            json!({"id": format!("SBin{}", body.len()), "from": "+14155550199", "to": "+15550003000", "body": body})
                .to_string();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let sig = irisx_providers::sms::sandbox::sign("sandbox-secret", now, payload.as_bytes());
        (payload, sig)
    };
    let post_inbound = |payload: String, sig: String| {
        let api = api.clone();
        let account = account.clone();
        async move {
            let headers = [
                ("content-type", "application/json"),
                ("x-irisx-sandbox-signature", sig.as_str()),
            ];
            api.raw(
                reqwest::Method::POST,
                &format!("/v1/callbacks/sms/{account}/inbound"),
                Auth::None,
                &headers,
                Some(payload.into_bytes()),
            )
            .await
        }
    };
    let send = json!({"to": "+14155550199", "from": "+15550003000", "body": "hi"});
    let (p, s) = inbound("please stop");
    assert_eq!(post_inbound(p, s).await.status, 200);
    api.post("/v1/sms/send", Auth::Key(&key), send.clone())
        .await
        .expect(202);
    let (p, s) = inbound("  Stop ");
    assert_eq!(post_inbound(p, s).await.status, 200);
    let refused = api
        .post("/v1/sms/send", Auth::Key(&key), send.clone())
        .await
        .expect(422);
    assert_eq!(refused["error"]["details"][0]["code"], "opted_out");
    let (p, s) = inbound("START");
    assert_eq!(post_inbound(p, s).await.status, 200);
    api.post("/v1/sms/send", Auth::Key(&key), send.clone())
        .await
        .expect(202);
    let (p, _) = inbound("STOP");
    let forged = irisx_providers::sms::sandbox::sign(
        "wrong-secret",
        time::OffsetDateTime::now_utc().unix_timestamp(),
        p.as_bytes(),
    );
    assert_eq!(
        post_inbound(p, forged).await.status,
        403,
        "a forged inbound callback is refused"
    );
    api.post("/v1/sms/send", Auth::Key(&key), send).await.expect(202);
    let (p, s) = inbound("Help");
    assert_eq!(post_inbound(p, s).await.status, 200);
    let replies = api
        .get("/v1/sms?to=%2B14155550199&from=%2B15550003000", Auth::Key(&key))
        .await
        .expect(200);
    let help = replies["data"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["body"].as_str().unwrap_or("").contains("Reply STOP"));
    assert!(help, "HELP is answered with the number's help text: {replies}");
    let received = api
        .get("/v1/sms?from=%2B14155550199", Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(
        received["data"].as_array().unwrap().len(),
        4,
        "every verified inbound message is stored, the forged one is not"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_from_number_the_tenant_does_not_hold_is_refused() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, _, key, _) = sms_tenant(&api, &staff, "mine", "+15550004000").await;
    sms_tenant(&api, &staff, "theirs", "+15550005000").await;
    for from in ["+15550005000", "+15550009999"] {
        let r = api
            .post(
                "/v1/sms/send",
                Auth::Key(&key),
                json!({"to": "+14155550123", "from": from, "body": "x"}),
            )
            .await;
        assert_eq!(
            r.expect(422)["error"]["details"][0]["code"],
            "number_not_held",
            "{from}"
        );
    }
    env.cleanup().await;
}

#[tokio::test]
async fn a_scheduled_message_waits_and_can_be_canceled_once() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, _, key, _) = sms_tenant(&api, &staff, "later", "+15550006000").await;
    let at = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let body = json!({"to": "+14155550123", "from": "+15550006000", "body": "later", "send_at": at});
    let sent = api.post("/v1/sms/send", Auth::Key(&key), body).await.expect(202);
    let id = sent["id"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = api.get(&format!("/v1/sms/{id}"), Auth::Key(&key)).await.expect(200);
    assert_eq!(m["status"], "queued", "nothing is sent before send_at");
    assert!(m["attempts"].as_array().unwrap().is_empty());
    let canceled = api
        .post(&format!("/v1/sms/{id}/cancel"), Auth::Key(&key), json!({}))
        .await
        .expect(200);
    assert_eq!(canceled["status"], "canceled");
    assert_eq!(
        api.post(&format!("/v1/sms/{id}/cancel"), Auth::Key(&key), json!({}))
            .await
            .expect(409)["error"]["code"],
        "conflict"
    );
    let past = json!({"to": "+14155550123", "from": "+15550006000", "body": "x", "send_at": "2020-01-01T00:00:00Z"});
    let r = api.post("/v1/sms/send", Auth::Key(&key), past).await.expect(422);
    assert_eq!(r["error"]["details"][0]["field"], "send_at");
    env.cleanup().await;
}

#[tokio::test]
async fn a_late_receipt_is_kept_in_the_history_but_never_moves_a_message_backwards() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, _, key, account) = sms_tenant(&api, &staff, "late", "+15550007000").await;
    let sent = api
        .post(
            "/v1/sms/send",
            Auth::Key(&key),
            json!({"to": "+14155550123", "from": "+15550007000", "body": "x"}),
        )
        .await
        .expect(202);
    let id = sent["id"].as_str().unwrap();
    let m = wait_status(&api, &key, id, "delivered").await;
    let receipt =
        json!({"message_id": m["provider_message_id"], "status": "sent", "error_code": null, "occurred_at": 1})
            .to_string();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let post = |sig: String, body: String| {
        let (api, account) = (api.clone(), account.clone());
        async move {
            let headers = [
                ("content-type", "application/json"),
                ("x-irisx-sandbox-signature", sig.as_str()),
            ];
            api.raw(
                reqwest::Method::POST,
                &format!("/v1/callbacks/sms/{account}/status"),
                Auth::None,
                &headers,
                Some(body.into_bytes()),
            )
            .await
        }
    };
    let stale = irisx_providers::sms::sandbox::sign("sandbox-secret", now - 3600, receipt.as_bytes());
    assert_eq!(
        post(stale, receipt.clone()).await.expect(403)["error"]["code"],
        "forbidden",
        "a stale receipt is refused"
    );
    let good = irisx_providers::sms::sandbox::sign("sandbox-secret", now, receipt.as_bytes());
    assert_eq!(post(good, receipt).await.status, 200);
    let after = api.get(&format!("/v1/sms/{id}"), Auth::Key(&key)).await.expect(200);
    assert_eq!(after["status"], "delivered");
    let history = after["status_history"].as_array().unwrap();
    let ours = history
        .iter()
        .find(|h| h["raw"]["occurred_at"] == 1)
        .expect("the late receipt is in the history");
    assert_eq!(
        (ours["status"].as_str(), ours["applied"].as_bool()),
        (Some("sent"), Some(false)),
        "{ours}"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn the_price_is_the_route_cost_plus_the_markup_of_the_tenants_plan() {
    let mut env = TestEnv::new(Profile::Embedded).await;
    env.set("IRISX_PLAN_MARKUP_PERCENT__ENTERPRISE", "5");
    let (env, server, staff) = boot_in(env).await;
    let api = server.api();
    let (tenant, _, key, _) = sms_tenant(&api, &staff, "priced", "+15550008000").await;
    api.patch(
        &format!("/admin/tenants/{tenant}"),
        Auth::Bearer(&staff),
        json!({"plan": "enterprise"}),
    )
    .await
    .expect(200);
    // Two GSM-7 segments at 5000 each, plus 5 %.
    let body = "x".repeat(200);
    let sent = api
        .post(
            "/v1/sms/send",
            Auth::Key(&key),
            json!({"to": "+14155550123", "from": "+15550008000", "body": body}),
        )
        .await
        .expect(202);
    assert_eq!(sent["segments"], 2);
    let m = wait_status(&api, &key, sent["id"].as_str().unwrap(), "delivered").await;
    assert_eq!(m["price_micros"], 10_500);
    env.cleanup().await;
}

#[tokio::test]
async fn a_sender_pool_sends_from_its_numbers_and_keeps_one_number_per_recipient() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (tenant, owner, key, account) = sms_tenant(&api, &staff, "pooled", "+15550009000").await;
    api.post(
        "/admin/phone-numbers",
        Auth::Bearer(&staff),
        json!({"number": "+15550009001", "account_id": account, "tenant_id": tenant, "sender_type": "short_code"}),
    )
    .await
    .expect(201);
    let numbers = api.get("/v1/phone-numbers", Auth::Bearer(&owner)).await.expect(200);
    for n in numbers["data"].as_array().unwrap() {
        let id = n["id"].as_str().unwrap();
        let patched = api
            .patch(
                &format!("/v1/phone-numbers/{id}"),
                Auth::Bearer(&owner),
                json!({"pool": "main"}),
            )
            .await
            .expect(200);
        assert_eq!(patched["pool"], "main");
    }
    let send = |to: &'static str| {
        let (api, key) = (&api, &key);
        async move {
            api.post(
                "/v1/sms/send",
                Auth::Key(key),
                json!({"to": to, "sender_pool": "main", "body": "pooled"}),
            )
            .await
            .expect(202)["from"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let mut used = std::collections::HashSet::new();
    for to in [
        "+14155550101",
        "+14155550102",
        "+14155550103",
        "+14155550104",
        "+14155550105",
        "+14155550106",
    ] {
        let first = send(to).await;
        assert_eq!(send(to).await, first, "a recipient keeps its number");
        assert!(["+15550009000", "+15550009001"].contains(&first.as_str()), "{first}");
        used.insert(first);
    }
    assert_eq!(used.len(), 2, "six recipients spread over both numbers: {used:?}");
    let both = api
        .post(
            "/v1/sms/send",
            Auth::Key(&key),
            json!({"to": "+14155550101", "from": "+15550009000", "sender_pool": "main", "body": "x"}),
        )
        .await;
    let body = world::expect_code(both, 422, "validation_failed", "from and sender_pool");
    assert_eq!(body["error"]["details"][0]["field"], "sender_pool");
    let empty = api
        .post(
            "/v1/sms/send",
            Auth::Key(&key),
            json!({"to": "+14155550101", "sender_pool": "none", "body": "x"}),
        )
        .await;
    let body = world::expect_code(empty, 422, "validation_failed", "an empty pool");
    assert_eq!(body["error"]["details"][0]["code"], "empty_pool");
    env.cleanup().await;
}
