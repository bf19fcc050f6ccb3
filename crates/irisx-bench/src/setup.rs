//! Sets a tenant up through the API exactly as an operator would: staff log in, create a tenant with its
//! owner, a platform sandbox account, a catch-all route and a number; the owner creates an API key and, when
//! IRISX has `/v1/webhooks`, a webhook endpoint at the local receiver.

use anyhow::{Context, bail};
use reqwest::Client;
use serde_json::{Value, json};

use crate::irisx::Env;

const STAFF_EMAIL: &str = "bench@irisx.test";
const STAFF_PASSWORD: &str = "Bench-Passw0rd!";
const OWNER_EMAIL: &str = "owner@bench.test";
const OWNER_PASSWORD: &str = "Owner-Passw0rd!";
/// The sender every benchmark message comes from.
pub const FROM: &str = "+15550001000";

/// What the phases need.
pub struct Tenant {
    pub key: String,
    pub owner_token: String,
}

/// Creates the staff user (before the server starts).
pub async fn staff(env: &Env) -> anyhow::Result<()> {
    env.admin_create(STAFF_EMAIL, STAFF_PASSWORD).await
}

async fn post(http: &Client, url: String, auth: Option<&str>, body: Value, want: u16) -> anyhow::Result<Value> {
    let mut rb = http.post(&url).json(&body);
    if let Some(t) = auth {
        rb = rb.bearer_auth(t);
    }
    let r = rb.send().await.with_context(|| format!("POST {url}"))?;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if status != want {
        bail!("POST {url} answered {status}, wanted {want}: {body}");
    }
    Ok(body)
}

fn field(v: &Value, name: &str) -> anyhow::Result<String> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no `{name}` in {v}"))
}

/// A tenant with a sandbox account posting receipts `receipt_delay_ms` apart, a route and a short code.
pub async fn tenant(http: &Client, base: &str, receipt_delay_ms: u64) -> anyhow::Result<Tenant> {
    let login = json!({"email": STAFF_EMAIL, "password": STAFF_PASSWORD});
    let staff = field(
        &post(http, format!("{base}/admin/auth/login"), None, login, 200).await?,
        "token",
    )?;
    let t = json!({"name": "Bench", "owner": {"email": OWNER_EMAIL, "password": OWNER_PASSWORD, "name": "Bench"}});
    let tenant = field(
        &post(http, format!("{base}/admin/tenants"), Some(&staff), t, 201).await?,
        "id",
    )?;
    let creds = json!({"secret": "bench-secret", "receipt_delay_ms": receipt_delay_ms});
    let account = json!({"kind": "sandbox", "name": "bench sandbox", "credentials": creds});
    let account_id = field(
        &post(http, format!("{base}/admin/providers"), Some(&staff), account, 201).await?,
        "id",
    )?;
    let route = json!({"prefix": "+", "account_id": account_id, "cost_micros": 5000});
    post(http, format!("{base}/admin/routes"), Some(&staff), route, 201).await?;
    let number = json!({"number": FROM, "account_id": account_id, "tenant_id": tenant, "sender_type": "short_code"});
    post(http, format!("{base}/admin/phone-numbers"), Some(&staff), number, 201).await?;
    let login = json!({"email": OWNER_EMAIL, "password": OWNER_PASSWORD});
    let owner_token = field(
        &post(http, format!("{base}/v1/auth/login"), None, login, 200).await?,
        "token",
    )?;
    let key = json!({"name": "bench", "scopes": ["sms:send", "sms:read"]});
    let key = field(
        &post(http, format!("{base}/v1/api-keys"), Some(&owner_token), key, 201).await?,
        "key",
    )?;
    Ok(Tenant { key, owner_token })
}

/// Registers a webhook endpoint for `message.delivered` at `url`; `Ok(None)` when this IRISX has no
/// `/v1/webhooks` route yet, `Ok(Some(id))` when registered.
pub async fn webhook(http: &Client, base: &str, owner_token: &str, url: &str) -> anyhow::Result<Option<String>> {
    let body = json!({"url": url, "event_types": ["message.delivered"]});
    let r = http
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(owner_token)
        .json(&body)
        .send()
        .await
        .context("POST /v1/webhooks")?;
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    match status {
        404 | 405 => Ok(None),
        200 | 201 => Ok(Some(answer["id"].as_str().unwrap_or("registered").to_owned())),
        _ => bail!("POST /v1/webhooks answered {status}: {answer}"),
    }
}
