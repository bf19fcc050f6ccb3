//! Tenant isolation and permission limits, end to end: tenant B's callers never see or touch tenant A's rows,
//! roles and scopes below a route's need get 403, staff roles are limited, suspension, deletion, revocation,
//! logout, refresh and password changes take effect at once, failed logins lock out, and the audit log says
//! who did it from where.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::{Value, json};
use world::*;

/// Two tenants with every role and a spread of keys, and the helpers the cases share.
mod world {
    use super::common::*;
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
}

#[tokio::test]
async fn tenant_b_using_tenant_a_ids_gets_404_on_every_route_and_changes_nothing() {
    for p in profiles("cross-tenant 404s") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let (a, b) = (org(&api, &staff, "a").await, org(&api, &staff, "b").await);
        let callers = [
            ("B owner", Auth::Bearer(&b.owner)),
            ("B admin", Auth::Bearer(&b.admin)),
            ("B full key", Auth::Key(&b.full)),
        ];
        let mut rows: Vec<(Method, String, Option<Value>)> = Vec::new();
        for (_, id, _) in &a.users {
            let path = format!("/v1/users/{id}");
            rows.push((Method::GET, path.clone(), None));
            rows.push((Method::PATCH, path.clone(), Some(json!({"name": "Hijacked"}))));
            rows.push((Method::PATCH, path.clone(), Some(json!({"role": "user"}))));
            rows.push((Method::PATCH, path.clone(), Some(json!({"status": "disabled"}))));
            rows.push((Method::DELETE, path, None));
        }
        for id in &a.key_ids {
            rows.push((Method::GET, format!("/v1/api-keys/{id}"), None));
            rows.push((Method::DELETE, format!("/v1/api-keys/{id}"), None));
        }
        for (who, auth) in callers {
            for (m, path, body) in &rows {
                let r = send(&api, m.clone(), path, auth, body.clone()).await;
                expect_code(r, 404, "not_found", &format!("{who} {m} {path}"));
            }
        }
        // The read-only key of B holds `users:read`, so reads of A's users are 404 too.
        for (_, id, _) in &a.users {
            let r = api.get(&format!("/v1/users/{id}"), Auth::Key(&b.read)).await;
            expect_code(r, 404, "not_found", "B read key");
        }
        for (role, id, _) in &a.users {
            let u = api
                .get(&format!("/v1/users/{id}"), Auth::Bearer(&a.owner))
                .await
                .expect(200);
            assert_eq!(
                (u["role"].as_str(), u["status"].as_str()),
                (Some(*role), Some("active"))
            );
            assert_ne!(u["name"], "Hijacked");
        }
        for (who, auth) in a.credentials() {
            let me = api.get("/v1/auth/me", auth).await.expect(200);
            assert_eq!(me["tenant"]["id"], a.id, "{who} still works");
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn lists_and_me_never_show_the_other_tenants_rows() {
    for p in profiles("lists are per tenant") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let orgs = [org(&api, &staff, "a").await, org(&api, &staff, "b").await];
        for (mine, other) in [(&orgs[0], &orgs[1]), (&orgs[1], &orgs[0])] {
            let readers = [
                ("owner token", Auth::Bearer(&mine.owner)),
                ("admin token", Auth::Bearer(&mine.admin)),
                ("read key", Auth::Key(&mine.read)),
                ("full key", Auth::Key(&mine.full)),
            ];
            for (who, auth) in readers {
                let rows = list(&api, "/v1/users?limit=200", auth).await;
                assert_eq!(rows.len(), 4, "{who} sees its 4 users");
                assert!(rows.iter().all(|u| u["tenant_id"] == mine.id), "{who}: {rows:?}");
                assert!(other.users.iter().all(|(_, id, _)| rows.iter().all(|u| u["id"] != *id)));
                let me = api.get("/v1/auth/me", auth).await.expect(200);
                assert_eq!(me["tenant"]["id"], mine.id, "{who}");
            }
            for (who, auth) in [
                ("owner", Auth::Bearer(&mine.owner)),
                ("manage key", Auth::Key(&mine.manage)),
            ] {
                let keys = list(&api, "/v1/api-keys?limit=200", auth).await;
                let ids: Vec<&str> = keys.iter().map(|k| k["id"].as_str().unwrap()).collect();
                assert_eq!(ids.len(), mine.key_ids.len(), "{who}: {ids:?}");
                assert!(mine.key_ids.iter().all(|k| ids.contains(&k.as_str())));
                assert!(other.key_ids.iter().all(|k| !ids.contains(&k.as_str())));
            }
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn roles_and_keys_below_a_routes_need_get_403_and_tokens_stay_in_their_realm() {
    // What each route needs: 0 read users, 1 write users, 2 manage keys, 3 a user login.
    for p in profiles("role and scope limits") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let a = org(&api, &staff, "a").await;
        let (uid, kid) = (a.user_id("user"), a.key_ids[3].as_str());
        let new_user = json!({"name": "N", "email": "n@a.test", "password": PW, "role": "user"});
        #[rustfmt::skip]
        let routes: Vec<(usize, Method, String, Option<Value>)> = vec![
            (0, Method::GET, "/v1/users".into(), None),
            (0, Method::GET, format!("/v1/users/{uid}"), None),
            (1, Method::POST, "/v1/users".into(), Some(new_user)),
            (1, Method::PATCH, format!("/v1/users/{uid}"), Some(json!({"name": "X"}))),
            (1, Method::DELETE, format!("/v1/users/{uid}"), None),
            (2, Method::GET, "/v1/api-keys".into(), None),
            (2, Method::POST, "/v1/api-keys".into(), Some(json!({"name": "k", "scopes": ["sms:send"]}))),
            (2, Method::GET, format!("/v1/api-keys/{kid}"), None),
            (2, Method::DELETE, format!("/v1/api-keys/{kid}"), None),
            (3, Method::POST, "/v1/auth/refresh".into(), None),
            (3, Method::POST, "/v1/auth/logout".into(), None),
            (3, Method::POST, "/v1/auth/password".into(), Some(json!({"current_password": PW, "new_password": "Other-Passw0rd!"}))),
        ];
        // (caller, needs it meets)
        let callers: [(&str, Auth, &[usize]); 6] = [
            ("agent token", Auth::Bearer(&a.agent), &[3]),
            ("user token", Auth::Bearer(&a.user), &[3]),
            ("sms key", Auth::Key(&a.sms), &[]),
            ("read key", Auth::Key(&a.read), &[0]),
            ("manage key", Auth::Key(&a.manage), &[2]),
            ("full key", Auth::Key(&a.full), &[0, 1, 2]),
        ];
        let mut forbidden = 0;
        for (who, auth, meets) in callers {
            for (need, m, path, body) in &routes {
                // Allowed changes are left to the other cases: here they would end sessions and remove rows.
                if meets.contains(need) && *m != Method::GET {
                    continue;
                }
                let r = send(&api, m.clone(), path, auth, body.clone()).await;
                if meets.contains(need) {
                    r.expect(200);
                } else {
                    expect_code(r, 403, "forbidden", &format!("{who} {m} {path}"));
                    forbidden += 1;
                }
            }
        }
        assert_eq!(forbidden, 9 + 9 + 12 + 10 + 8 + 3, "every refused cell ran");
        let user = api
            .get(&format!("/v1/users/{uid}"), Auth::Bearer(&a.owner))
            .await
            .expect(200);
        assert_eq!(user["name"], "user", "no refused change landed");
        // Customer tokens and keys are not staff tokens, and staff tokens are not customer tokens.
        for (who, auth, path) in [
            ("owner token", Auth::Bearer(&a.owner), "/admin/tenants"),
            ("full key", Auth::Key(&a.full), "/admin/tenants"),
            ("staff token", Auth::Bearer(&staff), "/v1/users"),
        ] {
            expect_code(api.get(path, auth).await, 401, "unauthenticated", who);
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn a_key_cannot_create_a_key_with_a_scope_it_does_not_hold() {
    for p in profiles("key scope escalation") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let a = org(&api, &staff, "a").await;
        for (scopes, status) in [
            (json!(["users:write"]), 422),
            (json!(["api_keys:manage", "sms:send"]), 422),
            (json!(["api_keys:manage"]), 201),
        ] {
            let r = api
                .post(
                    "/v1/api-keys",
                    Auth::Key(&a.manage),
                    json!({"name": "child", "scopes": scopes}),
                )
                .await;
            let b = r.expect(status);
            if status == 422 {
                assert!(
                    b["error"]["details"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|d| d["code"] == "scope_not_held"),
                    "{b}"
                );
            }
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn only_owners_touch_owners_nobody_removes_themselves_and_the_last_owner_stays() {
    for p in profiles("owner rules") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let a = org(&api, &staff, "a").await;
        let (owner, admin, agent, user) = (
            a.user_id("owner"),
            a.user_id("admin"),
            a.user_id("agent"),
            a.user_id("user"),
        );
        let new_owner = json!({"name": "O2", "email": "o2@a.test", "password": PW, "role": "owner"});
        let (ow, ad, full) = (Auth::Bearer(&a.owner), Auth::Bearer(&a.admin), Auth::Key(&a.full));
        let u = |id: &str| format!("/v1/users/{id}");
        // In order: each row sees the changes of the rows before it.
        #[rustfmt::skip]
        let rows: Vec<OwnerRow> = vec![
            ("admin creates an owner", ad, Method::POST, "/v1/users".into(), Some(new_owner.clone()), 403, "forbidden"),
            ("key creates an owner", full, Method::POST, "/v1/users".into(), Some(new_owner), 403, "forbidden"),
            ("admin renames the owner", ad, Method::PATCH, u(owner), Some(json!({"name": "Z"})), 403, "forbidden"),
            ("admin makes a user owner", ad, Method::PATCH, u(user), Some(json!({"role": "owner"})), 403, "forbidden"),
            ("admin promotes itself", ad, Method::PATCH, u(admin), Some(json!({"role": "owner"})), 403, "forbidden"),
            ("admin removes the owner", ad, Method::DELETE, u(owner), None, 403, "forbidden"),
            ("key removes the owner", full, Method::DELETE, u(owner), None, 403, "forbidden"),
            ("admin removes itself", ad, Method::DELETE, u(admin), None, 422, "unprocessable"),
            ("owner removes itself", ow, Method::DELETE, u(owner), None, 422, "unprocessable"),
            ("owner disables itself", ow, Method::PATCH, u(owner), Some(json!({"status": "disabled"})), 422, "unprocessable"),
            ("the last owner steps down", ow, Method::PATCH, u(owner), Some(json!({"role": "admin"})), 409, "conflict"),
            ("admin demotes an agent", ad, Method::PATCH, u(agent), Some(json!({"role": "user"})), 200, ""),
            ("owner makes the admin owner", ow, Method::PATCH, u(admin), Some(json!({"role": "owner"})), 200, ""),
            ("a second owner may step down", ow, Method::PATCH, u(owner), Some(json!({"role": "admin"})), 200, ""),
            ("the ex-owner removes the owner", ow, Method::DELETE, u(admin), None, 403, "forbidden"),
        ];
        for (what, auth, m, path, body, status, code) in rows {
            let r = send(&api, m, &path, auth, body).await;
            if status >= 400 {
                expect_code(r, status, code, what);
            } else {
                assert_eq!(r.status.as_u16(), status, "{what}: {}", r.body);
            }
        }
        let sole = format!("/admin/users/{admin}");
        let r = api.patch(&sole, Auth::Bearer(&staff), json!({"role": "user"})).await;
        expect_code(r, 409, "conflict", "staff demotes the last owner");
        let roles: Vec<(String, String)> = list(&api, "/v1/users", Auth::Bearer(&a.admin))
            .await
            .iter()
            .map(|u| (u["email"].as_str().unwrap().into(), u["role"].as_str().unwrap().into()))
            .collect();
        let want = |r: &str, e: &str| roles.contains(&(e.to_owned(), r.to_owned()));
        assert!(
            want("admin", a.email("owner")) && want("owner", a.email("admin")),
            "{roles:?}"
        );
        assert!(want("user", a.email("agent")) && roles.len() == 4, "{roles:?}");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn readonly_and_support_staff_only_read_admins_cannot_delete_and_superadmins_can() {
    for p in profiles("staff roles") {
        let mut env = TestEnv::new(p).await;
        env.set("IRISX_PUBLIC_RATE_PER_MINUTE", "100000");
        let roles = ["readonly", "support", "admin", "superadmin"];
        for r in &roles[..3] {
            env.admin_create(&format!("{r}@staff.test"), ADMIN_PASSWORD, r).await;
        }
        let (env, server, root) = boot_in(env).await;
        let api = server.api();
        let mut tokens = Vec::new();
        for r in &roles[..3] {
            tokens.push(api.admin_login(&format!("{r}@staff.test"), ADMIN_PASSWORD).await);
        }
        tokens.push(root.clone());
        let a = org(&api, &root, "a").await;
        let (t, u) = (a.id.as_str(), a.user_id("agent"));
        for (i, role) in roles.iter().enumerate() {
            let new = json!({"name": role, "owner": {"email": format!("o@{role}.test"), "password": PW, "name": "O"}});
            // Expected status for readonly, support, admin, superadmin.
            #[rustfmt::skip]
            let rows: Vec<(Method, String, Option<Value>, [u16; 4])> = vec![
                (Method::GET, "/admin/tenants".into(), None, [200; 4]),
                (Method::GET, format!("/admin/tenants/{t}"), None, [200; 4]),
                (Method::GET, format!("/admin/users?tenant_id={t}"), None, [200; 4]),
                (Method::GET, format!("/admin/users/{u}"), None, [200; 4]),
                (Method::GET, format!("/admin/audit-log?tenant_id={t}"), None, [200; 4]),
                (Method::POST, "/admin/tenants".into(), Some(new), [403, 403, 201, 201]),
                (Method::PATCH, format!("/admin/tenants/{t}"), Some(json!({"name": role})), [403, 403, 200, 200]),
                (Method::POST, format!("/admin/tenants/{t}/suspend"), Some(json!({"reason": role})), [403, 403, 200, 200]),
                (Method::POST, format!("/admin/tenants/{t}/reactivate"), None, [403, 403, 200, 200]),
                (Method::PATCH, format!("/admin/users/{u}"), Some(json!({"name": role})), [403, 403, 200, 200]),
                (Method::DELETE, format!("/admin/tenants/{t}"), None, [403, 403, 403, 202]),
            ];
            for (m, path, body, want) in rows {
                let r = send(&api, m.clone(), &path, Auth::Bearer(&tokens[i]), body).await;
                let what = format!("{role} {m} {path}");
                if want[i] == 403 {
                    expect_code(r, 403, "forbidden", &what);
                } else {
                    assert_eq!(r.status.as_u16(), want[i], "{what}: {}", r.body);
                }
            }
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn a_suspended_tenant_is_refused_at_once_and_works_again_after_reactivation() {
    for p in profiles("suspension") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let (a, b) = (org(&api, &staff, "a").await, org(&api, &staff, "b").await);
        let reads = ["/v1/auth/me", "/v1/users"];
        let path = format!("/admin/tenants/{}/suspend", a.id);
        let t = api
            .post(&path, Auth::Bearer(&staff), json!({"reason": "unpaid"}))
            .await
            .expect(200);
        assert_eq!(t["status"], "suspended");
        for (who, auth) in a.credentials() {
            for r in reads {
                expect_code(api.get(r, auth).await, 403, "tenant_suspended", &format!("{who} {r}"));
            }
        }
        let login = json!({"email": a.email("owner"), "password": OWNER_PASSWORD});
        let r = api.post("/v1/auth/login", Auth::None, login.clone()).await;
        expect_code(r, 403, "tenant_suspended", "login while suspended");
        for (who, auth) in b.credentials() {
            api.get("/v1/auth/me", auth).await.expect(200);
            assert!(!who.is_empty());
        }
        let path = format!("/admin/tenants/{}/reactivate", a.id);
        let t = api.post(&path, Auth::Bearer(&staff), json!({})).await.expect(200);
        assert_eq!(t["status"], "active");
        for (_, auth) in a.credentials() {
            api.get("/v1/auth/me", auth).await.expect(200);
        }
        api.post("/v1/auth/login", Auth::None, login).await.expect(200);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn a_deleted_tenant_stops_at_once_and_the_worker_purges_its_data() {
    for p in profiles("deletion") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let (a, b) = (org(&api, &staff, "a").await, org(&api, &staff, "b").await);
        let t = format!("/admin/tenants/{}", a.id);
        let d = api.delete(&t, Auth::Bearer(&staff)).await.expect(202);
        assert_eq!(d["status"], "deleting");
        for (who, auth) in a.credentials() {
            let r = api.get("/v1/auth/me", auth).await;
            // Refused at once: 403 while the purge is pending, 401 once the key or session row is gone.
            let status = r.status.as_u16();
            assert!(matches!(status, 401 | 403), "{who}: {status} {}", r.body);
            r.expect(status);
        }
        let started = Instant::now();
        loop {
            let r = api.get(&t, Auth::Bearer(&staff)).await;
            if r.status == 404 {
                expect_code(r, 404, "not_found", "purged tenant");
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "not purged in 10 s: {}",
                r.body
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let users = list(&api, &format!("/admin/users?tenant_id={}", a.id), Auth::Bearer(&staff)).await;
        assert!(users.is_empty(), "users purged: {users:?}");
        for (_, id, _) in &a.users {
            expect_code(
                api.get(&format!("/admin/users/{id}"), Auth::Bearer(&staff)).await,
                404,
                "not_found",
                id,
            );
        }
        for (who, auth) in a.credentials() {
            expect_code(api.get("/v1/auth/me", auth).await, 401, "unauthenticated", who);
        }
        let login = json!({"email": a.email("owner"), "password": OWNER_PASSWORD});
        expect_code(
            api.post("/v1/auth/login", Auth::None, login).await,
            401,
            "unauthenticated",
            "login",
        );
        for (_, auth) in b.credentials() {
            api.get("/v1/auth/me", auth).await.expect(200);
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn revoked_keys_and_ended_sessions_get_401_at_once_and_their_successors_work() {
    for p in profiles("revocation and sessions") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let a = org(&api, &staff, "a").await;
        let me = |auth| api.get("/v1/auth/me", auth);
        // A revoked key.
        let (kid, key) = api.api_key(&a.owner, &["sms:send"]).await;
        me(Auth::Key(&key)).await.expect(200);
        let k = api
            .delete(&format!("/v1/api-keys/{kid}"), Auth::Bearer(&a.owner))
            .await
            .expect(200);
        assert!(k["revoked_at"].is_string());
        expect_code(me(Auth::Key(&key)).await, 401, "unauthenticated", "revoked key");
        // A logged-out token.
        let t = api.login(a.email("admin"), PW).await;
        api.post("/v1/auth/logout", Auth::Bearer(&t), json!({}))
            .await
            .expect(204);
        expect_code(me(Auth::Bearer(&t)).await, 401, "unauthenticated", "logged-out token");
        me(Auth::Bearer(&a.admin)).await.expect(200);
        // A refreshed token.
        let old = api.login(a.email("admin"), PW).await;
        let new = api
            .post("/v1/auth/refresh", Auth::Bearer(&old), json!({}))
            .await
            .expect(200);
        let new = new["token"].as_str().unwrap();
        expect_code(
            me(Auth::Bearer(&old)).await,
            401,
            "unauthenticated",
            "refreshed-away token",
        );
        me(Auth::Bearer(new)).await.expect(200);
        // A password change ends the other sessions only.
        let (other, current) = (a.agent.clone(), api.login(a.email("agent"), PW).await);
        let change = json!({"current_password": PW, "new_password": "Changed-Passw0rd!"});
        api.post("/v1/auth/password", Auth::Bearer(&current), change)
            .await
            .expect(204);
        expect_code(me(Auth::Bearer(&other)).await, 401, "unauthenticated", "other session");
        me(Auth::Bearer(&current)).await.expect(200);
        let old_pw = json!({"email": a.email("agent"), "password": PW});
        expect_code(
            api.post("/v1/auth/login", Auth::None, old_pw).await,
            401,
            "unauthenticated",
            "old password",
        );
        api.login(a.email("agent"), "Changed-Passw0rd!").await;
        env.cleanup().await;
    }
}

/// (what, caller, method, path, body, status, code).
type OwnerRow<'a> = (&'a str, Auth<'a>, Method, String, Option<Value>, u16, &'a str);
/// (action prefix, action, target, actor type, actor id, how many).
type AuditRow<'a> = (&'a str, &'a str, &'a str, &'a str, Option<&'a str>, usize);

fn without_request_id(mut b: Value) -> Value {
    b["error"]["request_id"] = Value::Null;
    b
}

#[tokio::test]
async fn five_failed_logins_lock_the_email_and_an_unknown_email_looks_the_same() {
    for p in profiles("login lockout") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let a = org(&api, &staff, "a").await;
        let mut bodies = Vec::new();
        for (email, right) in [("nobody@a.test", "Whatever-Passw0rd!"), (a.email("agent"), PW)] {
            for _ in 0..5 {
                let r = api
                    .post(
                        "/v1/auth/login",
                        Auth::None,
                        json!({"email": email, "password": "Wrong-Passw0rd!"}),
                    )
                    .await;
                bodies.push(without_request_id(expect_code(r, 401, "unauthenticated", email)));
            }
            let r = api
                .post("/v1/auth/login", Auth::None, json!({"email": email, "password": right}))
                .await;
            let retry = r
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            expect_code(r, 429, "login_locked", &format!("6th login of {email}"));
            assert!(retry.is_some_and(|s| s > 0), "Retry-After in seconds: {retry:?}");
        }
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "one answer for all: {bodies:?}"
        );
        api.login(a.email("user"), PW).await;
        env.cleanup().await;
    }
}

/// The entries of one tenant whose action starts with `action`.
async fn audit(api: &Api, staff: &str, tenant: &str, action: &str) -> Vec<Value> {
    list(
        api,
        &format!("/admin/audit-log?tenant_id={tenant}&action={action}&limit=200"),
        Auth::Bearer(staff),
    )
    .await
}

#[tokio::test]
async fn the_audit_log_records_keys_roles_failed_logins_and_lockouts_with_actor_ip_and_user_agent() {
    for p in profiles("audit log") {
        let (env, server, staff) = start(p).await;
        let api = server.api();
        let (a, b) = (org(&api, &staff, "a").await, org(&api, &staff, "b").await);
        let body = json!({"name": "audited", "scopes": ["sms:send"]});
        let k = send(&api, Method::POST, "/v1/api-keys", Auth::Bearer(&a.owner), Some(body))
            .await
            .expect(201);
        let kid = k["id"].as_str().unwrap();
        send(
            &api,
            Method::DELETE,
            &format!("/v1/api-keys/{kid}"),
            Auth::Key(&a.full),
            None,
        )
        .await
        .expect(200);
        let agent = a.user_id("agent");
        let role = Some(json!({"role": "user"}));
        send(
            &api,
            Method::PATCH,
            &format!("/v1/users/{agent}"),
            Auth::Bearer(&a.owner),
            role,
        )
        .await
        .expect(200);
        for _ in 0..5 {
            let bad = Some(json!({"email": a.email("agent"), "password": "Wrong-Passw0rd!"}));
            send(&api, Method::POST, "/v1/auth/login", Auth::None, bad)
                .await
                .expect(401);
        }
        let full_id = a.key_ids[0].as_str();
        let (owner_id, owner_t) = (a.user_id("owner"), "user");
        // (action prefix, action, target, actor type, actor id, how many)
        #[rustfmt::skip]
        let want: [AuditRow; 5] = [
            ("api_key.", "api_key.created", kid, owner_t, Some(owner_id), 1),
            ("api_key.", "api_key.revoked", kid, "api_key", Some(full_id), 1),
            ("user.", "user.role_changed", agent, owner_t, Some(owner_id), 1),
            ("auth.", "auth.login_failed", agent, "anonymous", None, 5),
            ("auth.", "auth.locked_out", agent, "anonymous", None, 1),
        ];
        for (prefix, action, target, actor, actor_id, n) in want {
            let rows = audit(&api, &staff, &a.id, prefix).await;
            assert!(
                rows.iter()
                    .all(|e| e["tenant_id"] == a.id && e["action"].as_str().unwrap().starts_with(prefix))
            );
            let hits: Vec<&Value> = rows
                .iter()
                .filter(|e| e["action"] == action && e["target_id"] == target)
                .collect();
            assert_eq!(hits.len(), n, "{action}: {rows:?}");
            for e in hits {
                assert_eq!(e["actor_type"], actor, "{e}");
                assert_eq!(e["actor_id"].as_str(), actor_id, "{e}");
                assert_eq!(e["ip"], "127.0.0.1", "{e}");
                assert_eq!(e["user_agent"], UA, "{e}");
            }
        }
        let changed = audit(&api, &staff, &a.id, "user.role_changed").await;
        assert_eq!(
            (
                changed[0]["details"]["from"].as_str(),
                changed[0]["details"]["to"].as_str()
            ),
            (Some("agent"), Some("user"))
        );
        let created = audit(&api, &staff, &a.id, "api_key.created").await;
        assert_eq!(created.len(), 5, "the 4 setup keys and one more");
        let theirs = audit(&api, &staff, &b.id, "api_key.").await;
        assert!(
            theirs.iter().all(|e| e["tenant_id"] == b.id && e["target_id"] != kid),
            "{theirs:?}"
        );
        env.cleanup().await;
    }
}
