//! Email end to end on the real binary: API → outbox → worker → provider (the email sandbox, or a SendGrid
//! mock speaking its contract) → signed tracking events → delivery state, engagement, stats and suppressions.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::email::*;
use common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn hello(to: &str) -> serde_json::Value {
    json!({"from": "Acme <noreply@acme.example>", "to": [to], "subject": "Hello", "text": "Hi there",
           "html": "<p>Hi there</p>", "tags": ["welcome"], "headers": {"X-Campaign": "spring"},
           "attachments": [{"filename": "a.txt", "content_type": "text/plain", "content": "aGVsbG8="}]})
}

async fn delivered_end_to_end(profile: Profile) {
    let (env, server, staff) = boot(profile).await;
    let api = server.api();
    let (_, key, account) = sandbox_email_tenant(&api, &staff, "mail").await;
    let sent = api
        .post("/v1/email/send", Auth::Key(&key), hello("Ann@Example.com"))
        .await
        .expect(202);
    assert_eq!(sent["status"], "queued");
    assert_eq!(sent["to"], json!(["ann@example.com"]));
    let id = sent["id"].as_str().unwrap();
    let m = wait_email(&api, &key, id, "sent").await;
    assert_eq!(m["attempts"][0]["outcome"], "accepted");
    assert_eq!(m["attempts"][0]["provider"], "sandbox");
    assert!(m["provider_message_id"].as_str().unwrap().starts_with("SBE"));
    assert_eq!(m["price_micros"], 1200, "1000 per recipient plus the 20 % markup");
    assert_eq!(m["sender"]["name"], "Acme");
    assert_eq!(m["headers"]["X-Campaign"], "spring");
    assert_eq!(m["attachments"][0]["size"], 5);

    let delivered = event("ev1", &m, "ann@example.com", "delivered");
    let r = post_event(&api, &account, SANDBOX_SECRET, delivered.clone())
        .await
        .expect(200);
    assert_eq!(r["recorded"], 1);
    let again = post_event(&api, &account, SANDBOX_SECRET, delivered).await.expect(200);
    assert_eq!(
        (again["recorded"].as_u64(), again["ignored"].as_u64()),
        (Some(0), Some(1)),
        "a retried event counts once"
    );
    post_event(
        &api,
        &account,
        SANDBOX_SECRET,
        event("ev2", &m, "ann@example.com", "opened"),
    )
    .await
    .expect(200);
    post_event(
        &api,
        &account,
        SANDBOX_SECRET,
        event("ev3", &m, "ann@example.com", "clicked"),
    )
    .await
    .expect(200);

    let m = wait_email(&api, &key, id, "delivered").await;
    let mut types: Vec<&str> = m["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    types.reverse();
    assert_eq!(
        types,
        ["email.queued", "email.sent", "email.delivered"],
        "engagement never moves the delivery state"
    );
    let stats = api
        .get(&format!("/v1/email/stats?message_id={id}"), Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(stats["delivery"]["delivered"], 1);
    assert_eq!(stats["engagement"]["opened"], 1);
    assert_eq!(stats["engagement"]["clicked"], 1);
    let tenant_stats = api.get("/v1/email/stats", Auth::Key(&key)).await.expect(200);
    assert_eq!(tenant_stats["emails"], 1);
    let usage = api.get("/v1/usage?channel=email", Auth::Key(&key)).await.expect(200);
    assert_eq!(
        (usage["data"][0]["quantity"].as_i64(), usage["data"][0]["unit"].as_str()),
        (Some(1), Some("email"))
    );
    let listed = api
        .get("/v1/email?tag=welcome&status=delivered", Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(listed["data"][0]["id"], id);
    env.cleanup().await;
}

#[tokio::test]
async fn an_email_goes_from_the_api_through_the_worker_and_signed_events_to_delivered() {
    for p in profiles("email end to end") {
        delivered_end_to_end(p).await;
    }
}

#[tokio::test]
async fn a_forged_tracking_webhook_is_refused_and_changes_nothing() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, key, account) = sandbox_email_tenant(&api, &staff, "forged").await;
    let sent = api
        .post("/v1/email/send", Auth::Key(&key), hello("bob@example.com"))
        .await
        .expect(202);
    let m = wait_email(&api, &key, sent["id"].as_str().unwrap(), "sent").await;
    let forged = post_event(
        &api,
        &account,
        "not-the-secret",
        event("f1", &m, "bob@example.com", "bounced_hard"),
    )
    .await;
    assert_eq!(forged.expect(403)["error"]["code"], "forbidden");
    let unsigned = api
        .post(
            &format!("/v1/callbacks/email/{account}/events"),
            Auth::None,
            json!({"events": []}),
        )
        .await;
    unsigned.expect(403);
    let m = api
        .get(&format!("/v1/email/{}", m["id"].as_str().unwrap()), Auth::Key(&key))
        .await
        .expect(200);
    assert_eq!(m["status"], "sent");
    let s = api.get("/v1/email/suppressions", Auth::Key(&key)).await.expect(200);
    assert_eq!(s["data"], json!([]), "a forged bounce suppresses nothing");
    env.cleanup().await;
}

async fn bounce_suppresses(profile: Profile) {
    let (env, server, staff) = boot(profile).await;
    let api = server.api();
    let (_, key, account) = sandbox_email_tenant(&api, &staff, "bounce").await;
    let sent = api
        .post("/v1/email/send", Auth::Key(&key), hello("gone@example.com"))
        .await
        .expect(202);
    let m = wait_email(&api, &key, sent["id"].as_str().unwrap(), "sent").await;
    post_event(
        &api,
        &account,
        SANDBOX_SECRET,
        event("b1", &m, "gone@example.com", "bounced_hard"),
    )
    .await
    .expect(200);
    let m = wait_email(&api, &key, m["id"].as_str().unwrap(), "undelivered").await;
    assert_eq!(m["events"][0]["type"], "email.undelivered");
    let s = api.get("/v1/email/suppressions", Auth::Key(&key)).await.expect(200);
    assert_eq!(s["data"][0]["address"], "gone@example.com");
    assert_eq!(s["data"][0]["reason"], "hard_bounce");
    assert_eq!(s["data"][0]["message_id"], m["id"]);
    let refused = api
        .post("/v1/email/send", Auth::Key(&key), hello("Gone@Example.com"))
        .await
        .expect(422);
    assert_eq!(refused["error"]["details"][0]["code"], "suppressed");
    let all = api.get("/v1/email", Auth::Key(&key)).await.expect(200);
    assert_eq!(
        all["data"].as_array().unwrap().len(),
        1,
        "the refused send stored nothing and reached no provider"
    );
    api.delete("/v1/email/suppressions/gone@example.com", Auth::Key(&key))
        .await
        .expect(204);
    api.delete("/v1/email/suppressions/gone@example.com", Auth::Key(&key))
        .await
        .expect(404);
    api.post("/v1/email/send", Auth::Key(&key), hello("gone@example.com"))
        .await
        .expect(202);
    api.post(
        "/v1/email/suppressions",
        Auth::Key(&key),
        json!({"address": "Manual@Example.com"}),
    )
    .await
    .expect(201);
    let refused = api
        .post("/v1/email/send", Auth::Key(&key), hello("manual@example.com"))
        .await
        .expect(422);
    assert_eq!(refused["error"]["details"][0]["code"], "suppressed");
    env.cleanup().await;
}

#[tokio::test]
async fn a_hard_bounce_suppresses_the_recipient_and_the_next_send_is_refused_before_any_provider_call() {
    for p in profiles("email suppressions") {
        bounce_suppresses(p).await;
    }
}

#[tokio::test]
async fn the_route_for_the_recipients_domain_is_tried_first_and_fails_over_to_the_catch_all() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let sendgrid = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    Mock::given(method("POST"))
        .and(path("/v3/mail/send"))
        .respond_with(move |_: &wiremock::Request| {
            seen.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(503).set_body_json(json!({"errors": [{"message": "try later"}]}))
        })
        .mount(&sendgrid)
        .await;
    let creds = json!({"api_key": "SG.test"});
    email_account(
        &api,
        &staff,
        "sendgrid",
        creds,
        Some(&sendgrid.uri()),
        ("example.com", 100),
    )
    .await;
    email_account(
        &api,
        &staff,
        "sandbox",
        json!({"secret": SANDBOX_SECRET}),
        None,
        ("*", 900),
    )
    .await;
    let (_, key) = email_tenant(&api, &staff, "route").await;

    let other = api
        .post("/v1/email/send", Auth::Key(&key), hello("x@other.example"))
        .await
        .expect(202);
    let m = wait_email(&api, &key, other["id"].as_str().unwrap(), "sent").await;
    assert_eq!(
        m["attempts"][0]["provider"], "sandbox",
        "only the catch-all serves other domains"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    let sub = api
        .post("/v1/email/send", Auth::Key(&key), hello("y@mail.example.com"))
        .await
        .expect(202);
    let m = wait_email(&api, &key, sub["id"].as_str().unwrap(), "sent").await;
    let outcomes: Vec<(&str, &str)> = m["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["provider"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("sendgrid", "retryable"),
            ("sendgrid", "retryable"),
            ("sendgrid", "retryable"),
            ("sandbox", "accepted")
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(m["price_micros"], 1080, "billed at the route that sent it");
    env.cleanup().await;
}

#[tokio::test]
async fn a_send_with_bad_fields_is_refused_naming_each_one() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, key, _) = sandbox_email_tenant(&api, &staff, "bad").await;
    let bad = json!({"from": "nobody", "to": ["ok@example.com", "broken"], "subject": "",
                     "headers": {"Bcc": "x@example.com"},
                     "attachments": [{"filename": "run.exe", "content_type": "application/x-msdownload", "content": "TVo="}]});
    let r = api.post("/v1/email/send", Auth::Key(&key), bad).await.expect(422);
    let fields: Vec<&str> = r["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    for f in [
        "from",
        "to[1]",
        "subject",
        "text",
        "headers.Bcc",
        "attachments[0].filename",
    ] {
        assert!(fields.contains(&f), "{f} not named in {fields:?}");
    }
    let unknown = api
        .post(
            "/v1/email/send",
            Auth::Key(&key),
            json!({"from": "a@b.example", "to": ["c@d.example"], "sbject": "x"}),
        )
        .await
        .expect(422);
    assert_eq!(unknown["error"]["details"][0]["code"], "unknown_field");
    let many: Vec<String> = (0..51).map(|i| format!("r{i}@example.com")).collect();
    let r = api
        .post(
            "/v1/email/send",
            Auth::Key(&key),
            json!({"from": "a@b.example", "to": many, "subject": "x", "text": "y"}),
        )
        .await
        .expect(422);
    assert_eq!(r["error"]["details"][0]["code"], "too_many");
    env.cleanup().await;
}

