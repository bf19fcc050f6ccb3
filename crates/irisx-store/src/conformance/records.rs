//! Cases for idempotency records and the audit log.

use std::sync::Arc;

use irisx_core::audit::{Actor, ActorKind, AuditEntry, AuditFilter};
use irisx_core::page::PageRequest;
use irisx_core::ports::store::{IdempotencyRecord, Store};
use time::Duration;

use super::*;

fn record(scope: &str, key: &str, hash: &str, ttl: Duration) -> IdempotencyRecord {
    IdempotencyRecord {
        scope: scope.into(),
        key: key.into(),
        request_hash: hash.into(),
        status_code: 202,
        response_body: format!("{{\"hash\":\"{hash}\"}}"),
        created_at: now(),
        expires_at: now() + ttl,
    }
}

/// An idempotency record is returned until it expires, the first one is kept, an expired one is replaced,
/// and pruning deletes expired ones.
pub async fn idempotency_keeps_the_first_record_until_it_expires(store: Arc<dyn Store>) {
    assert!(store.get_idempotency("ten_a", "k1", now()).await.unwrap().is_none());
    let first = record("ten_a", "k1", "h1", Duration::hours(1));
    assert_eq!(store.put_idempotency(&first).await.unwrap(), first);
    assert_eq!(
        store
            .put_idempotency(&record("ten_a", "k1", "h2", Duration::hours(1)))
            .await
            .unwrap(),
        first
    );
    assert_eq!(
        store.get_idempotency("ten_a", "k1", now()).await.unwrap(),
        Some(first.clone())
    );
    assert!(store.get_idempotency("ten_b", "k1", now()).await.unwrap().is_none());
    assert!(
        store
            .get_idempotency("ten_a", "k1", now() + Duration::hours(2))
            .await
            .unwrap()
            .is_none()
    );

    let stale = record("ten_a", "k2", "old", Duration::seconds(-1));
    store.put_idempotency(&stale).await.unwrap();
    let fresh = record("ten_a", "k2", "new", Duration::hours(1));
    assert_eq!(store.put_idempotency(&fresh).await.unwrap(), fresh);

    store
        .put_idempotency(&record("ten_a", "k3", "gone", Duration::seconds(-1)))
        .await
        .unwrap();
    assert_eq!(store.prune_idempotency(now()).await.unwrap(), 1);
    assert!(store.get_idempotency("ten_a", "k1", now()).await.unwrap().is_some());
}

/// Twenty concurrent puts of one key all get the same, first-written record back.
pub async fn twenty_concurrent_puts_of_one_key_all_return_the_same_record(store: Arc<dyn Store>) {
    let puts = (0..20).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .put_idempotency(&record("ten_c", "same", &format!("h{i}"), Duration::hours(1)))
                .await
        })
    });
    let mut kept = Vec::new();
    for p in puts.collect::<Vec<_>>() {
        kept.push(p.await.unwrap().unwrap());
    }
    let stored = store.get_idempotency("ten_c", "same", now()).await.unwrap().unwrap();
    assert!(
        kept.iter().all(|r| *r == stored),
        "every caller must see the one stored record"
    );
}

/// Audit entries list newest first across pages, filtered by tenant, actor, action (exact or prefix) and time.
pub async fn audit_entries_list_newest_first_with_filters(store: Arc<dyn Store>) {
    let (t, owner) = seed(&store).await;
    let actor = Actor {
        kind: ActorKind::User,
        id: Some(owner.id.to_string()),
        ip: Some("192.0.2.9".into()),
        user_agent: None,
    };
    let start = now();
    let mut mine = Vec::new();
    for action in ["tenant.updated", "tenant", "api_key.created", "tenant.suspended"] {
        let mut e = AuditEntry::new(&actor, action).tenant(&t.id).target("tenant", &t.id);
        e.details = serde_json::json!({"n": action.len()});
        e.created_at = now();
        store.append_audit(&e).await.unwrap();
        mine.push(e);
    }
    store.append_audit(&audit(None, "tenant.updated")).await.unwrap();
    let page = PageRequest::default();
    let by_tenant = AuditFilter {
        tenant_id: Some(t.id.clone()),
        ..Default::default()
    };
    let all = store.list_audit(&by_tenant, &page).await.unwrap().items;
    assert_eq!(all.len(), 5);
    assert_eq!(all[0], mine[3]);
    let prefix = AuditFilter {
        action: Some("tenant.".into()),
        ..by_tenant.clone()
    };
    let actions: Vec<_> = store
        .list_audit(&prefix, &page)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["tenant.suspended", "tenant.updated", "tenant.created"]);
    let exact = AuditFilter {
        action: Some("tenant".into()),
        ..by_tenant.clone()
    };
    assert_eq!(
        store.list_audit(&exact, &page).await.unwrap().items,
        vec![mine[1].clone()]
    );
    let by_actor = AuditFilter {
        actor_kind: Some(ActorKind::User),
        actor_id: Some(owner.id.to_string()),
        ..Default::default()
    };
    assert_eq!(store.list_audit(&by_actor, &page).await.unwrap().items.len(), 4);
    let in_time = AuditFilter {
        from: Some(start),
        to: Some(mine[3].created_at),
        ..by_actor.clone()
    };
    let timed = store.list_audit(&in_time, &page).await.unwrap().items;
    assert!(
        timed
            .iter()
            .all(|e| e.created_at >= start && e.created_at < mine[3].created_at)
    );
    let p1 = store
        .list_audit(&AuditFilter::default(), &PageRequest { cursor: None, limit: 4 })
        .await
        .unwrap();
    let p2 = store
        .list_audit(
            &AuditFilter::default(),
            &PageRequest {
                cursor: p1.next_cursor,
                limit: 4,
            },
        )
        .await
        .unwrap();
    assert_eq!((p1.items.len(), p2.items.len(), p2.next_cursor), (4, 2, None));
    assert!(p1.items.last().unwrap().id > p2.items[0].id);
}
