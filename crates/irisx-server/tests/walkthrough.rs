//! The README's first-call walkthrough, verbatim, on every profile; and the start-up time on an empty directory.

mod common;

use common::*;
use serde_json::json;

async fn walkthrough(profile: Profile) {
    let env = TestEnv::new(profile).await;
    // 1. `irisx admin create` works on an empty database.
    let admin = env.admin_create("ops@example.com", "Ops-Passw0rd!", "superadmin").await;
    assert_eq!(admin["role"], "superadmin");
    let server = env.serve(&[]).await;
    let api = server.api();
    // 2. Staff login.
    let staff = api.admin_login("ops@example.com", "Ops-Passw0rd!").await;
    // 3. A tenant with its owner.
    let body = json!({"name": "Acme", "owner": {"email": "owner@acme.example", "password": "Owner-Passw0rd!", "name": "Olive"}});
    let tenant = api.post("/admin/tenants", Auth::Bearer(&staff), body).await.expect(201);
    assert_eq!(tenant["status"], "active");
    assert_eq!(tenant["owner"]["role"], "owner");
    // 4. Owner login.
    let owner = api.login("owner@acme.example", "Owner-Passw0rd!").await;
    // 5. An API key, shown once.
    let key = api
        .post(
            "/v1/api-keys",
            Auth::Bearer(&owner),
            json!({"name": "backend", "scopes": ["sms:send"]}),
        )
        .await
        .expect(201);
    let key_text = key["key"].as_str().unwrap();
    assert!(key_text.starts_with("irisx_live_") && key_text.len() == 11 + 64);
    // 6. Who am I, with the key.
    let me = api.get("/v1/auth/me", Auth::Key(key_text)).await.expect(200);
    assert_eq!(me["auth_type"], "api_key");
    assert_eq!(me["tenant"]["id"], tenant["id"]);
    assert_eq!(me["api_key"]["id"], key["id"]);
    assert!(me["api_key"].get("key").is_none(), "the key text is never shown again");
    let listed = api.get("/v1/api-keys", Auth::Bearer(&owner)).await.expect(200);
    assert_eq!(listed["data"][0]["last_four"], key_text[key_text.len() - 4..]);
    assert!(
        listed["data"][0]["last_used_at"].is_string(),
        "last_used_at is set after use"
    );
    assert!(listed.to_string().find(key_text).is_none(), "lists never show the key");
    env.cleanup().await;
}

#[tokio::test]
async fn the_readme_walkthrough_works_on_every_profile() {
    for p in profiles("the README walkthrough") {
        walkthrough(p).await;
    }
}

#[tokio::test]
async fn serve_on_an_empty_directory_starts_in_under_two_seconds() {
    let env = TestEnv::new(Profile::Embedded).await;
    let server = env.serve(&[]).await;
    assert!(
        server.started_in.as_secs_f64() < 2.0,
        "started in {:?}",
        server.started_in
    );
    let health = server.api().get("/health", Auth::None).await.expect(200);
    assert_eq!(health["status"], "ok");
    let secrets = env.dir.path().join("secrets.toml");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&secrets).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "generated secrets are private");
}

/// One of the README's named bash blocks (`bash walkthrough`, `bash sms`, `bash email`), exactly as written.
fn readme_block(name: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README.md");
    let fence = format!("```bash {name}\n");
    let start = readme
        .find(&fence)
        .unwrap_or_else(|| panic!("the README has a `{name}` block"));
    let rest = &readme[start + fence.len()..];
    rest[..rest.find("```").expect("the block ends")].to_owned()
}

#[tokio::test]
async fn the_readme_walkthrough_runs_verbatim_in_a_shell() {
    let script = format!(
        "{}\n{}\n{}",
        readme_block("walkthrough"),
        readme_block("sms"),
        readme_block("email")
    );
    for p in profiles("the README walkthrough in a shell") {
        let env = TestEnv::new(p).await;
        let server = env.serve(&[]).await;
        let bin_dir = std::path::Path::new(BIN).parent().unwrap().display().to_string();
        let path = format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default());
        let out = tokio::process::Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(env.dir.path())
            .envs(env.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PATH", path)
            .env("IRISX_URL", &server.base)
            .output()
            .await
            .expect("run bash");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "the walkthrough failed ({p:?}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let values: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
            .into_iter()
            .collect::<Result<_, _>>()
            .expect("JSON output");
        let me = values
            .iter()
            .find(|v| v["auth_type"].is_string())
            .expect("/v1/auth/me answered");
        assert_eq!(me["auth_type"], "api_key");
        assert_eq!(me["tenant"]["name"], "Acme");
        let sms = values
            .iter()
            .find(|v| v["segments"].is_number())
            .expect("the SMS was read back");
        assert_eq!(sms["status"], "delivered", "the README's SMS arrives: {sms}");
        assert_eq!(sms["attempts"][0]["provider"], "sandbox");
        let file = values
            .iter()
            .find(|v| v["downloaded"].is_string())
            .expect("the attachment was downloaded");
        assert_eq!(
            file["downloaded"], "hello Ann",
            "the README's attachment downloads through its link"
        );
        let email = values.last().expect("the last output is the email");
        assert_eq!(email["status"], "sent", "the README's email is sent: {email}");
        assert_eq!(email["to"], serde_json::json!(["ann@example.com"]));
        env.cleanup().await;
    }
}
