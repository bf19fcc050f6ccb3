//! Tenant isolation and permission limits, end to end: tenant B's callers never see or touch tenant A's rows,
//! roles and scopes below a route's need get 403, and staff roles are limited. `sessions.rs` covers what must
//! take effect at once (suspension, deletion, revocation, logout, refresh, password change, lockout) and the
//! audit trail.

mod common;

use common::world::*;
use common::*;
use reqwest::Method;
use serde_json::{Value, json};

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

/// (what, caller, method, path, body, status, code).
type OwnerRow<'a> = (&'a str, Auth<'a>, Method, String, Option<Value>, u16, &'a str);
