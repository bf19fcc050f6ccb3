//! Cases for sessions, platform staff and API keys.

use std::sync::Arc;

use irisx_core::audit::AuditFilter;
use irisx_core::domain::{AdminRole, AdminSession, AdminUser, ApiKey, UserStatus};
use irisx_core::id::{AdminSessionId, AdminUserId, ApiKeyId, SessionId};
use irisx_core::page::PageRequest;
use irisx_core::ports::store::{Store, StoreError};
use time::Duration;

use super::*;

fn admin() -> AdminUser {
    let id = AdminUserId::new();
    AdminUser {
        email: format!("Staff-{}@IRISX.test", id.as_str()),
        id,
        name: "Staff".into(),
        role: AdminRole::Support,
        status: UserStatus::Active,
        password_hash: "$argon2id$fake".into(),
        created_at: now(),
        last_login_at: None,
    }
}

/// A session reads back with its user and tenant, and sets the user's last login time.
pub async fn a_session_reads_back_with_its_user_and_tenant_and_sets_the_last_login(store: Arc<dyn Store>) {
    let (t, owner) = seed(&store).await;
    let s = session(&owner);
    store.create_session(&s).await.unwrap();
    let ctx = store.get_session_context(&s.id).await.unwrap();
    assert_eq!(ctx.session, s);
    assert_eq!(ctx.tenant, t);
    assert_eq!(ctx.user.last_login_at, Some(s.created_at));
    assert!(matches!(
        store.get_session_context(&SessionId::new()).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Revoking a session is idempotent and keeps the first time.
pub async fn revoking_a_session_is_idempotent_and_keeps_the_first_time(store: Arc<dyn Store>) {
    let (_, owner) = seed(&store).await;
    let s = session(&owner);
    store.create_session(&s).await.unwrap();
    let first = now();
    store.revoke_session(&s.id, first).await.unwrap();
    store.revoke_session(&s.id, first + Duration::minutes(5)).await.unwrap();
    assert_eq!(
        store.get_session_context(&s.id).await.unwrap().session.revoked_at,
        Some(first)
    );
}

/// A session naming a user of another tenant is refused.
pub async fn a_session_for_a_user_of_another_tenant_is_refused(store: Arc<dyn Store>) {
    let (_, a_owner) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let mut s = session(&a_owner);
    s.tenant_id = b.id.clone();
    assert!(matches!(store.create_session(&s).await, Err(StoreError::NotFound(_))));
}

/// Staff members are found by email whatever its case, and a duplicate email conflicts.
pub async fn staff_members_are_found_by_email_whatever_its_case_and_duplicates_conflict(store: Arc<dyn Store>) {
    let a = admin();
    store
        .create_admin_user(&a, &audit(None, "admin.created"))
        .await
        .unwrap();
    let found = store
        .find_admin_by_email(&a.email.to_uppercase())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.email, a.email.to_lowercase());
    assert_eq!(store.get_admin_user(&a.id).await.unwrap(), found);
    let mut dup = admin();
    dup.email = a.email.to_lowercase();
    match store.create_admin_user(&dup, &audit(None, "admin.created")).await {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("email"), "{msg}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(store.find_admin_by_email("nobody@irisx.test").await.unwrap().is_none());
    assert!(matches!(
        store.get_admin_user(&AdminUserId::new()).await,
        Err(StoreError::NotFound(_))
    ));
}

/// A staff session is found by its token hash, sets the last login, and revoking it is idempotent.
pub async fn a_staff_session_is_found_by_its_token_hash_and_revoking_it_is_idempotent(store: Arc<dyn Store>) {
    let a = admin();
    store
        .create_admin_user(&a, &audit(None, "admin.created"))
        .await
        .unwrap();
    let s = AdminSession {
        id: AdminSessionId::new(),
        admin_id: a.id.clone(),
        token_hash: "admin-token-hash".into(),
        created_at: now(),
        expires_at: now() + Duration::hours(4),
        revoked_at: None,
        ip: None,
        user_agent: Some("tests".into()),
    };
    store.create_admin_session(&s).await.unwrap();
    let (found, staff) = store.find_admin_session("admin-token-hash").await.unwrap().unwrap();
    assert_eq!(found, s);
    assert_eq!(staff.last_login_at, Some(s.created_at));
    let first = now();
    store.revoke_admin_session(&s.id, first).await.unwrap();
    store
        .revoke_admin_session(&s.id, first + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .find_admin_session("admin-token-hash")
            .await
            .unwrap()
            .unwrap()
            .0
            .revoked_at,
        Some(first)
    );
    assert!(store.find_admin_session("other").await.unwrap().is_none());
}

/// An API key reads back, and is found by its hash with its tenant.
pub async fn an_api_key_reads_back_and_is_found_by_its_hash_with_its_tenant(store: Arc<dyn Store>) {
    let (t, owner) = seed(&store).await;
    let mut key = api_key(&t.id);
    key.created_by = Some(owner.id.clone());
    store
        .create_api_key(&key, &audit(Some(&t.id), "api_key.created"))
        .await
        .unwrap();
    assert_eq!(store.get_api_key(&t.id, &key.id).await.unwrap(), key);
    let ctx = store.find_api_key_by_hash(&key.key_hash).await.unwrap().unwrap();
    assert_eq!((ctx.key, ctx.tenant), (key.clone(), t));
    assert!(store.find_api_key_by_hash("0000").await.unwrap().is_none());
    let dup = ApiKey {
        id: ApiKeyId::new(),
        ..key
    };
    let r = store.create_api_key(&dup, &audit(None, "api_key.created")).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
}

/// Tenant B cannot get, list or revoke tenant A's keys.
pub async fn tenant_b_cannot_get_list_or_revoke_tenant_a_keys(store: Arc<dyn Store>) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let key = api_key(&a.id);
    store
        .create_api_key(&key, &audit(Some(&a.id), "api_key.created"))
        .await
        .unwrap();
    assert!(matches!(
        store.get_api_key(&b.id, &key.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .list_api_keys(&b.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let r = store
        .revoke_api_key(&b.id, &key.id, &audit(Some(&b.id), "api_key.revoked"))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
    assert!(store.get_api_key(&a.id, &key.id).await.unwrap().revoked_at.is_none());
}

/// Revoking a key twice keeps the first time, and each revocation is audited.
pub async fn revoking_a_key_twice_keeps_the_first_time(store: Arc<dyn Store>) {
    let (t, _) = seed(&store).await;
    let key = api_key(&t.id);
    store
        .create_api_key(&key, &audit(Some(&t.id), "api_key.created"))
        .await
        .unwrap();
    let first = store
        .revoke_api_key(&t.id, &key.id, &audit(Some(&t.id), "api_key.revoked"))
        .await
        .unwrap();
    assert!(first.revoked_at.is_some());
    let second = store
        .revoke_api_key(&t.id, &key.id, &audit(Some(&t.id), "api_key.revoked"))
        .await
        .unwrap();
    assert_eq!(second.revoked_at, first.revoked_at);
    let f = AuditFilter {
        tenant_id: Some(t.id.clone()),
        action: Some("api_key.".into()),
        ..Default::default()
    };
    assert_eq!(
        store.list_audit(&f, &PageRequest::default()).await.unwrap().items.len(),
        3
    );
}

/// A tenant's keys list newest first across pages, revoked ones included.
pub async fn api_keys_list_newest_first_across_pages_revoked_ones_included(store: Arc<dyn Store>) {
    let (t, _) = seed(&store).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let k = api_key(&t.id);
        store
            .create_api_key(&k, &audit(Some(&t.id), "api_key.created"))
            .await
            .unwrap();
        ids.push(k.id);
    }
    store
        .revoke_api_key(&t.id, &ids[0], &audit(Some(&t.id), "api_key.revoked"))
        .await
        .unwrap();
    ids.reverse();
    let p1 = store
        .list_api_keys(&t.id, &PageRequest { cursor: None, limit: 3 })
        .await
        .unwrap();
    let p2 = store
        .list_api_keys(
            &t.id,
            &PageRequest {
                cursor: p1.next_cursor.clone(),
                limit: 3,
            },
        )
        .await
        .unwrap();
    assert!(p2.next_cursor.is_none());
    let seen: Vec<_> = p1.items.iter().chain(&p2.items).map(|k| k.id.clone()).collect();
    assert_eq!(seen, ids);
    assert!(p2.items.last().unwrap().revoked_at.is_some());
}

/// Touching a key writes only when the stored time is older than the interval.
pub async fn touching_a_key_writes_only_when_the_stored_time_is_older_than_the_interval(store: Arc<dyn Store>) {
    let (t, _) = seed(&store).await;
    let key = api_key(&t.id);
    store
        .create_api_key(&key, &audit(Some(&t.id), "api_key.created"))
        .await
        .unwrap();
    let t0 = now();
    store.touch_api_key(&key.id, t0, 60).await.unwrap();
    assert_eq!(store.get_api_key(&t.id, &key.id).await.unwrap().last_used_at, Some(t0));
    store
        .touch_api_key(&key.id, t0 + Duration::seconds(30), 60)
        .await
        .unwrap();
    assert_eq!(store.get_api_key(&t.id, &key.id).await.unwrap().last_used_at, Some(t0));
    let t2 = t0 + Duration::seconds(61);
    store.touch_api_key(&key.id, t2, 60).await.unwrap();
    assert_eq!(store.get_api_key(&t.id, &key.id).await.unwrap().last_used_at, Some(t2));
}
