//! Cases for webhooks: the fan-out of an event to matching endpoints and its callback, isolation between
//! tenants, an attempt record settling its delivery and task, redelivery, and event retention.

use irisx_core::id::{WebhookAttemptId, WebhookEndpointId};
use irisx_core::page::PageRequest;
use irisx_core::ports::store::StoreError;
use irisx_core::ports::webhooks::{AttemptRecord, EndpointHealth};
use irisx_core::task::{Subject, Task, TaskState};
use irisx_core::webhook::WebhookUrl;
use irisx_core::webhook::model::{AttemptResult, DeliveryState, EventPattern, WebhookAttemptLog, WebhookEndpoint};

use super::msg_fixtures::*;
use super::*;

fn endpoint(tenant: &TenantId, patterns: &[&str], enabled: bool) -> WebhookEndpoint {
    WebhookEndpoint {
        id: WebhookEndpointId::new(),
        tenant_id: tenant.clone(),
        url: WebhookUrl::parse("https://hooks.example.com/in").unwrap(),
        description: Some("conformance".into()),
        event_types: patterns.iter().map(|p| EventPattern::parse(p).unwrap()).collect(),
        enabled,
        sealed_headers: None,
        rate_limit_per_second: Some(5),
        sealed_secret: "v1:k:sealed".into(),
        previous_secret: None,
        disabled_reason: None,
        failing_since: None,
        created_at: now(),
        updated_at: now(),
    }
}

/// The deliveries the relay can claim now, as (endpoint, url) pairs, with their tasks.
async fn claimed_deliveries(
    store: &Arc<dyn Store>,
    msg: &Arc<dyn MessagingStore>,
) -> Vec<(Option<WebhookEndpointId>, Option<String>, irisx_core::id::TaskId)> {
    let mut out = Vec::new();
    for entry in store.claim_outbox(100, now() - Duration::hours(1)).await.unwrap() {
        if entry.subject != Subject::WebhookTrigger {
            continue;
        }
        let Task::DeliverWebhookV1(t) = serde_json::from_str(&entry.payload).unwrap() else {
            panic!("a webhook.trigger task that is not a delivery")
        };
        let (d, _, _) = msg.webhook_delivery(&t.delivery_id).await.unwrap();
        out.push((d.endpoint_id, d.url, entry.id));
    }
    out
}

