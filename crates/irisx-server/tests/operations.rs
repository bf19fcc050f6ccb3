//! Running IRISX: configuration errors, readiness, metrics, the OpenAPI document, sign-up switch, and a
//! graceful shutdown.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn a_bad_configuration_value_stops_start_up_with_an_error_naming_the_key() {
    let cases = [
        ("IRISX_LISTEN", "not-an-address", "listen"),
        ("IRISX_QUEUE_URL", "kafka://x", "IRISX_QUEUE_URL"),
        ("IRISX_DATABASE_URL", "mysql://x", "IRISX_DATABASE_URL"),
        ("IRISX_JWT_SECRET", "short", "IRISX_JWT_SECRET"),
        ("IRISX_BODY_LIMIT_BYTES", "lots", "body_limit_bytes"),
        ("IRISX_PLAN_KEY_LIMITS__FREE", "-5", "plan_key_limits"),
    ];
    for (key, value, named) in cases {
        let mut env = TestEnv::new(Profile::Embedded).await;
        env.set(key, value);
        let out = env.command(&["serve"]).output().await.expect("run irisx");
        assert!(!out.status.success(), "{key}={value} must be refused");
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(
            err.contains(&named.to_lowercase()),
            "the error for {key} names it: {err}"
        );
    }
}

#[tokio::test]
async fn an_unknown_irisx_variable_is_ignored_with_a_warning() {
    let mut env = TestEnv::new(Profile::Embedded).await;
    env.set("IRISX_URL", "http://example.test");
    let server = env.serve(&[]).await;
    server.api().get("/health", Auth::None).await.expect(200);
    server.wait_log("IRISX_URL", std::time::Duration::from_secs(5)).await;
}

#[tokio::test]
async fn an_in_memory_queue_refuses_to_split_roles() {
    let env = TestEnv::new(Profile::Embedded).await;
    let out = env
        .command(&["serve", "--role", "api"])
        .output()
        .await
        .expect("run irisx");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--role all"));
}

#[tokio::test]
async fn ready_checks_every_backend_and_metrics_report_requests_outbox_and_queue() {
    for p in profiles("readiness and metrics") {
        let (env, server, staff) = boot(p).await;
        let api = server.api();
        let ready = api.get("/ready", Auth::None).await.expect(200);
        assert_eq!(ready["checks"], json!({"database": "ok", "queue": "ok", "cache": "ok"}));
        api.get("/admin/auth/me", Auth::Bearer(&staff)).await.expect(200);
        let r = api.http.get(format!("{}/metrics", api.base)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        for needle in [
            "irisx_http_requests_total{method=\"GET\",route=\"/admin/auth/me\",status=\"200\"}",
            "irisx_http_request_duration_seconds_bucket",
            "irisx_outbox_unpublished",
            "irisx_outbox_lag_seconds",
            "irisx_queue_depth{subject=\"platform.maintenance\"}",
        ] {
            assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn the_committed_openapi_document_matches_the_handlers_and_is_served() {
    let env = TestEnv::new(Profile::Embedded).await;
    let out = env.command(&["openapi"]).output().await.expect("run irisx openapi");
    assert!(out.status.success());
    let generated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("openapi.json at the repository root")).unwrap();
    assert!(
        generated == committed,
        "openapi.json is out of date: run `cargo run -q -p irisx-server -- openapi > openapi.json` and commit it"
    );
    assert_eq!(generated["openapi"], "3.1.0");
    let server = env.serve(&[]).await;
    let served = server.api().get("/openapi.json", Auth::None).await.expect(200);
    assert_eq!(served, generated);
    let docs = server
        .api()
        .http
        .get(format!("{}/docs", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let page = docs.text().await.unwrap();
    assert!(
        page.contains("IRISX API reference") && page.contains("\"title\":\"IRISX API\""),
        "the docs page embeds the document"
    );
}

#[tokio::test]
async fn signup_creates_a_tenant_and_can_be_switched_off() {
    let env = TestEnv::new(Profile::Embedded).await;
    let server = env.serve(&[]).await;
    let api = server.api();
    let body = json!({"company": "Self Serve", "name": "Sam", "email": "sam@self.test", "password": "Sam-Passw0rd!"});
    let out = api.post("/v1/auth/signup", Auth::None, body.clone()).await.expect(201);
    assert_eq!(out["user"]["role"], "owner");
    assert_eq!(out["tenant"]["plan"], "free");
    api.get("/v1/auth/me", Auth::Bearer(out["token"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(
        api.post("/v1/auth/signup", Auth::None, body).await.expect(409)["error"]["code"],
        "conflict"
    );

    let mut closed = TestEnv::new(Profile::Embedded).await;
    closed.set("IRISX_SIGNUP_ENABLED", "false");
    let server = closed.serve(&[]).await;
    let body = json!({"company": "Nope", "name": "N", "email": "n@nope.test", "password": "Nope-Passw0rd!"});
    assert_eq!(
        server.api().post("/v1/auth/signup", Auth::None, body).await.expect(403)["error"]["code"],
        "forbidden"
    );
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly() {
    let env = TestEnv::new(Profile::Embedded).await;
    let mut server = env.serve(&[]).await;
    server.api().get("/health", Auth::None).await.expect(200);
    let status = server.terminate().await;
    assert!(status.success(), "exit status {status}");
    assert!(server.stderr.lock().unwrap().contains("shutting down"));
}
