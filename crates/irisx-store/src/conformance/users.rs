//! Cases for users: email uniqueness, tenant isolation, pagination, last-owner protection, passwords.

use std::collections::HashSet;
use std::sync::Arc;

use irisx_core::domain::{Role, UserStatus};
use irisx_core::id::{TenantId, UserId};
use irisx_core::page::PageRequest;
use irisx_core::ports::store::{Store, StoreError, UserFilter, UserPatch};

use super::*;

fn is_not_found<T: std::fmt::Debug>(r: Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::NotFound(_)))
}

fn is_conflict<T: std::fmt::Debug>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict(_)))
}

/// Emails are stored lower-cased and unique across tenants whatever their case.
pub async fn emails_are_unique_across_tenants_whatever_their_case(store: Arc<dyn Store>) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let mut u = user(&a.id, Role::Agent);
    u.email = "Bob.Smith@Example.com".into();
    store.create_user(&u, None).await.unwrap();
    assert_eq!(
        store.get_user(&a.id, &u.id).await.unwrap().email,
        "bob.smith@example.com"
    );
    let mut dup = user(&b.id, Role::Agent);
    dup.email = "BOB.SMITH@example.COM".into();
    let r = store.create_user(&dup, None).await;
    match r {
        Err(StoreError::Conflict(msg)) => assert!(msg.contains("email"), "{msg}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let (found, tenant) = store
        .find_user_by_email("bob.SMITH@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.id, tenant.id), (u.id, a.id));
    assert!(store.find_user_by_email("nobody@example.com").await.unwrap().is_none());
}

/// Tenant B cannot get, list, update, delete or change the password of tenant A's users.
pub async fn tenant_b_cannot_get_list_update_or_delete_tenant_a_users(store: Arc<dyn Store>) {
    let (a, a_owner) = seed(&store).await;
    let (b, b_owner) = seed(&store).await;
    let victim = add_user(&store, &a.id, Role::Agent).await;
    let au = audit(Some(&b.id), "user.updated");
    assert!(is_not_found(store.get_user(&b.id, &victim.id).await));
    let listed = store.list_users(&b.id, &PageRequest::default()).await.unwrap().items;
    assert_eq!(listed.iter().map(|u| &u.id).collect::<Vec<_>>(), vec![&b_owner.id]);
    let patch = UserPatch {
        name: Some("pwned".into()),
        ..Default::default()
    };
    assert!(is_not_found(store.update_user(&b.id, &victim.id, &patch, &au).await));
    assert!(is_not_found(store.delete_user(&b.id, &victim.id, &au).await));
    assert!(is_not_found(
        store.set_user_password(&b.id, &victim.id, "x", None, &au).await
    ));
    assert!(is_not_found(store.update_user(&b.id, &a_owner.id, &patch, &au).await));
    assert_eq!(store.get_user(&a.id, &victim.id).await.unwrap(), victim);
    let filter = UserFilter {
        tenant_id: Some(a.id.clone()),
        ..Default::default()
    };
    assert_eq!(
        store
            .list_all_users(&filter, &PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert_eq!(store.get_any_user(&victim.id).await.unwrap(), victim);
    assert!(is_not_found(store.get_any_user(&UserId::new()).await));
}

/// Users list newest first across pages; staff can filter all users by email.
pub async fn users_list_newest_first_across_pages(store: Arc<dyn Store>) {
    let (t, owner) = seed(&store).await;
    let mut ids = vec![owner.id.clone()];
    for _ in 0..6 {
        ids.push(add_user(&store, &t.id, Role::User).await.id);
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut page = PageRequest { cursor: None, limit: 3 };
    let mut sizes = Vec::new();
    loop {
        let p = store.list_users(&t.id, &page).await.unwrap();
        sizes.push(p.items.len());
        seen.extend(p.items.into_iter().map(|u| u.id));
        match p.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(sizes, [3, 3, 1]);
    assert_eq!(seen, ids);
    let needle = ids[2].as_str()[10..].to_uppercase();
    let filter = UserFilter {
        email_contains: Some(needle),
        ..Default::default()
    };
    let found = store
        .list_all_users(&filter, &PageRequest::default())
        .await
        .unwrap()
        .items;
    assert_eq!(
        found.into_iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![ids[2].clone()]
    );
}

/// The last active owner can be neither demoted, disabled nor deleted.
pub async fn the_last_active_owner_cannot_be_demoted_disabled_or_deleted(store: Arc<dyn Store>) {
    let (t, owner) = seed(&store).await;
    let au = || audit(Some(&t.id), "user.updated");
    let demote = UserPatch {
        role: Some(Role::Admin),
        ..Default::default()
    };
    let disable = UserPatch {
        status: Some(UserStatus::Disabled),
        ..Default::default()
    };
    assert!(is_conflict(&store.update_user(&t.id, &owner.id, &demote, &au()).await));
    assert!(is_conflict(&store.update_user(&t.id, &owner.id, &disable, &au()).await));
    assert!(is_conflict(&store.delete_user(&t.id, &owner.id, &au()).await));
    assert_eq!(store.get_user(&t.id, &owner.id).await.unwrap(), owner);

    let second = add_user(&store, &t.id, Role::Owner).await;
    let demoted = store.update_user(&t.id, &owner.id, &demote, &au()).await.unwrap();
    assert_eq!(demoted.role, Role::Admin);
    assert!(is_conflict(&store.delete_user(&t.id, &second.id, &au()).await));
    store.delete_user(&t.id, &owner.id, &au()).await.unwrap();
    assert!(is_not_found(store.get_user(&t.id, &owner.id).await));
}

/// Updating a user changes only the given fields.
pub async fn updating_a_user_changes_only_the_given_fields(store: Arc<dyn Store>) {
    let (t, _) = seed(&store).await;
    let u = add_user(&store, &t.id, Role::Agent).await;
    let patch = UserPatch {
        name: Some("Grace".into()),
        ..Default::default()
    };
    let updated = store
        .update_user(&t.id, &u.id, &patch, &audit(Some(&t.id), "user.updated"))
        .await
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.role, updated.status),
        ("Grace", Role::Agent, UserStatus::Active)
    );
    assert_eq!(store.get_user(&t.id, &u.id).await.unwrap(), updated);
}

/// A password change revokes every other session of the user, and deleting a user deletes its sessions.
pub async fn a_password_change_revokes_every_other_session_and_deletion_removes_them(store: Arc<dyn Store>) {
    let (t, owner) = seed(&store).await;
    let u = add_user(&store, &t.id, Role::Agent).await;
    let sessions: Vec<_> = (0..3).map(|_| session(&u)).collect();
    for s in &sessions {
        store.create_session(s).await.unwrap();
    }
    let owner_session = session(&owner);
    store.create_session(&owner_session).await.unwrap();
    let au = audit(Some(&t.id), "user.password_changed");
    store
        .set_user_password(&t.id, &u.id, "$argon2id$new", Some(&sessions[0].id), &au)
        .await
        .unwrap();
    assert_eq!(
        store.get_user(&t.id, &u.id).await.unwrap().password_hash,
        "$argon2id$new"
    );
    let revoked: Vec<bool> = {
        let mut v = Vec::new();
        for s in &sessions {
            v.push(
                store
                    .get_session_context(&s.id)
                    .await
                    .unwrap()
                    .session
                    .revoked_at
                    .is_some(),
            );
        }
        v
    };
    assert_eq!(revoked, [false, true, true]);
    assert!(
        store
            .get_session_context(&owner_session.id)
            .await
            .unwrap()
            .session
            .revoked_at
            .is_none()
    );

    store
        .delete_user(&t.id, &u.id, &audit(Some(&t.id), "user.deleted"))
        .await
        .unwrap();
    let gone: HashSet<bool> = {
        let mut v = HashSet::new();
        for s in &sessions {
            v.insert(is_not_found(store.get_session_context(&s.id).await));
        }
        v
    };
    assert_eq!(gone, HashSet::from([true]));
}

/// Creating a user in a missing tenant is not found.
pub async fn creating_a_user_in_a_missing_tenant_is_not_found(store: Arc<dyn Store>) {
    let u = user(&TenantId::new(), Role::User);
    assert!(is_not_found(store.create_user(&u, None).await));
}