/// An event goes to the tenant's enabled endpoints whose filters match, and to its callback URL, each as a
/// delivery with its task written with the event.
pub async fn an_event_fans_out_to_matching_enabled_endpoints_and_its_callback((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let family = endpoint(&a.id, &["message.*"], true);
    let exact = endpoint(&a.id, &["email.opened", "message.queued"], true);
    let other_type = endpoint(&a.id, &["message.delivered"], true);
    let disabled = endpoint(&a.id, &["*"], false);
    let other_tenant = endpoint(&b.id, &["*"], true);
    for w in [&family, &exact, &other_type, &disabled, &other_tenant] {
        msg.create_webhook_endpoint(w).await.unwrap();
    }
    let mut m = message(&a.id, "+15551230000", &[]);
    m.status_callback = Some("https://app.example.com/status".into());
    let e = event(&a.id, "message.queued", m.id.as_str()).with_callback(m.status_callback.clone());
    msg.create_message(&m, &e, &send_task()).await.unwrap();
    let mut got: Vec<_> = claimed_deliveries(&store, &msg)
        .await
        .into_iter()
        .map(|(ep, url, _)| (ep.map(|e| e.to_string()), url))
        .collect();
    got.sort();
    let mut want = vec![
        (Some(family.id.to_string()), None),
        (Some(exact.id.to_string()), None),
        (None, Some("https://app.example.com/status".to_owned())),
    ];
    want.sort();
    assert_eq!(got, want);
}

/// Messages written together (the accept path's group commit) fan out like single ones: each event reaches
/// its own tenant's matching endpoints and its own callback, once.
pub async fn messages_written_together_fan_out_each_event_to_its_own_tenants_endpoints((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let a_all = endpoint(&a.id, &["message.*", "message.queued"], true);
    let b_all = endpoint(&b.id, &["*"], true);
    for w in [&a_all, &b_all] {
        msg.create_webhook_endpoint(w).await.unwrap();
    }
    let mut writes = tokio::task::JoinSet::new();
    for i in 0..24 {
        let (msg, tenant) = (msg.clone(), if i % 2 == 0 { a.id.clone() } else { b.id.clone() });
        writes.spawn(async move {
            let mut m = message(&tenant, &format!("+1555123{i:04}"), &[]);
            m.status_callback = Some(format!("https://app.example.com/status/{i}"));
            let e = event(&tenant, "message.queued", m.id.as_str()).with_callback(m.status_callback.clone());
            msg.create_message(&m, &e, &send_task()).await.unwrap();
        });
    }
    while let Some(done) = writes.join_next().await {
        done.unwrap();
    }
    let got = claimed_deliveries(&store, &msg).await;
    let count = |id: &WebhookEndpointId| got.iter().filter(|(ep, ..)| ep.as_ref() == Some(id)).count();
    assert_eq!(
        (count(&a_all.id), count(&b_all.id)),
        (12, 12),
        "one delivery per event, however many filters match"
    );
    let mut callbacks: Vec<_> = got.iter().filter_map(|(_, url, _)| url.clone()).collect();
    callbacks.sort();
    callbacks.dedup();
    assert_eq!(callbacks.len(), 24, "every event's own callback, once");
}

/// Tenant B cannot read, change, delete, list or redeliver tenant A's endpoints.
pub async fn tenant_b_cannot_touch_tenant_a_endpoints((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let w = endpoint(&a.id, &["*"], true);
    msg.create_webhook_endpoint(&w).await.unwrap();
    let nf = |r: Result<_, StoreError>| assert!(matches!(r, Err(StoreError::NotFound(_))));
    nf(msg.get_webhook_endpoint(&b.id, &w.id).await.map(drop));
    nf(msg.delete_webhook_endpoint(&b.id, &w.id).await);
    nf(msg
        .update_webhook_endpoint(&WebhookEndpoint {
            tenant_id: b.id.clone(),
            ..w.clone()
        })
        .await);
    nf(msg.redeliver(&b.id, &w.id, None, Some(now())).await.map(drop));
    nf(msg
        .list_webhook_attempts(&b.id, &w.id, &PageRequest::default())
        .await
        .map(drop));
    assert!(
        msg.list_webhook_endpoints(&b.id, &PageRequest::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let mine = msg.get_webhook_endpoint(&a.id, &w.id).await.unwrap();
    assert_eq!(mine, w);
}

/// A settling attempt records the log, the delivery's state, the endpoint's health and completes the task;
/// a replay queues the failed delivery again.
pub async fn an_attempt_settles_its_delivery_and_task_and_a_replay_queues_it_again((store, msg): Both) {
    let (a, _) = seed(&store).await;
    let w = endpoint(&a.id, &["webhook.*"], true);
    msg.create_webhook_endpoint(&w).await.unwrap();
    let e = event(&a.id, "webhook.test", w.id.as_str());
    let delivery = msg.create_test_delivery(&w, &e).await.unwrap();
    let claimed = claimed_deliveries(&store, &msg).await;
    assert_eq!(claimed.len(), 1);
    let task = claimed[0].2.clone();
    let log = WebhookAttemptLog {
        id: WebhookAttemptId::new(),
        tenant_id: a.id.clone(),
        delivery_id: delivery.clone(),
        endpoint_id: Some(w.id.clone()),
        event_id: e.id.clone(),
        attempt: 1,
        url: w.url.to_string(),
        started_at: now(),
        status_code: Some(500),
        latency_ms: 12,
        result: AttemptResult::Failed,
        request_headers: serde_json::json!({"webhook-id": e.id}),
        response_body: Some("oops".into()),
        error: None,
    };
    let record = AttemptRecord {
        log,
        state: DeliveryState::Failed,
        health: EndpointHealth::Failing,
        event: None,
    };
    msg.record_webhook_attempt(&record, &task).await.unwrap();
    assert_eq!(store.task_state(&task).await.unwrap(), Some(TaskState::Completed));
    let (d, _, ep) = msg.webhook_delivery(&delivery).await.unwrap();
    assert_eq!((d.state, d.attempts), (DeliveryState::Failed, 1));
    assert!(ep.unwrap().failing_since.is_some());
    let logged = msg
        .list_webhook_attempts(&a.id, &w.id, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(logged.items, vec![record.log.clone()]);
    assert_eq!(
        msg.redeliver(&a.id, &w.id, None, Some(now() - Duration::minutes(5)))
            .await
            .unwrap(),
        1
    );
    let (d, _, _) = msg.webhook_delivery(&delivery).await.unwrap();
    assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 0));
    assert_eq!(claimed_deliveries(&store, &msg).await.len(), 1);
    assert_eq!(msg.prune_events(now() + Duration::seconds(1)).await.unwrap(), 1);
    assert!(matches!(
        msg.webhook_delivery(&delivery).await,
        Err(StoreError::NotFound(_))
    ));
}
