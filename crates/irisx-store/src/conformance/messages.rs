//! Cases for messages: creation with event and task, isolation, lists, cancellation, lookup, purge.

use irisx_core::id::TaskId;
use irisx_core::page::{Page, PageRequest};
use irisx_core::ports::messaging::MessageFilter;
use irisx_core::ports::store::StoreError;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::model::{Channel, Direction, OptOut};
use irisx_core::sms::provider::StatusUpdate;
use irisx_core::task::{NewTask, Task, TaskState, TenantPurgeV1};
use time::Duration;

use super::msg_fixtures::*;
use super::*;

fn all() -> PageRequest {
    PageRequest::default()
}

/// Stores `m` with its `message.queued` event and a new send task; returns the task id.
pub async fn queue_message(msg: &Arc<dyn MessagingStore>, m: &Message) -> TaskId {
    let task = send_task();
    msg.create_message(m, &event(&m.tenant_id, "message.queued", m.id.as_str()), &task)
        .await
        .unwrap();
    task.id
}

use irisx_core::sms::model::Message;

/// Concurrent `create_message` calls are written together (group commit): every one is stored with its task,
/// and a message that cannot be written (a duplicate id) fails alone, never taking the others with it.
pub async fn concurrent_messages_are_all_stored_and_a_bad_one_fails_alone((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let first = message(&a.id, "+15551230000", &[]);
    queue_message(&msg, &first).await;
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..40 {
        let msg = msg.clone();
        let m = if i == 20 {
            first.clone()
        } else {
            message(&a.id, &format!("+1555123{i:04}"), &[])
        };
        writes.spawn(async move {
            let task = send_task();
            let e = event(&m.tenant_id, "message.queued", m.id.as_str());
            (m.clone(), task.id.clone(), msg.create_message(&m, &e, &task).await)
        });
    }
    let (mut stored, mut refused) = (0, 0);
    while let Some(done) = writes.join_next().await {
        let (m, task, result) = done.unwrap();
        if m.id == first.id {
            assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
            assert_eq!(store.task_state(&task).await.unwrap(), None);
            refused += 1;
        } else {
            result.unwrap();
            assert_eq!(msg.get_message(&a.id, &m.id).await.unwrap(), m);
            assert_eq!(store.task_state(&task).await.unwrap(), Some(TaskState::Pending));
            stored += 1;
        }
    }
    assert_eq!((stored, refused), (39, 1));
}

/// `create_message` writes the message, its event and its task together; the relay then claims the task.
pub async fn creating_a_message_writes_its_event_and_a_pending_task_the_relay_claims((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let m = message(&a.id, "+15551230000", &["welcome"]);
    let task = queue_message(&msg, &m).await;
    assert_eq!(msg.get_message(&a.id, &m.id).await.unwrap(), m);
    assert_eq!(msg.get_message_any(&m.id).await.unwrap(), m);
    assert_eq!(store.task_state(&task).await.unwrap(), Some(TaskState::Pending));
    let claimed = store.claim_outbox(10, now() - Duration::hours(1)).await.unwrap();
    assert_eq!(claimed.iter().map(|e| &e.id).collect::<Vec<_>>(), vec![&task]);
    let events = msg
        .list_events(&a.id, None, Some(m.id.as_str()), &all())
        .await
        .unwrap()
        .items;
    assert_eq!(
        events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(),
        vec!["message.queued"]
    );

    // A failing write leaves nothing behind: the same message again conflicts, and its task is not stored.
    let again = send_task();
    let dup = msg
        .create_message(&m, &event(&a.id, "message.queued", m.id.as_str()), &again)
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(store.task_state(&again.id).await.unwrap(), None);

    let inbound = Message {
        direction: irisx_core::sms::model::Direction::Inbound,
        status: DeliveryStatus::Received,
        ..message(&a.id, "+15550000001", &[])
    };
    msg.create_inbound_message(&inbound, &event(&a.id, "message.received", inbound.id.as_str()))
        .await
        .unwrap();
    assert_eq!(msg.get_message(&a.id, &inbound.id).await.unwrap(), inbound);
}

/// Tenant B gets NotFound or nothing for tenant A's messages, events, usage and opt-outs.
pub async fn tenant_b_cannot_read_list_or_cancel_tenant_a_messages_nor_see_its_events_usage_or_opt_outs(
    (store, msg): Both,
) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let m = Message {
        send_at: Some(now() + Duration::hours(1)),
        ..message(&a.id, "+15551230000", &[])
    };
    queue_message(&msg, &m).await;
    msg.add_opt_out(&OptOut {
        tenant_id: a.id.clone(),
        number: "+15551230000".into(),
        source: "api".into(),
        created_at: now(),
    })
    .await
    .unwrap();
    let acc = account(None);
    msg.create_provider_account(&acc, &msg_audit(None)).await.unwrap();
    let t = send_task();
    let m2 = message(&a.id, "+15551230001", &[]);
    msg.create_message(&m2, &event(&a.id, "message.queued", m2.id.as_str()), &t)
        .await
        .unwrap();
    assert!(
        msg.record_sent(&m2.id, &sent(&m2, &acc.id, "SM1"), &t.id)
            .await
            .unwrap()
    );

    assert!(matches!(
        msg.get_message(&b.id, &m.id).await,
        Err(StoreError::NotFound(_))
    ));
    let cancel = msg
        .cancel_message(&b.id, &m.id, &event(&b.id, "message.canceled", m.id.as_str()))
        .await;
    assert!(matches!(cancel, Err(StoreError::NotFound(_))), "{cancel:?}");
    assert_eq!(
        msg.get_message(&a.id, &m.id).await.unwrap().status,
        DeliveryStatus::Queued
    );
    assert!(
        msg.list_messages(&b.id, &MessageFilter::default(), &all())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        msg.list_messages(&a.id, &MessageFilter::default(), &all())
            .await
            .unwrap()
            .items
            .len(),
        2
    );
    assert!(
        msg.list_events(&b.id, None, None, &all())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(!msg.is_opted_out(&b.id, "+15551230000").await.unwrap());
    assert!(msg.is_opted_out(&a.id, "+15551230000").await.unwrap());
    assert!(!msg.remove_opt_out(&b.id, "+15551230000").await.unwrap());
    assert!(msg.list_opt_outs(&b.id, &all()).await.unwrap().items.is_empty());
    let (from, to) = (now() - Duration::hours(1), now() + Duration::hours(1));
    assert!(msg.usage_totals(&b.id, from, to, None).await.unwrap().is_empty());
    assert_eq!(msg.usage_totals(&a.id, from, to, None).await.unwrap().len(), 1);
}

/// Lists are newest first in cursor pages, and filter by channel, status, to, from, tag and creation time.
pub async fn messages_list_newest_first_across_pages_with_status_address_tag_and_time_filters((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let base = now() - Duration::minutes(10);
    let mut made = Vec::new();
    for i in 0..5i64 {
        let tags: &[&str] = if i % 2 == 0 { &["promo", "q3"] } else { &["promotion"] };
        let m = Message {
            created_at: base + Duration::minutes(i),
            from: format!("+1555000000{}", i % 2),
            status: if i == 4 {
                DeliveryStatus::Failed
            } else {
                DeliveryStatus::Queued
            },
            ..message(&a.id, &format!("+1555123000{i}"), tags)
        };
        queue_message(&msg, &m).await;
        made.push(m);
    }
    let ids = |p: &Page<Message>| p.items.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
    let (none, two) = (MessageFilter::default(), PageRequest { cursor: None, limit: 2 });
    let first = msg.list_messages(&a.id, &none, &two).await.unwrap();
    assert_eq!(ids(&first), vec![made[4].id.clone(), made[3].id.clone()]);
    let rest = PageRequest {
        cursor: first.next_cursor.clone(),
        limit: 3,
    };
    let rest = msg
        .list_messages(&a.id, &MessageFilter::default(), &rest)
        .await
        .unwrap();
    assert_eq!(
        ids(&rest),
        vec![made[2].id.clone(), made[1].id.clone(), made[0].id.clone()]
    );
    assert_eq!(rest.next_cursor, None);

    let list = |f: MessageFilter| {
        let msg = msg.clone();
        let tenant = a.id.clone();
        async move { ids(&msg.list_messages(&tenant, &f, &all()).await.unwrap()) }
    };
    let f = MessageFilter {
        status: Some(DeliveryStatus::Failed),
        ..Default::default()
    };
    assert_eq!(list(f).await, vec![made[4].id.clone()]);
    let f = MessageFilter {
        to: Some("+15551230002".into()),
        ..Default::default()
    };
    assert_eq!(list(f).await, vec![made[2].id.clone()]);
    let f = MessageFilter {
        from: Some("+15550000001".into()),
        ..Default::default()
    };
    assert_eq!(list(f).await, vec![made[3].id.clone(), made[1].id.clone()]);
    let f = MessageFilter {
        tag: Some("promo".into()),
        ..Default::default()
    };
    assert_eq!(
        list(f).await,
        vec![made[4].id.clone(), made[2].id.clone(), made[0].id.clone()]
    );
    let f = MessageFilter {
        tag: Some("promo%".into()),
        ..Default::default()
    };
    assert!(list(f).await.is_empty());
    let f = MessageFilter {
        channel: Some(Channel::Email),
        ..Default::default()
    };
    assert!(list(f).await.is_empty());
    let f = MessageFilter {
        direction: Some(Direction::Inbound),
        ..Default::default()
    };
    assert!(list(f).await.is_empty(), "every message here was sent");
    let f = MessageFilter {
        direction: Some(Direction::Outbound),
        ..Default::default()
    };
    assert_eq!(list(f).await.len(), made.len());
    let f = MessageFilter {
        created_from: Some(made[1].created_at),
        created_to: Some(made[3].created_at),
        ..Default::default()
    };
    assert_eq!(list(f).await, vec![made[2].id.clone(), made[1].id.clone()]);
}

/// Only a queued message whose `send_at` is ahead can be canceled; its task fails with it. Anything else is a
/// Conflict that changes nothing.
pub async fn only_a_queued_message_scheduled_for_later_is_canceled_and_its_task_then_fails((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let later = Message {
        send_at: Some(now() + Duration::hours(1)),
        ..message(&a.id, "+15551230000", &[])
    };
    let task = queue_message(&msg, &later).await;
    let canceled = msg
        .cancel_message(&a.id, &later.id, &event(&a.id, "message.canceled", later.id.as_str()))
        .await
        .unwrap();
    assert_eq!(canceled.status, DeliveryStatus::Canceled);
    assert_eq!(
        msg.get_message(&a.id, &later.id).await.unwrap().status,
        DeliveryStatus::Canceled
    );
    assert_eq!(store.task_state(&task).await.unwrap(), Some(TaskState::Failed));
    let events = msg
        .list_events(&a.id, Some("message.canceled"), None, &all())
        .await
        .unwrap()
        .items;
    assert_eq!(events.len(), 1);

    let now_msg = message(&a.id, "+15551230001", &[]);
    let past = Message {
        send_at: Some(now() - Duration::seconds(1)),
        ..message(&a.id, "+15551230002", &[])
    };
    for m in [&now_msg, &past] {
        let t = queue_message(&msg, m).await;
        let refused = msg
            .cancel_message(&a.id, &m.id, &event(&a.id, "message.canceled", m.id.as_str()))
            .await;
        assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
        assert_eq!(store.task_state(&t).await.unwrap(), Some(TaskState::Pending));
        assert_eq!(
            msg.get_message(&a.id, &m.id).await.unwrap().status,
            DeliveryStatus::Queued
        );
    }
    let twice = msg
        .cancel_message(&a.id, &later.id, &event(&a.id, "message.canceled", later.id.as_str()))
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
    assert_eq!(
        msg.list_events(&a.id, Some("message.canceled"), None, &all())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    let missing = irisx_core::id::MessageId::new();
    let gone = msg
        .cancel_message(&a.id, &missing, &event(&a.id, "message.canceled", missing.as_str()))
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))));
}

/// A sent message is found by its account and provider id, and by nothing else.
pub async fn a_message_is_found_by_its_account_and_provider_id((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let (acc, other) = (account(None), account(None));
    msg.create_provider_account(&acc, &msg_audit(None)).await.unwrap();
    msg.create_provider_account(&other, &msg_audit(None)).await.unwrap();
    let m = message(&a.id, "+15551230000", &[]);
    let task = queue_message(&msg, &m).await;
    assert_eq!(msg.find_message_by_provider_id(&acc.id, "SM123").await.unwrap(), None);
    msg.record_sent(&m.id, &sent(&m, &acc.id, "SM123"), &task)
        .await
        .unwrap();
    let found = msg
        .find_message_by_provider_id(&acc.id, "SM123")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, m.id);
    assert_eq!(msg.find_message_by_provider_id(&other.id, "SM123").await.unwrap(), None);
    assert_eq!(msg.find_message_by_provider_id(&acc.id, "SM124").await.unwrap(), None);
}

/// A parked receipt is taken once, by account and provider id, oldest first; old ones are pruned.
pub async fn parked_receipts_are_taken_once_oldest_first_and_pruned_when_old((_, msg): Both) {
    let (acc, other) = (account(None), account(None));
    msg.create_provider_account(&acc, &msg_audit(None)).await.unwrap();
    msg.create_provider_account(&other, &msg_audit(None)).await.unwrap();
    let receipt = |status: DeliveryStatus| StatusUpdate {
        provider_message_id: "SM9".into(),
        status,
        provider_status: status.as_str().into(),
        error_code: None,
        occurred_at: None,
        raw: serde_json::json!({"status": status.as_str()}),
    };
    let t0 = now() - Duration::seconds(10);
    msg.park_receipt(&acc.id, &receipt(DeliveryStatus::Delivered), t0 + Duration::seconds(2))
        .await
        .unwrap();
    msg.park_receipt(&acc.id, &receipt(DeliveryStatus::Sent), t0)
        .await
        .unwrap();
    msg.park_receipt(&other.id, &receipt(DeliveryStatus::Sent), t0)
        .await
        .unwrap();
    let taken = msg.take_parked_receipts(&acc.id, "SM9").await.unwrap();
    let statuses: Vec<_> = taken.iter().map(|(u, _)| u.status).collect();
    assert_eq!(statuses, [DeliveryStatus::Sent, DeliveryStatus::Delivered]);
    assert_eq!(taken[1].0, receipt(DeliveryStatus::Delivered));
    assert!(msg.take_parked_receipts(&acc.id, "SM9").await.unwrap().is_empty());
    assert_eq!(msg.prune_parked_receipts(t0 + Duration::seconds(1)).await.unwrap(), 1);
    assert!(msg.take_parked_receipts(&other.id, "SM9").await.unwrap().is_empty());
}

/// Purging a tenant removes its accounts, routes, numbers, messages and everything about them.
pub async fn purging_a_tenant_removes_its_messaging_rows((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let acc = account(Some(&a.id));
    let au = || msg_audit(Some(&a.id));
    msg.create_provider_account(&acc, &au()).await.unwrap();
    msg.create_route(&route(Some(&a.id), &acc.id, "+1", 1, 0), &au())
        .await
        .unwrap();
    msg.create_phone_number(&number(Some(&a.id), Some(&acc.id), "+15550003333"), &au())
        .await
        .unwrap();
    let m = message(&a.id, "+15551230000", &["x"]);
    let task = queue_message(&msg, &m).await;
    msg.record_sent(&m.id, &sent(&m, &acc.id, "SM9"), &task).await.unwrap();
    let opt = OptOut {
        tenant_id: a.id.clone(),
        number: "+15551230000".into(),
        source: "api".into(),
        created_at: now(),
    };
    msg.add_opt_out(&opt).await.unwrap();
    let kept = message(&b.id, "+15551230000", &[]);
    queue_message(&msg, &kept).await;

    let purge = NewTask::now(Task::TenantPurgeV1(TenantPurgeV1 {
        tenant_id: a.id.clone(),
    }));
    store
        .begin_tenant_deletion(&a.id, &purge, &audit(Some(&a.id), "tenant.deleted"))
        .await
        .unwrap();
    assert!(
        store
            .purge_tenant(&a.id, &purge.id, &audit(Some(&a.id), "tenant.purged"))
            .await
            .unwrap()
    );

    assert!(matches!(msg.get_message_any(&m.id).await, Err(StoreError::NotFound(_))));
    assert!(matches!(
        msg.get_provider_account_any(&acc.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(msg.find_phone_number("+15550003333").await.unwrap(), None);
    assert!(msg.list_attempts(&m.id).await.unwrap().is_empty());
    assert!(msg.list_routes(Some(&a.id), &all()).await.unwrap().items.is_empty());
    assert!(
        msg.list_events(&a.id, None, None, &all())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(!msg.is_opted_out(&a.id, "+15551230000").await.unwrap());
    let (from, to) = (now() - Duration::hours(1), now() + Duration::hours(1));
    assert!(msg.usage_totals(&a.id, from, to, None).await.unwrap().is_empty());
    assert_eq!(msg.find_message_by_provider_id(&acc.id, "SM9").await.unwrap(), None);
    assert_eq!(msg.get_message(&b.id, &kept.id).await.unwrap(), kept);
}
