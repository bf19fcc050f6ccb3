//! Cases for tenants: creation, reads, lists, changes, deletion and purge.

use std::sync::Arc;

use irisx_core::audit::AuditFilter;
use irisx_core::domain::{Plan, TenantStatus};
use irisx_core::id::{TaskId, TenantId};
use irisx_core::page::PageRequest;
use irisx_core::ports::store::{Store, StoreError, TenantFilter, TenantPatch};
use irisx_core::task::{NewTask, Task, TaskState, TenantPurgeV1};

use super::*;

fn purge_task(t: &TenantId) -> NewTask {
    let mut task = NewTask::now(Task::TenantPurgeV1(TenantPurgeV1 { tenant_id: t.clone() }));
    task.available_at = now() - time::Duration::seconds(1);
    task
}

/// Marks `t` deleting and returns its purge task id.
pub async fn begin_deletion(store: &Arc<dyn Store>, t: &TenantId) -> TaskId {
    let task = purge_task(t);
    store
        .begin_tenant_deletion(t, &task, &audit(Some(t), "tenant.deleted"))
        .await
        .expect("begin deletion");
    task.id
}

/// A tenant created with its owner reads back, with its owner and an audit entry.
pub async fn a_tenant_created_with_its_owner_reads_back_with_its_owner_and_an_audit_entry(store: Arc<dyn Store>) {
    store.ping().await.unwrap();
    let (t, owner) = seed(&store).await;
    assert_eq!(store.get_tenant(&t.id).await.unwrap(), t);
    assert_eq!(store.get_user(&t.id, &owner.id).await.unwrap(), owner);
    let (found, tenant) = store
        .find_user_by_email(&owner.email.to_uppercase())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found, tenant), (owner, t.clone()));
    let filter = AuditFilter {
        tenant_id: Some(t.id.clone()),
        ..Default::default()
    };
    let entries = store.list_audit(&filter, &PageRequest::default()).await.unwrap().items;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, "tenant.created");
}

/// A missing tenant is not found.
pub async fn a_missing_tenant_is_not_found(store: Arc<dyn Store>) {
    assert!(matches!(
        store.get_tenant(&TenantId::new()).await,
        Err(StoreError::NotFound(_))
    ));
    let patch = TenantPatch {
        name: Some("x".into()),
        ..Default::default()
    };
    let r = store
        .update_tenant(&TenantId::new(), &patch, &audit(None, "tenant.updated"))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
}

