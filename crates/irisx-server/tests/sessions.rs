//! What must take effect at once, end to end: suspension, deletion, key revocation, logout, refresh, password
//! change and failed-login lockout; and the audit log saying who did each from where.

mod common;

use std::time::{Duration, Instant};

use common::world::*;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

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