#[tokio::test]
async fn a_scheduled_email_is_canceled_and_another_tenant_can_neither_read_nor_cancel_it() {
    let (env, server, staff) = boot(Profile::Embedded).await;
    let api = server.api();
    let (_, key, _) = sandbox_email_tenant(&api, &staff, "sched").await;
    let (_, other) = email_tenant(&api, &staff, "other").await;
    let later = (time::OffsetDateTime::now_utc() + time::Duration::hours(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let mut body = hello("later@example.com");
    body["send_at"] = json!(later);
    let sent = api.post("/v1/email/send", Auth::Key(&key), body).await.expect(202);
    let id = sent["id"].as_str().unwrap();
    api.get(&format!("/v1/email/{id}"), Auth::Key(&other)).await.expect(404);
    api.post(&format!("/v1/email/{id}/cancel"), Auth::Key(&other), json!({}))
        .await
        .expect(404);
    assert_eq!(
        api.get("/v1/email", Auth::Key(&other)).await.expect(200)["data"],
        json!([])
    );
    let canceled = api
        .post(&format!("/v1/email/{id}/cancel"), Auth::Key(&key), json!({}))
        .await
        .expect(200);
    assert_eq!(canceled["status"], "canceled");
    let m = api.get(&format!("/v1/email/{id}"), Auth::Key(&key)).await.expect(200);
    assert_eq!(m["events"][0]["type"], "email.canceled");
    api.post(&format!("/v1/email/{id}/cancel"), Auth::Key(&key), json!({}))
        .await
        .expect(409);
    env.cleanup().await;
}