/// Tenants list newest first across pages, and filter by status and by name whatever its case.
pub async fn tenants_list_newest_first_across_pages_and_filter_by_status_and_name(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(seed(&store).await.0.id);
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut page = PageRequest { cursor: None, limit: 2 };
    loop {
        let p = store.list_tenants(&TenantFilter::default(), &page).await.unwrap();
        assert!(p.items.len() <= 2);
        seen.extend(p.items.iter().map(|t| t.id.clone()));
        match p.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let suspend = TenantPatch {
        status: Some(TenantStatus::Suspended),
        ..Default::default()
    };
    store
        .update_tenant(&ids[1], &suspend, &audit(Some(&ids[1]), "tenant.suspended"))
        .await
        .unwrap();
    let by_status = TenantFilter {
        status: Some(TenantStatus::Suspended),
        ..Default::default()
    };
    let p = store.list_tenants(&by_status, &PageRequest::default()).await.unwrap();
    assert_eq!(p.items.iter().map(|t| &t.id).collect::<Vec<_>>(), vec![&ids[1]]);
    let name = store.get_tenant(&ids[3]).await.unwrap().name.to_uppercase();
    let by_name = TenantFilter {
        name_contains: Some(name),
        ..Default::default()
    };
    let p = store.list_tenants(&by_name, &PageRequest::default()).await.unwrap();
    assert_eq!(p.items.iter().map(|t| &t.id).collect::<Vec<_>>(), vec![&ids[3]]);
    let none = TenantFilter {
        name_contains: Some("%".into()),
        ..Default::default()
    };
    assert!(
        store
            .list_tenants(&none, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// Updating a tenant changes only the given fields and refuses the `deleting` status.
pub async fn updating_a_tenant_changes_only_the_given_fields_and_refuses_the_deleting_status(store: Arc<dyn Store>) {
    let (t, _) = seed(&store).await;
    let patch = TenantPatch {
        plan: Some(Plan::Growth),
        ..Default::default()
    };
    let updated = store
        .update_tenant(&t.id, &patch, &audit(Some(&t.id), "tenant.updated"))
        .await
        .unwrap();
    assert_eq!(
        (updated.plan, &updated.name, updated.status),
        (Plan::Growth, &t.name, TenantStatus::Active)
    );
    assert!(updated.updated_at >= t.updated_at);
    assert_eq!(store.get_tenant(&t.id).await.unwrap(), updated);
    let deleting = TenantPatch {
        status: Some(TenantStatus::Deleting),
        ..Default::default()
    };
    let r = store
        .update_tenant(&t.id, &deleting, &audit(Some(&t.id), "tenant.updated"))
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
}

/// A tenant being deleted is purged once, with its users, sessions and keys, and its task completed; other
/// tenants and the audit log are untouched.
pub async fn a_tenant_being_deleted_is_purged_once_with_its_users_sessions_and_keys(store: Arc<dyn Store>) {
    let (t, owner) = seed(&store).await;
    let (other, other_owner) = seed(&store).await;
    let s = session(&owner);
    store.create_session(&s).await.unwrap();
    let key = api_key(&t.id);
    store
        .create_api_key(&key, &audit(Some(&t.id), "api_key.created"))
        .await
        .unwrap();
    let task = begin_deletion(&store, &t.id).await;
    assert_eq!(store.get_tenant(&t.id).await.unwrap().status, TenantStatus::Deleting);
    assert_eq!(store.task_state(&task).await.unwrap(), Some(TaskState::Pending));

    assert!(
        store
            .purge_tenant(&t.id, &task, &audit(Some(&t.id), "tenant.purged"))
            .await
            .unwrap()
    );
    assert!(matches!(store.get_tenant(&t.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(
        store.get_any_user(&owner.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.get_session_context(&s.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.find_api_key_by_hash(&key.key_hash).await.unwrap().is_none());
    assert_eq!(store.task_state(&task).await.unwrap(), Some(TaskState::Completed));
    let kept = AuditFilter {
        tenant_id: Some(t.id.clone()),
        ..Default::default()
    };
    let actions: Vec<_> = store
        .list_audit(&kept, &PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["tenant.purged", "tenant.deleted", "api_key.created", "tenant.created"]
    );

    assert!(
        !store
            .purge_tenant(&t.id, &task, &audit(Some(&t.id), "tenant.purged"))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .list_audit(&kept, &PageRequest::default())
            .await
            .unwrap()
            .items
            .len(),
        4
    );
    assert_eq!(store.get_tenant(&other.id).await.unwrap(), other);
    assert_eq!(store.get_user(&other.id, &other_owner.id).await.unwrap(), other_owner);
}

/// Purging a tenant that is not being deleted is refused, and changes nothing.
pub async fn purging_a_tenant_not_being_deleted_is_refused_without_effect(store: Arc<dyn Store>) {
    let (t, owner) = seed(&store).await;
    let (doomed, _) = seed(&store).await;
    let task = begin_deletion(&store, &doomed.id).await;
    let r = store
        .purge_tenant(&t.id, &task, &audit(Some(&t.id), "tenant.purged"))
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(store.get_user(&t.id, &owner.id).await.unwrap(), owner);
    assert_eq!(store.task_state(&task).await.unwrap(), Some(TaskState::Pending));
}

/// Beginning the deletion of a tenant twice is refused; of a missing tenant, not found.
pub async fn beginning_the_deletion_of_a_tenant_twice_is_refused(store: Arc<dyn Store>) {
    let (t, _) = seed(&store).await;
    begin_deletion(&store, &t.id).await;
    let again = purge_task(&t.id);
    let r = store
        .begin_tenant_deletion(&t.id, &again, &audit(Some(&t.id), "tenant.deleted"))
        .await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(store.task_state(&again.id).await.unwrap(), None);
    let missing = TenantId::new();
    let r = store
        .begin_tenant_deletion(&missing, &purge_task(&missing), &audit(None, "tenant.deleted"))
        .await;
    assert!(matches!(r, Err(StoreError::NotFound(_))), "{r:?}");
}
