//! Bad input on every route answers 4xx with the one error shape, never 5xx: malformed and mistyped bodies,
//! missing, unknown and smuggled fields, oversized bodies, wrong media types, bad emails, weak passwords,
//! unknown enum values, bad path ids and query parameters, unknown routes and methods, bad idempotency keys.
//! One table, run on every profile.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use table::*;

/// The table's row type, the rows every body route gets, and the runner.
mod table {
    use super::common::*;
    use reqwest::Method;
    use serde_json::Value;

    pub const J: Option<&str> = Some("application/json");

    /// Who sends a row.
    #[derive(Clone, Copy, Debug)]
    pub enum Who {
        Anon,
        Owner,
        Staff,
    }

    /// One row: the request and the answer it must get.
    #[derive(Debug)]
    pub struct Case {
        pub method: Method,
        pub path: String,
        pub who: Who,
        pub body: Option<Vec<u8>>,
        pub ct: Option<&'static str>,
        pub status: u16,
        pub code: &'static str,
        /// A `details[]` entry that must be present: (field, code).
        pub detail: Option<(String, &'static str)>,
        pub idem: Option<String>,
    }

    /// A row; an empty body sends none.
    pub fn c(
        m: &str,
        path: &str,
        who: Who,
        body: &str,
        ct: Option<&'static str>,
        status: u16,
        code: &'static str,
    ) -> Case {
        Case {
            method: Method::from_bytes(m.as_bytes()).unwrap(),
            path: path.to_owned(),
            who,
            body: (!body.is_empty()).then(|| body.as_bytes().to_vec()),
            ct,
            status,
            code,
            detail: None,
            idem: None,
        }
    }

    impl Case {
        /// Requires a `details[]` entry naming `field` with `code`.
        pub fn d(mut self, field: &str, code: &'static str) -> Self {
            self.detail = Some((field.to_owned(), code));
            self
        }
        pub fn idem(mut self, key: String) -> Self {
            self.idem = Some(key);
            self
        }
    }

    /// A route that takes a JSON body: a valid body, a required field, and a field with a value of the wrong type.
    pub struct BodyRoute {
        pub method: &'static str,
        pub path: String,
        pub who: Who,
        pub valid: Value,
        pub required: Option<&'static str>,
        pub wrong: (&'static str, Value),
        /// Whether `role` is not one of its fields.
        pub no_role: bool,
    }

    fn set(v: &mut Value, dotted: &str, new: Option<Value>) {
        let (parent, last) = dotted.rsplit_once('.').map_or(("", dotted), |(p, l)| (p, l));
        let mut at = v;
        for part in parent.split('.').filter(|p| !p.is_empty()) {
            at = &mut at[part];
        }
        let obj = at.as_object_mut().unwrap();
        match new {
            Some(n) => obj.insert(last.to_owned(), n),
            None => obj.remove(last),
        };
    }

