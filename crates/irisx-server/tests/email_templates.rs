//! Email templates end to end on the real binary: create (a syntax error is 422 naming the part and line),
//! preview with sample variables (HTML auto-escaped, a text part derived), send with a template, change,
//! delete, and another tenant's templates out of reach.

mod common;

use common::email::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn a_template_is_checked_previewed_sent_changed_and_deleted_and_stays_its_tenants() {
    for p in profiles("email templates") {
        template_lifecycle(p).await;
    }
}

async fn template_lifecycle(profile: Profile) {
    let (env, server, staff) = boot(profile).await;
    let api = server.api();
    let (_, key, _) = sandbox_email_tenant(&api, &staff, "tpl").await;
    let (_, other) = email_tenant(&api, &staff, "tpl-other").await;

    let broken = json!({"name": "broken", "subject": "Hi", "html": "<p>\n{% if name %}\nno end"});
    let r = api
        .post("/v1/email/templates", Auth::Key(&key), broken)
        .await
        .expect(422);
    let d = &r["error"]["details"][0];
    assert_eq!(
        (d["field"].as_str(), d["code"].as_str()),
        (Some("html"), Some("template_error"))
    );
    assert!(d["message"].as_str().unwrap().contains("line"), "{d}");

    let welcome = json!({"name": "welcome", "subject": "Welcome, {{ name }}",
        "html": "<h1>Hi {{ name }}</h1><p>Your code: {{ code }}</p>"});
    let t = api
        .post("/v1/email/templates", Auth::Key(&key), welcome.clone())
        .await
        .expect(201);
    let id = t["id"].as_str().unwrap();
    assert!(id.starts_with("tpl_"));
    api.post("/v1/email/templates", Auth::Key(&key), welcome)
        .await
        .expect(409);

    let sample = json!({"variables": {"name": "<Ann & Co>", "code": 42}});
    let p = api
        .post(
            &format!("/v1/email/templates/{id}/preview"),
            Auth::Key(&key),
            sample.clone(),
        )
        .await
        .expect(200);
    assert_eq!(p["subject"], "Welcome, <Ann & Co>");
    assert_eq!(p["html"], "<h1>Hi &lt;Ann &amp; Co&gt;</h1><p>Your code: 42</p>");
    assert_eq!(p["text"], "Hi <Ann & Co>\nYour code: 42");
    let missing = api
        .post(
            &format!("/v1/email/templates/{id}/preview"),
            Auth::Key(&key),
            json!({"variables": {"name": "Ann"}}),
        )
        .await
        .expect(422);
    assert_eq!(missing["error"]["details"][0]["field"], "template.html");

    let send = json!({"from": "noreply@acme.example", "to": ["ann@example.com"], "template_id": id,
                      "variables": {"name": "Ann", "code": 7}});
    let sent = api
        .post("/v1/email/send", Auth::Key(&key), send.clone())
        .await
        .expect(202);
    assert_eq!(sent["subject"], "Welcome, Ann");
    let m = wait_email(&api, &key, sent["id"].as_str().unwrap(), "sent").await;
    assert_eq!(m["html"], "<h1>Hi Ann</h1><p>Your code: 7</p>");
    assert_eq!(m["text"], "Hi Ann\nYour code: 7");
    let mut both = send.clone();
    both["subject"] = json!("mine");
    let r = api.post("/v1/email/send", Auth::Key(&key), both).await.expect(422);
    assert_eq!(r["error"]["details"][0]["code"], "conflicting_content");

    api.get(&format!("/v1/email/templates/{id}"), Auth::Key(&other))
        .await
        .expect(404);
    api.post(&format!("/v1/email/templates/{id}/preview"), Auth::Key(&other), sample)
        .await
        .expect(404);
    let theirs = api.post("/v1/email/send", Auth::Key(&other), send).await.expect(422);
    assert_eq!(theirs["error"]["details"][0]["field"], "template_id");
    assert_eq!(
        api.get("/v1/email/templates", Auth::Key(&other)).await.expect(200)["data"],
        json!([])
    );

    let changed = api
        .patch(
            &format!("/v1/email/templates/{id}"),
            Auth::Key(&key),
            json!({"text": "Hi {{ name }}"}),
        )
        .await
        .expect(200);
    assert_eq!(
        (changed["name"].as_str(), changed["text"].as_str()),
        (Some("welcome"), Some("Hi {{ name }}"))
    );
    api.delete(&format!("/v1/email/templates/{id}"), Auth::Key(&other))
        .await
        .expect(404);
    api.delete(&format!("/v1/email/templates/{id}"), Auth::Key(&key))
        .await
        .expect(204);
    api.get(&format!("/v1/email/templates/{id}"), Auth::Key(&key))
        .await
        .expect(404);
    env.cleanup().await;
}
