//! Cases for what the worker and receipts record (sends, failures, status changes), opt-outs, usage and events.

use irisx_core::id::StatusChangeId;
use irisx_core::page::{Page, PageRequest};
use irisx_core::ports::messaging::UsageTotal;
use irisx_core::ports::store::StoreError;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::model::{AttemptOutcome, Channel, Event, Message, OptOut, StatusChange, UsageRecord};
use irisx_core::task::TaskState;
use serde_json::json;
use time::Duration;

use super::messages::queue_message;
use super::msg_fixtures::*;
use super::*;

fn all() -> PageRequest {
    PageRequest::default()
}

fn change(m: &Message, status: DeliveryStatus, applied: bool) -> StatusChange {
    StatusChange {
        id: StatusChangeId::new(),
        message_id: m.id.clone(),
        tenant_id: m.tenant_id.clone(),
        status,
        provider_status: Some(status.as_str().to_uppercase()),
        error_code: None,
        applied,
        raw: json!({"s": status.as_str()}),
        occurred_at: now(),
    }
}

/// `record_sent` stores the account, provider id, status, price, attempt, usage and event and completes the
/// task together; run again for the same task it returns false and changes nothing.
pub async fn record_sent_stores_the_send_and_completes_the_task_once_and_a_redelivery_changes_nothing(
    (store, msg): Both,
) {
    let (a, _) = seed(&store).await;
    let acc = account(None);
    msg.create_provider_account(&acc, &msg_audit(None)).await.unwrap();
    let m = message(&a.id, "+15551230000", &[]);
    let task = queue_message(&msg, &m).await;
    let retry = attempt(&m, &acc.id, AttemptOutcome::Retryable);
    msg.record_attempt(&retry).await.unwrap();
    let s = sent(&m, &acc.id, "SM1");
    assert!(msg.record_sent(&m.id, &s, &task).await.unwrap());
    assert_eq!(store.task_state(&task).await.unwrap(), Some(TaskState::Completed));
    let got = msg.get_message(&a.id, &m.id).await.unwrap();
    assert_eq!(got.account_id.as_ref(), Some(&acc.id));
    assert_eq!(got.provider_message_id.as_deref(), Some("SM1"));
    assert_eq!(got.status, DeliveryStatus::Sent);
    assert_eq!((got.price_micros, got.currency.as_deref()), (Some(7_500), Some("USD")));
    assert_eq!(
        msg.list_attempts(&m.id).await.unwrap(),
        vec![retry.clone(), s.attempt.clone()]
    );
    let (from, to) = (now() - Duration::hours(1), now() + Duration::hours(1));
    let totals = msg.usage_totals(&a.id, from, to, None).await.unwrap();
    assert_eq!(totals.iter().map(|t| t.records).sum::<i64>(), 1);
    assert_eq!(
        msg.list_events(&a.id, Some("message.sent"), None, &all())
            .await
            .unwrap()
            .items,
        vec![s.event]
    );

    let again = sent(&m, &acc.id, "SM2");
    assert!(!msg.record_sent(&m.id, &again, &task).await.unwrap());
    let after = msg.get_message(&a.id, &m.id).await.unwrap();
    assert_eq!(after, got);
    assert_eq!(msg.list_attempts(&m.id).await.unwrap().len(), 2);
    assert_eq!(msg.usage_totals(&a.id, from, to, None).await.unwrap(), totals);
    assert_eq!(
        msg.list_events(&a.id, Some("message.sent"), None, &all())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

/// `record_failed` fails the message with its code and error, appends the attempt and event, and completes
/// the task; run again it returns false and changes nothing.
pub async fn record_failed_fails_the_message_and_completes_the_task_once((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let acc = account(None);
    msg.create_provider_account(&acc, &msg_audit(None)).await.unwrap();
    let m = message(&a.id, "+15551230000", &[]);
    let task = queue_message(&msg, &m).await;
    let att = attempt(&m, &acc.id, AttemptOutcome::Permanent);
    let ev = event(&a.id, "message.failed", m.id.as_str());
    assert!(
        msg.record_failed(&m.id, Some(&att), "21610", "unsubscribed", &ev, &task)
            .await
            .unwrap()
    );
    assert_eq!(store.task_state(&task).await.unwrap(), Some(TaskState::Completed));
    let got = msg.get_message(&a.id, &m.id).await.unwrap();
    assert_eq!(got.status, DeliveryStatus::Failed);
    assert_eq!(
        (got.error_code.as_deref(), got.error_message.as_deref()),
        (Some("21610"), Some("unsubscribed"))
    );
    assert_eq!(msg.list_attempts(&m.id).await.unwrap(), vec![att]);

    let ev2 = event(&a.id, "message.failed", m.id.as_str());
    assert!(
        !msg.record_failed(&m.id, None, "other", "again", &ev2, &task)
            .await
            .unwrap()
    );
    assert_eq!(msg.get_message(&a.id, &m.id).await.unwrap(), got);
    assert_eq!(
        msg.list_events(&a.id, Some("message.failed"), None, &all())
            .await
            .unwrap()
            .items,
        vec![ev]
    );
}

/// Every change is kept in the history; only one the locked row allows is applied: a late `sent` after
/// `delivered` changes nothing, a `read` after `delivered` applies, and an unapplied change stays unapplied.
pub async fn a_late_sent_after_delivered_is_kept_unapplied_and_read_after_delivered_applies((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let m = message(&a.id, "+15551230000", &[]);
    queue_message(&msg, &m).await;
    let ev = |t: &str| event(&a.id, t, m.id.as_str());
    let delivered = StatusChange {
        error_code: Some("0".into()),
        ..change(&m, DeliveryStatus::Delivered, true)
    };
    assert!(
        msg.apply_status_change(&delivered, Some(&ev("message.delivered")))
            .await
            .unwrap()
    );
    let late = change(&m, DeliveryStatus::Sent, true);
    assert!(!msg.apply_status_change(&late, Some(&ev("message.sent"))).await.unwrap());
    let got = msg.get_message(&a.id, &m.id).await.unwrap();
    assert_eq!(
        (got.status, got.error_code.as_deref()),
        (DeliveryStatus::Delivered, Some("0"))
    );
    let skipped = change(&m, DeliveryStatus::Read, false);
    assert!(!msg.apply_status_change(&skipped, None).await.unwrap());
    assert_eq!(
        msg.get_message(&a.id, &m.id).await.unwrap().status,
        DeliveryStatus::Delivered
    );
    let read = change(&m, DeliveryStatus::Read, true);
    assert!(msg.apply_status_change(&read, Some(&ev("message.read"))).await.unwrap());
    assert_eq!(
        msg.get_message(&a.id, &m.id).await.unwrap().status,
        DeliveryStatus::Read
    );

    let history = msg.list_status_changes(&m.id).await.unwrap();
    let expect = vec![delivered, StatusChange { applied: false, ..late }, skipped, read];
    assert_eq!(history, expect);
    let types: Vec<String> = msg
        .list_events(&a.id, Some("message.*"), None, &all())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(types, vec!["message.read", "message.delivered", "message.queued"]);
    let (b, _) = seed(&store).await;
    let foreign = StatusChange {
        tenant_id: b.id,
        ..change(&m, DeliveryStatus::Undelivered, true)
    };
    assert!(matches!(
        msg.apply_status_change(&foreign, None).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(msg.list_status_changes(&m.id).await.unwrap().len(), 4);
    let orphan = change(&message(&a.id, "+1", &[]), DeliveryStatus::Sent, true);
    assert!(matches!(
        msg.apply_status_change(&orphan, None).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Adding an opt-out twice keeps one; removal says whether one existed; the list is ordered by number and
/// pages on the last number's digits.
pub async fn opt_outs_are_idempotent_ordered_by_number_with_a_digits_cursor_and_removal_tells_if_one_existed(
    (store, msg): Both,
) {
    let (a, _) = seed(&store).await;
    let opt = |n: &str| OptOut {
        tenant_id: a.id.clone(),
        number: n.into(),
        source: "keyword".into(),
        created_at: now(),
    };
    for n in ["+447700900123", "+15551230002", "+15551230001", "+33612345678"] {
        msg.add_opt_out(&opt(n)).await.unwrap();
    }
    let first = opt("+15551230001");
    msg.add_opt_out(&OptOut {
        source: "api".into(),
        ..first.clone()
    })
    .await
    .unwrap();
    let page = msg
        .list_opt_outs(&a.id, &PageRequest { cursor: None, limit: 2 })
        .await
        .unwrap();
    let numbers = |p: &Page<OptOut>| p.items.iter().map(|o| o.number.clone()).collect::<Vec<_>>();
    assert_eq!(numbers(&page), vec!["+15551230001", "+15551230002"]);
    assert_eq!(page.items[0].source, "keyword");
    assert_eq!(page.next_cursor.as_deref(), Some("15551230002"));
    let rest = msg
        .list_opt_outs(
            &a.id,
            &PageRequest {
                cursor: page.next_cursor,
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(numbers(&rest), vec!["+33612345678", "+447700900123"]);
    assert_eq!(rest.next_cursor, None);
    assert!(msg.remove_opt_out(&a.id, "+33612345678").await.unwrap());
    assert!(!msg.remove_opt_out(&a.id, "+33612345678").await.unwrap());
    assert!(!msg.is_opted_out(&a.id, "+33612345678").await.unwrap());
    assert_eq!(msg.list_opt_outs(&a.id, &all()).await.unwrap().items.len(), 3);
}

/// Usage sums per channel, unit and currency over `[from, to)`, optionally for one channel.
pub async fn usage_totals_sum_per_channel_unit_and_currency_within_the_half_open_range((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let acc = account(None);
    msg.create_provider_account(&acc, &msg_audit(None)).await.unwrap();
    let start = now() - Duration::hours(2);
    let records = [
        (Channel::Sms, 2, 100, "USD", start - Duration::seconds(1)),
        (Channel::Sms, 3, 300, "USD", start),
        (Channel::Sms, 1, 50, "USD", start + Duration::minutes(1)),
        (Channel::Sms, 1, 90, "EUR", start + Duration::minutes(2)),
        (Channel::Email, 1, 10, "USD", start + Duration::minutes(3)),
        (Channel::Sms, 9, 900, "USD", start + Duration::hours(1)),
    ];
    for (channel, quantity, price, currency, at) in records {
        let m = message(&a.id, "+15551230000", &[]);
        let task = queue_message(&msg, &m).await;
        let mut s = sent(&m, &acc.id, m.id.as_str());
        s.usage = UsageRecord {
            created_at: at,
            ..usage(&a.id, channel, quantity, price, currency)
        };
        msg.record_sent(&m.id, &s, &task).await.unwrap();
    }
    let total = |channel, quantity, price_micros, currency: &str, records| UsageTotal {
        channel,
        quantity,
        unit: "segment".into(),
        price_micros,
        currency: currency.into(),
        records,
    };
    let mut got = msg
        .usage_totals(&a.id, start, start + Duration::hours(1), None)
        .await
        .unwrap();
    got.sort_by(|x, y| (x.channel.as_str(), &x.currency).cmp(&(y.channel.as_str(), &y.currency)));
    assert_eq!(
        got,
        vec![
            total(Channel::Email, 1, 10, "USD", 1),
            total(Channel::Sms, 1, 90, "EUR", 1),
            total(Channel::Sms, 4, 350, "USD", 2),
        ]
    );
    let email = msg
        .usage_totals(&a.id, start, start + Duration::hours(2), Some(Channel::Email))
        .await
        .unwrap();
    assert_eq!(email, vec![total(Channel::Email, 1, 10, "USD", 1)]);
}

/// Events list newest first in cursor pages, by exact type, by a `*` prefix, and by resource.
pub async fn events_list_newest_first_filtered_by_exact_type_prefix_and_resource((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let m1 = message(&a.id, "+15551230000", &[]);
    let m2 = message(&a.id, "+15551230001", &[]);
    queue_message(&msg, &m1).await;
    queue_message(&msg, &m2).await;
    for (m, s) in [(&m1, DeliveryStatus::Delivered), (&m2, DeliveryStatus::Failed)] {
        let ev = event(&a.id, &format!("message.{}", s.as_str()), m.id.as_str());
        msg.apply_status_change(&change(m, s, true), Some(&ev)).await.unwrap();
    }
    let types = |p: Page<Event>| p.items.into_iter().map(|e| e.event_type).collect::<Vec<_>>();
    let all_events = msg.list_events(&a.id, None, None, &all()).await.unwrap();
    assert_eq!(
        types(all_events),
        vec![
            "message.failed",
            "message.delivered",
            "message.queued",
            "message.queued"
        ]
    );
    let page = msg
        .list_events(&a.id, None, None, &PageRequest { cursor: None, limit: 3 })
        .await
        .unwrap();
    let rest = PageRequest {
        cursor: page.next_cursor.clone(),
        limit: 3,
    };
    assert_eq!(
        types(msg.list_events(&a.id, None, None, &rest).await.unwrap()),
        vec!["message.queued"]
    );
    let exact = msg
        .list_events(&a.id, Some("message.delivered"), None, &all())
        .await
        .unwrap();
    assert_eq!(types(exact), vec!["message.delivered"]);
    assert!(
        msg.list_events(&a.id, Some("message"), None, &all())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        msg.list_events(&a.id, Some("message.*"), None, &all())
            .await
            .unwrap()
            .items
            .len(),
        4
    );
    assert!(
        msg.list_events(&a.id, Some("messag_.*"), None, &all())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let by_m2 = msg
        .list_events(&a.id, None, Some(m2.id.as_str()), &all())
        .await
        .unwrap();
    assert_eq!(types(by_m2), vec!["message.failed", "message.queued"]);
    let both = msg
        .list_events(&a.id, Some("message.q*"), Some(m1.id.as_str()), &all())
        .await
        .unwrap();
    assert_eq!(types(both), vec!["message.queued"]);
}

/// Eight concurrent `record_sent` calls for one task: exactly one records the send.
pub async fn eight_concurrent_record_sent_calls_for_one_task_record_it_once((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let acc = account(None);
    msg.create_provider_account(&acc, &msg_audit(None)).await.unwrap();
    let m = message(&a.id, "+15551230000", &[]);
    let task = queue_message(&msg, &m).await;
    let calls = (0..8).map(|i| {
        let (msg, m, acc, task) = (msg.clone(), m.clone(), acc.id.clone(), task.clone());
        tokio::spawn(async move { msg.record_sent(&m.id, &sent(&m, &acc, &format!("SM{i}")), &task).await })
    });
    let mut won = 0;
    for call in calls.collect::<Vec<_>>() {
        won += usize::from(call.await.unwrap().unwrap());
    }
    assert_eq!(won, 1);
    assert_eq!(msg.list_attempts(&m.id).await.unwrap().len(), 1);
    assert_eq!(
        msg.list_events(&a.id, Some("message.sent"), None, &all())
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}