    /// The rows every body route gets.
    pub fn body_rows(r: &BodyRoute) -> Vec<Case> {
        let (m, p, w) = (r.method, r.path.as_str(), r.who);
        let json = |v: &Value| serde_json::to_string(v).unwrap();
        let with = |f: &str, v: Option<Value>| {
            let mut b = r.valid.clone();
            set(&mut b, f, v);
            json(&b)
        };
        let big = with("padding", Some(Value::String("x".repeat(10 * 1024))));
        let valid = json(&r.valid);
        let mut rows = vec![
            c(m, p, w, "{", J, 400, "invalid_json"),
            c(m, p, w, "not json", J, 400, "invalid_json"),
            c(m, p, w, "{,}", J, 400, "invalid_json"),
            c(m, p, w, "[]", J, 422, "validation_failed"),
            c(m, p, w, "[1]", J, 422, "validation_failed"),
            c(m, p, w, r#""a string""#, J, 422, "validation_failed"),
            c(m, p, w, "42", J, 422, "validation_failed"),
            c(m, p, w, &with("surprise", Some(1.into())), J, 422, "validation_failed").d("*", "unknown_field"),
            c(
                m,
                p,
                w,
                &with("tenant_id", Some("ten_x".into())),
                J,
                422,
                "validation_failed",
            )
            .d("*", "unknown_field"),
            c(
                m,
                p,
                w,
                &with(r.wrong.0, Some(r.wrong.1.clone())),
                J,
                422,
                "validation_failed",
            )
            .d(r.wrong.0, "invalid_type"),
            c(m, p, w, &valid, None, 415, "unsupported_media_type"),
            c(m, p, w, &valid, Some("text/plain"), 415, "unsupported_media_type"),
            c(
                m,
                p,
                w,
                &valid,
                Some("application/x-www-form-urlencoded"),
                415,
                "unsupported_media_type",
            ),
            c(m, p, w, &big, J, 413, "payload_too_large"),
        ];
        if let Some(f) = r.required {
            rows.push(c(m, p, w, &with(f, None), J, 422, "validation_failed").d(f, "required"));
        }
        if r.no_role {
            rows.push(
                c(
                    m,
                    p,
                    w,
                    &with("role", Some("owner".into())),
                    J,
                    422,
                    "validation_failed",
                )
                .d("*", "unknown_field"),
            );
        }
        rows
    }

    /// Runs every row; collects every mismatch, then fails listing them all.
    pub async fn run(api: &Api, owner: &str, staff: &str, cases: &[Case]) {
        let mut failures = Vec::new();
        for k in cases {
            let auth = match k.who {
                Who::Anon => Auth::None,
                Who::Owner => Auth::Bearer(owner),
                Who::Staff => Auth::Bearer(staff),
            };
            let mut h: Vec<(&str, &str)> = Vec::new();
            h.extend(k.ct.map(|ct| ("content-type", ct)));
            h.extend(k.idem.as_deref().map(|i| ("idempotency-key", i)));
            let r = api.raw(k.method.clone(), &k.path, auth, &h, k.body.clone()).await;
            let e = &r.body["error"];
            let detail_ok = k.detail.as_ref().is_none_or(|(f, code)| {
                e["details"]
                    .as_array()
                    .is_some_and(|ds| ds.iter().any(|d| (f == "*" || d["field"] == *f) && d["code"] == *code))
            });
            let body = k
                .body
                .as_ref()
                .map(|b| String::from_utf8_lossy(&b[..b.len().min(80)]).into_owned());
            let what = format!("{} {} ({:?}, {:?}, {:?})", k.method, k.path, k.who, k.ct, body);
            assert!(r.status.as_u16() < 500, "{what}: 5xx {}", r.body);
            if r.status.as_u16() != k.status || e["code"] != k.code || !detail_ok {
                failures.push(format!(
                    "{what}: want {} {} {:?}, got {} {}",
                    k.status, k.code, k.detail, r.status, r.body
                ));
            } else {
                assert_error_shape(&r.body);
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} rows failed:\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n")
        );
    }
}

/// A server with a 4 KiB body limit, a staff token, an owner token and the owner's tenant and user ids.
async fn setup(p: Profile) -> (TestEnv, Server, String, String, String, String) {
    let mut env = TestEnv::new(p).await;
    env.set("IRISX_BODY_LIMIT_BYTES", "4096");
    env.set("IRISX_PUBLIC_RATE_PER_MINUTE", "100000");
    let (env, server, staff) = boot_in(env).await;
    let api = server.api();
    let body = json!({"name": "Acme", "plan": "enterprise",
        "owner": {"email": "owner@acme.test", "password": OWNER_PASSWORD, "name": "Owner"}});
    let t = api.post("/admin/tenants", Auth::Bearer(&staff), body).await.expect(201);
    let owner = api.login("owner@acme.test", OWNER_PASSWORD).await;
    let (tid, uid) = (
        t["id"].as_str().unwrap().to_owned(),
        t["owner"]["id"].as_str().unwrap().to_owned(),
    );
    (env, server, staff, owner, tid, uid)
}

fn body_routes(tid: &str, uid: &str) -> Vec<BodyRoute> {
    use Who::*;
    let pw = "Fresh-Passw0rd!";
    let br = |method, path: String, who, valid, required, wrong, no_role| BodyRoute {
        method,
        path,
        who,
        valid,
        required,
        wrong,
        no_role,
    };
    #[rustfmt::skip]
    let routes = vec![
        br("POST", "/v1/auth/signup".into(), Anon, json!({"company": "C", "name": "N", "email": "n@c.test", "password": pw}), Some("company"), ("email", json!(42)), true),
        br("POST", "/v1/auth/login".into(), Anon, json!({"email": "n@c.test", "password": pw}), Some("password"), ("password", json!(true)), true),
        br("POST", "/admin/auth/login".into(), Anon, json!({"email": "n@c.test", "password": pw}), Some("email"), ("email", json!(null)), true),
        br("POST", "/v1/auth/password".into(), Owner, json!({"current_password": OWNER_PASSWORD, "new_password": pw}), Some("new_password"), ("current_password", json!(1)), true),
        br("POST", "/v1/users".into(), Owner, json!({"name": "N", "email": "n@c.test", "password": pw, "role": "user"}), Some("role"), ("name", json!([1])), false),
        br("PATCH", format!("/v1/users/{uid}"), Owner, json!({"name": "N"}), None, ("name", json!(3)), false),
        br("POST", "/v1/api-keys".into(), Owner, json!({"name": "k", "scopes": ["sms:send"]}), Some("scopes"), ("scopes", json!("sms:send")), true),
        br("POST", "/admin/tenants".into(), Staff, json!({"name": "T", "owner": {"email": "o@t.test", "password": pw, "name": "O"}}), Some("owner.password"), ("owner.email", json!(5)), true),
        br("PATCH", format!("/admin/tenants/{tid}"), Staff, json!({"name": "T"}), None, ("name", json!(1)), true),
        br("PATCH", format!("/admin/users/{uid}"), Staff, json!({"name": "N"}), None, ("name", json!({"r": 1})), false),
    ];
    routes
}

fn specific_rows(tid: &str, uid: &str) -> Vec<Case> {
    use Who::*;
    let long = "k".repeat(256);
    let pw = "Fresh-Passw0rd!";
    let with = |mut b: Value, f: &str, v: &str| {
        let at = if f == "name" || !b["owner"].is_object() {
            &mut b
        } else {
            &mut b["owner"]
        };
        at[f] = v.into();
        b.to_string()
    };
    let user = |f: &str, v: &str| {
        with(
            json!({"name": "N", "email": "n@c.test", "password": pw, "role": "user"}),
            f,
            v,
        )
    };
    let signup = |f: &str, v: &str| {
        with(
            json!({"company": "C", "name": "N", "email": "n@c.test", "password": pw}),
            f,
            v,
        )
    };
    let tenant = |f: &str, v: &str| {
        with(
            json!({"name": "T", "owner": {"email": "o@t.test", "password": pw, "name": "O"}}),
            f,
            v,
        )
    };
    let key = |s: &str| format!(r#"{{"name": "k", "scopes": {s}}}"#);
    let (u, t, vf) = (
        format!("/v1/users/{uid}"),
        format!("/admin/tenants/{tid}"),
        "validation_failed",
    );
    #[rustfmt::skip]
    let rows = vec![
        // Bad emails and weak passwords.
        c("POST", "/v1/auth/signup", Anon, &signup("email", "not-an-email"), J, 422, vf).d("email", "invalid_email"),
        c("POST", "/v1/users", Owner, &user("email", "a@b"), J, 422, vf).d("email", "invalid_email"),
        c("POST", "/admin/tenants", Staff, &tenant("email", "o@"), J, 422, vf).d("owner.email", "invalid_email"),
        c("POST", "/v1/auth/signup", Anon, &signup("password", "Sh0rt!"), J, 422, vf).d("password", "weak_password"),
        c("POST", "/v1/users", Owner, &user("password", "alllowercaseletters"), J, 422, vf).d("password", "weak_password"),
        c("POST", "/v1/auth/password", Owner, &format!(r#"{{"current_password": "{OWNER_PASSWORD}", "new_password": "Password123!"}}"#), J, 422, vf).d("new_password", "weak_password"),
        c("POST", "/admin/tenants", Staff, &tenant("password", "aaaaaaaaaaaa"), J, 422, vf).d("owner.password", "weak_password"),
        // Unknown enum values and empty lists.
        c("POST", "/v1/users", Owner, &user("role", "god"), J, 422, vf).d("role", "invalid_value"),
        c("PATCH", &u, Owner, r#"{"role": "god"}"#, J, 422, vf).d("role", "invalid_value"),
        c("PATCH", &u, Owner, r#"{"status": "banned"}"#, J, 422, vf).d("status", "invalid_value"),
        c("POST", "/v1/api-keys", Owner, &key(r#"["sms:*"]"#), J, 422, vf).d("scopes[0]", "invalid_value"),
        c("POST", "/v1/api-keys", Owner, &key(r#"["sms:send", "*"]"#), J, 422, vf).d("scopes[1]", "invalid_value"),
        c("POST", "/v1/api-keys", Owner, &key("[]"), J, 422, vf).d("scopes", "required"),
        c("POST", "/v1/api-keys", Owner, r#"{"name": "k", "scopes": ["sms:send"], "environment": "prod"}"#, J, 422, vf).d("environment", "invalid_value"),
        c("POST", "/admin/tenants", Staff, r#"{"name": "T", "plan": "platinum", "owner": {"email": "o@t.test", "password": "Fresh-Passw0rd!", "name": "O"}}"#, J, 422, vf).d("plan", "invalid_value"),
        c("PATCH", &t, Staff, r#"{"plan": "gold"}"#, J, 422, vf).d("plan", "invalid_value"),
        c("PATCH", &format!("/admin/users/{uid}"), Staff, r#"{"role": "god"}"#, J, 422, vf).d("role", "invalid_value"),
        // Path ids that cannot exist.
        c("GET", "/v1/users/not-an-id", Owner, "", None, 404, "not_found"),
        c("PATCH", "/v1/users/not-an-id", Owner, r#"{"name": "N"}"#, J, 404, "not_found"),
        c("DELETE", "/v1/users/not-an-id", Owner, "", None, 404, "not_found"),
        c("GET", &format!("/v1/api-keys/{uid}"), Owner, "", None, 404, "not_found"),
        c("DELETE", "/v1/api-keys/not-an-id", Owner, "", None, 404, "not_found"),
        c("GET", "/admin/tenants/not-an-id", Staff, "", None, 404, "not_found"),
        c("PATCH", &format!("/admin/tenants/{uid}"), Staff, r#"{"name": "T"}"#, J, 404, "not_found"),
        c("DELETE", "/admin/tenants/not-an-id", Staff, "", None, 404, "not_found"),
        c("POST", "/admin/tenants/not-an-id/suspend", Staff, "", None, 404, "not_found"),
        c("POST", "/admin/tenants/not-an-id/reactivate", Staff, "", None, 404, "not_found"),
        c("GET", &format!("/admin/users/{tid}"), Staff, "", None, 404, "not_found"),
        c("PATCH", "/admin/users/not-an-id", Staff, r#"{"name": "N"}"#, J, 404, "not_found"),
        // Unknown routes and wrong methods.
        c("GET", "/v1/nope", Owner, "", None, 404, "route_not_found"),
        c("GET", "/v2/users", Anon, "", None, 404, "route_not_found"),
        c("POST", "/admin/nope", Staff, "{}", J, 404, "route_not_found"),
        c("GET", "/v1/users/x/y", Owner, "", None, 404, "route_not_found"),
        c("PUT", "/v1/users", Owner, "{}", J, 405, "method_not_allowed"),
        c("DELETE", "/v1/auth/login", Anon, "", None, 405, "method_not_allowed"),
        c("GET", "/v1/auth/logout", Owner, "", None, 405, "method_not_allowed"),
        c("PATCH", "/admin/tenants", Staff, "{}", J, 405, "method_not_allowed"),
        c("POST", "/health", Anon, "", None, 405, "method_not_allowed"),
        // Idempotency keys over 255 characters, or empty.
        c("POST", "/v1/users", Owner, &user("role", "user"), J, 400, "invalid_idempotency_key").idem(long.clone()),
        c("POST", "/v1/api-keys", Owner, &key(r#"["sms:send"]"#), J, 400, "invalid_idempotency_key").idem(long.clone()),
        c("POST", "/admin/tenants", Staff, &tenant("name", "O"), J, 400, "invalid_idempotency_key").idem(long.clone()),
        c("POST", "/v1/auth/signup", Anon, &signup("name", "N"), J, 400, "invalid_idempotency_key").idem(long),
        c("POST", "/v1/api-keys", Owner, &key(r#"["sms:send"]"#), J, 400, "invalid_idempotency_key").idem(String::new()),
    ];
    rows
}

fn query_rows(tid: &str) -> Vec<Case> {
    let mut rows = Vec::new();
    let lists = [
        ("/v1/users", Who::Owner),
        ("/v1/api-keys", Who::Owner),
        ("/admin/tenants", Who::Staff),
        ("/admin/users", Who::Staff),
        ("/admin/audit-log", Who::Staff),
    ];
    for (path, who) in lists {
        for (q, field) in [
            ("limit=0", "limit"),
            ("limit=1000", "limit"),
            ("limit=201", "limit"),
            ("limit=abc", "query"),
            ("limit=-1", "query"),
            ("bogus=1", "query"),
            ("cursor=not%20a%20cursor", "cursor"),
        ] {
            rows.push(c("GET", &format!("{path}?{q}"), who, "", None, 422, "validation_failed").d(field, ""));
        }
    }
    for q in ["status=gone", "tenant_id=nope"] {
        rows.push(c(
            "GET",
            &format!("/admin/tenants?{q}"),
            Who::Staff,
            "",
            None,
            422,
            "validation_failed",
        ));
    }
    for q in ["from=yesterday", "to=2024-13-01", "actor_type=robot", "tenant_id=usr_1"] {
        let path = format!("/admin/audit-log?tenant_id={tid}&{q}");
        rows.push(c("GET", &path, Who::Staff, "", None, 422, "validation_failed"));
    }
    rows
}

/// Drops the details code from rows that only name the field, so the runner checks the field alone.
fn field_only(mut rows: Vec<Case>) -> Vec<Case> {
    for r in &mut rows {
        r.detail = None;
    }
    rows
}

async fn bad_input(p: Profile) {
    let (env, server, staff, owner, tid, uid) = setup(p).await;
    let api = server.api();
    let mut cases: Vec<Case> = body_routes(&tid, &uid).iter().flat_map(body_rows).collect();
    cases.extend(specific_rows(&tid, &uid));
    let queries = query_rows(&tid);
    for q in &queries {
        if let Some((field, _)) = &q.detail {
            let r = api.get(&q.path, auth_of(q.who, &owner, &staff)).await;
            let b = r.expect(422);
            let named = b["error"]["details"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["field"] == *field);
            assert!(named, "{} names `{field}`: {b}", q.path);
        }
    }
    cases.extend(field_only(queries));
    run(&api, &owner, &staff, &cases).await;
    eprintln!("{p:?}: {} bad-input rows", cases.len());
    // Nothing above changed anything: the owner's password, name and the tenant are as they were.
    api.login("owner@acme.test", OWNER_PASSWORD).await;
    let t = api
        .get(&format!("/admin/tenants/{tid}"), Auth::Bearer(&staff))
        .await
        .expect(200);
    assert_eq!(
        (t["name"].as_str(), t["status"].as_str()),
        (Some("Acme"), Some("active"))
    );
    // A 255-character idempotency key is accepted.
    let h = [
        ("content-type", "application/json"),
        ("idempotency-key", &*"k".repeat(255)),
    ];
    let body = serde_json::to_vec(&json!({"name": "k", "scopes": ["sms:send"]})).unwrap();
    api.raw(Method::POST, "/v1/api-keys", Auth::Bearer(&owner), &h, Some(body))
        .await
        .expect(201);
    env.cleanup().await;
}

fn auth_of<'a>(who: Who, owner: &'a str, staff: &'a str) -> Auth<'a> {
    match who {
        Who::Anon => Auth::None,
        Who::Owner => Auth::Bearer(owner),
        Who::Staff => Auth::Bearer(staff),
    }
}

#[tokio::test]
async fn bad_input_on_every_route_answers_4xx_with_the_one_error_shape() {
    for p in profiles("bad input") {
        bad_input(p).await;
    }
}

/// Runs `rows` against a fresh server on every profile (the product bugs found by this suite, one per test).
async fn run_rows(make: fn(&str, &str) -> Vec<Case>) {
    for p in profiles("bad input bug") {
        let (env, server, staff, owner, tid, uid) = setup(p).await;
        run(&server.api(), &owner, &staff, &make(&tid, &uid)).await;
        env.cleanup().await;
    }
}

#[tokio::test]
async fn the_suspend_body_is_held_to_the_same_media_type_and_size_rules_as_every_other_body() {
    run_rows(|tid, _| {
        let route = BodyRoute {
            method: "POST",
            path: format!("/admin/tenants/{tid}/suspend"),
            who: Who::Staff,
            valid: json!({"reason": "r"}),
            required: None,
            wrong: ("reason", json!(1)),
            no_role: true,
        };
        body_rows(&route)
            .into_iter()
            .filter(|r| matches!(r.status, 413 | 415))
            .collect()
    })
    .await;
}

#[tokio::test]
async fn an_unknown_field_is_named_once_in_the_error_details() {
    run_rows(|_, _| {
        let body = r#"{"name": "k", "scopes": ["sms:send"], "surprise": 1}"#;
        let nested =
            r#"{"name": "T", "owner": {"email": "o@t.test", "password": "Fresh-Passw0rd!", "name": "O", "x": 1}}"#;
        vec![
            c("POST", "/v1/api-keys", Who::Owner, body, J, 422, "validation_failed").d("surprise", "unknown_field"),
            c(
                "POST",
                "/admin/tenants",
                Who::Staff,
                nested,
                J,
                422,
                "validation_failed",
            )
            .d("owner.x", "unknown_field"),
        ]
    })
    .await;
}

#[tokio::test]
async fn a_wrong_type_for_an_enum_field_is_422_naming_the_field() {
    run_rows(|tid, uid| {
        let vf = "validation_failed";
        vec![
            c(
                "PATCH",
                &format!("/v1/users/{uid}"),
                Who::Owner,
                r#"{"status": 3}"#,
                J,
                422,
                vf,
            )
            .d("status", "invalid_type"),
            c(
                "PATCH",
                &format!("/admin/tenants/{tid}"),
                Who::Staff,
                r#"{"plan": 1}"#,
                J,
                422,
                vf,
            )
            .d("plan", "invalid_type"),
            c(
                "POST",
                "/v1/api-keys",
                Who::Owner,
                r#"{"name": "k", "scopes": [7]}"#,
                J,
                422,
                vf,
            )
            .d("scopes[0]", "invalid_type"),
        ]
    })
    .await;
}

#[tokio::test]
async fn a_truncated_body_is_invalid_json_whatever_its_first_key() {
    run_rows(|_, _| {
        vec![c(
            "POST",
            "/v1/auth/login",
            Who::Anon,
            r#"{"name": "#,
            J,
            400,
            "invalid_json",
        )]
    })
    .await;
}

#[tokio::test]
async fn a_json_array_is_never_taken_for_an_object() {
    run_rows(|tid, _| {
        let t = format!("/admin/tenants/{tid}");
        vec![c(
            "PATCH",
            &t,
            Who::Staff,
            r#"["Renamed", "growth"]"#,
            J,
            422,
            "validation_failed",
        )]
    })
    .await;
}
