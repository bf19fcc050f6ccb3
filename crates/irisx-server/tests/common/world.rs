//! Two tenants with every role and a spread of keys, and the helpers the isolation and session suites share.

use super::*;
use reqwest::Method;
use serde_json::{Value, json};

pub const PW: &str = "Member-Passw0rd!";
pub const UA: &str = "irisx-isolation-test/1.0";

/// One tenant: its id, a token per role, user ids per role, and keys.
pub struct Org {
    pub id: String,
    pub owner: String,
    pub admin: String,
    pub agent: String,
    pub user: String,
    /// (role, user id, email), owner first.
    pub users: Vec<(&'static str, String, String)>,
    /// `users:read`, `users:write`, `api_keys:manage`.
    pub full: String,
    /// `users:read`.
    pub read: String,
    /// `api_keys:manage`.
    pub manage: String,
    /// `sms:send`.
    pub sms: String,
    /// Ids of full, read, manage, sms.
    pub key_ids: Vec<String>,
}

impl Org {
    pub fn user_id(&self, role: &str) -> &str {
        &self.users.iter().find(|u| u.0 == role).unwrap().1
    }
    pub fn email(&self, role: &str) -> &str {
        &self.users.iter().find(|u| u.0 == role).unwrap().2
    }
    /// Every credential of the tenant, named.
    pub fn credentials(&self) -> Vec<(&'static str, Auth<'_>)> {
        vec![
            ("owner token", Auth::Bearer(&self.owner)),
            ("admin token", Auth::Bearer(&self.admin)),
            ("agent token", Auth::Bearer(&self.agent)),
            ("full key", Auth::Key(&self.full)),
            ("read key", Auth::Key(&self.read)),
        ]
    }
}

/// A server with a superadmin; public routes are not rate limited so logins do not run out.
pub async fn start(p: Profile) -> (TestEnv, Server, String) {
    let mut env = TestEnv::new(p).await;
    env.set("IRISX_PUBLIC_RATE_PER_MINUTE", "100000");
    boot_in(env).await
}

/// Creates tenant `tag` (enterprise plan, so rate limits stay out of the way) with all roles and keys.
pub async fn org(api: &Api, staff: &str, tag: &str) -> Org {
    let owner_email = format!("owner@{tag}.test");
    let body = json!({"name": tag, "plan": "enterprise",
        "owner": {"email": owner_email, "password": OWNER_PASSWORD, "name": "Owner"}});
    let t = api.post("/admin/tenants", Auth::Bearer(staff), body).await.expect(201);
    let owner = api.login(&owner_email, OWNER_PASSWORD).await;
    let mut users = vec![("owner", t["owner"]["id"].as_str().unwrap().to_owned(), owner_email)];
    let mut tokens = Vec::new();
    for role in ["admin", "agent", "user"] {
        let email = format!("{role}@{tag}.test");
        let body = json!({"name": role, "email": email, "password": PW, "role": role});
        let u = api.post("/v1/users", Auth::Bearer(&owner), body).await.expect(201);
        users.push((role, u["id"].as_str().unwrap().to_owned(), email.clone()));
        tokens.push(api.login(&email, PW).await);
    }
    let mut keys = Vec::new();
    for scopes in [
        &["users:read", "users:write", "api_keys:manage"][..],
        &["users:read"],
        &["api_keys:manage"],
        &["sms:send"],
    ] {
        keys.push(api.api_key(&owner, scopes).await);
    }
    let [admin, agent, user] = <[String; 3]>::try_from(tokens).unwrap();
    Org {
        id: t["id"].as_str().unwrap().to_owned(),
        owner,
        admin,
        agent,
        user,
        users,
        full: keys[0].1.clone(),
        read: keys[1].1.clone(),
        manage: keys[2].1.clone(),
        sms: keys[3].1.clone(),
        key_ids: keys.into_iter().map(|k| k.0).collect(),
    }
}

/// Sends a request with the test's User-Agent and a JSON body when given.
pub async fn send(api: &Api, m: Method, path: &str, auth: Auth<'_>, body: Option<Value>) -> Resp {
    let mut h = vec![("user-agent", UA)];
    if body.is_some() {
        h.push(("content-type", "application/json"));
    }
    let bytes = body.map(|b| serde_json::to_vec(&b).unwrap());
    api.raw(m, path, auth, &h, bytes).await
}

/// Asserts status, error shape and error code; returns the body.
pub fn expect_code(r: Resp, status: u16, code: &str, what: &str) -> Value {
    let got = r.status.as_u16();
    assert_eq!(got, status, "{what}: body {}", r.body);
    let b = r.expect(status);
    assert_eq!(b["error"]["code"], code, "{what}: {b}");
    b
}

/// The data of a list, asserting 200.
pub async fn list(api: &Api, path: &str, auth: Auth<'_>) -> Vec<Value> {
    let b = api.get(path, auth).await.expect(200);
    b["data"].as_array().expect("data").clone()
}
