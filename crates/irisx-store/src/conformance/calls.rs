//! Cases for the calls store: trunks, agents, calls, CDRs, recordings and voice routes, with tenant isolation.
//! They take the [`CallStore`] port beside the store and messaging ports ([`with_sqlite_calls`],
//! [`with_postgres_calls`], over the all-ports harness).

use std::future::Future;

use irisx_core::calls::{
    Agent, Call, CallRecording, CallStatus, CallerIdMode, NumberFormat, SipTrunk, TrunkRate, TrunkTransport,
};
use irisx_core::id::{AgentId, CallId, ObjectId, RecordingId, SipTrunkId, UsageId};
use irisx_core::page::PageRequest;
use irisx_core::ports::calls::{CallStore, CallUpdate};
use irisx_core::ports::store::StoreError;
use irisx_core::sms::model::{Channel, Direction, UsageRecord};
use irisx_core::task::{CreateCallV1, CreateCdrV1, NewTask, Task, TaskState};

use super::msg_fixtures::*;
use super::*;

/// One store as the store, messaging and calls ports.
pub type WithCalls = (Arc<dyn Store>, Arc<dyn MessagingStore>, Arc<dyn CallStore>);

/// Runs `case` on a freshly migrated SQLite file.
pub async fn with_sqlite_calls<F, Fut>(case: F)
where
    F: FnOnce(WithCalls) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_sqlite_all(|s| case((s.store, s.messaging, s.calls))).await;
}

/// Runs `case` on a fresh PostgreSQL database (SKIPPED when [`POSTGRES_URL_VAR`] is unset).
pub async fn with_postgres_calls<F, Fut>(name: &str, case: F)
where
    F: FnOnce(WithCalls) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_postgres_all(name, |s| case((s.store, s.messaging, s.calls))).await;
}

fn trunk(tenant: Option<&TenantId>, rate: i64) -> SipTrunk {
    SipTrunk {
        id: SipTrunkId::new(),
        tenant_id: tenant.cloned(),
        name: "carrier".into(),
        host: "sip.example.com".into(),
        port: 5060,
        transport: TrunkTransport::Udp,
        sealed_credentials: Some("v1:k:sealed".into()),
        caller_id: None,
        caller_id_mode: CallerIdMode::Any,
        number_format: NumberFormat::E164,
        codecs: vec!["PCMU".into()],
        max_calls: 10,
        rates: vec![TrunkRate {
            prefix: "+1".into(),
            cost_micros_per_minute: rate,
        }],
        currency: "USD".into(),
        enabled: true,
        created_at: now(),
    }
}

fn agent(tenant: &TenantId, username: &str) -> Agent {
    Agent {
        id: AgentId::new(),
        tenant_id: tenant.clone(),
        username: username.into(),
        name: "Alice".into(),
        sealed_password: "v1:k:sealed".into(),
        created_at: now(),
    }
}

fn call(tenant: &TenantId) -> Call {
    let mut c = irisx_core::usecase::calls::new_call(
        tenant,
        Direction::Outbound,
        "+15559870000".into(),
        "+15551230000".into(),
        CallStatus::Queued,
    );
    c.created_at = now();
    c.updated_at = now();
    c.document = Some("<Response><Hangup/></Response>".into());
    c
}

/// Tenant B cannot read, list or delete tenant A's trunks, agents, calls or recordings.
pub async fn tenant_b_cannot_reach_tenant_a_trunks_agents_calls_or_recordings((store, _, calls): WithCalls) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let t = trunk(Some(&a.id), 1000);
    calls.create_trunk(&t, &msg_audit(Some(&a.id))).await.unwrap();
    let g = agent(&a.id, "alice-a");
    calls.create_agent(&g, &msg_audit(Some(&a.id))).await.unwrap();
    let c = call(&a.id);
    calls.create_call(&c, &c.event("queued"), None).await.unwrap();
    let rec = CallRecording {
        id: RecordingId::new(),
        tenant_id: a.id.clone(),
        call_id: c.id.clone(),
        object_id: ObjectId::new(),
        duration_ms: 1000,
        created_at: now(),
    };
    calls.create_recording(&rec).await.unwrap();

    assert_eq!(calls.get_trunk(Some(&a.id), &t.id).await.unwrap(), t);
    assert!(matches!(
        calls.get_trunk(Some(&b.id), &t.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        calls.get_trunk(None, &t.id).await,
        Err(StoreError::NotFound(_))
    ));
    let audit_b = msg_audit(Some(&b.id));
    assert!(matches!(
        calls.delete_trunk(Some(&b.id), &t.id, &audit_b).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(calls.get_agent(&a.id, &g.id).await.unwrap(), g);
    assert!(matches!(
        calls.get_agent(&b.id, &g.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        calls.delete_agent(&b.id, &g.id, &audit_b).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(calls.get_call(&a.id, &c.id).await.unwrap(), c);
    assert!(matches!(
        calls.get_call(&b.id, &c.id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(calls.list_recordings(&b.id, &c.id).await.unwrap().is_empty());
    assert_eq!(calls.list_recordings(&a.id, &c.id).await.unwrap(), vec![rec]);
    let page = PageRequest::default();
    assert!(calls.list_trunks(Some(&b.id), &page).await.unwrap().items.is_empty());
    assert!(calls.list_agents(&b.id, &page).await.unwrap().items.is_empty());
    assert!(calls.list_calls(&b.id, &page).await.unwrap().items.is_empty());
    assert_eq!(calls.list_calls(&a.id, &page).await.unwrap().items.len(), 1);
}

/// A tenant's calls use its own enabled trunks when it has any, else the platform's.
pub async fn trunks_for_prefers_the_tenants_own_trunks_else_the_platforms((store, _, calls): WithCalls) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let platform = trunk(None, 3000);
    calls.create_trunk(&platform, &msg_audit(None)).await.unwrap();
    let own = trunk(Some(&a.id), 5000);
    calls.create_trunk(&own, &msg_audit(Some(&a.id))).await.unwrap();
    let ids = |v: Vec<SipTrunk>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(calls.trunks_for(&a.id).await.unwrap()), vec![own.id]);
    assert_eq!(ids(calls.trunks_for(&b.id).await.unwrap()), vec![platform.id]);
}

/// Agent user names are unique across tenants, and the registrar finds an agent by its name.
pub async fn agent_user_names_are_unique_across_tenants((store, _, calls): WithCalls) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let g = agent(&a.id, "shared-name");
    calls.create_agent(&g, &msg_audit(Some(&a.id))).await.unwrap();
    let again = calls
        .create_agent(&agent(&b.id, "shared-name"), &msg_audit(Some(&b.id)))
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(calls.agent_by_username("shared-name").await.unwrap(), Some(g));
    assert_eq!(calls.agent_by_username("nobody").await.unwrap(), None);
}

/// A call is stored with its event and task; its CDR writes the usage and completes its task once.
pub async fn a_calls_cdr_records_its_usage_and_completes_its_task_once((store, msg, calls): WithCalls) {
    let (a, _) = seed(&store).await;
    let mut c = call(&a.id);
    let create = NewTask::now(Task::CreateCallV1(CreateCallV1 {
        tenant_id: a.id.clone(),
        call_id: c.id.clone(),
    }));
    calls.create_call(&c, &c.event("queued"), Some(&create)).await.unwrap();
    assert_eq!(store.task_state(&create.id).await.unwrap(), Some(TaskState::Pending));
    c.status = CallStatus::Completed;
    let cdr = NewTask::now(Task::CreateCdrV1(CreateCdrV1 {
        tenant_id: a.id.clone(),
        call_id: c.id.clone(),
    }));
    let update = CallUpdate {
        call: &c,
        event: None,
        task: Some(&cdr),
        completes: Some(&create.id),
    };
    calls.update_call(update).await.unwrap();
    assert_eq!(store.task_state(&create.id).await.unwrap(), Some(TaskState::Completed));
    c.duration_secs = Some(7);
    c.billable_secs = Some(60);
    c.price_micros = Some(1200);
    let usage = UsageRecord {
        id: UsageId::new(),
        tenant_id: a.id.clone(),
        channel: Channel::Voice,
        resource_id: c.id.to_string(),
        quantity: 60,
        unit: "second".into(),
        cost_micros: 1000,
        price_micros: 1200,
        currency: "USD".into(),
        created_at: now(),
    };
    let event = c.event("completed");
    assert!(calls.record_cdr(&c, Some(&usage), Some(&event), &cdr.id).await.unwrap());
    assert!(!calls.record_cdr(&c, Some(&usage), Some(&event), &cdr.id).await.unwrap());
    let totals = msg
        .usage_totals(
            &a.id,
            now() - Duration::hours(1),
            now() + Duration::hours(1),
            Some(Channel::Voice),
        )
        .await
        .unwrap();
    assert_eq!(
        (totals.len(), totals[0].quantity, totals[0].price_micros),
        (1, 60, 1200)
    );
    let stored = calls.get_call(&a.id, &c.id).await.unwrap();
    assert_eq!((stored.status, stored.billable_secs), (CallStatus::Completed, Some(60)));
    let mut live = call(&a.id);
    calls.create_call(&live, &live.event("queued"), None).await.unwrap();
    let t = trunk(Some(&a.id), 1000);
    (live.status, live.trunk_id) = (CallStatus::InProgress, Some(t.id.clone()));
    let update = CallUpdate {
        call: &live,
        event: None,
        task: None,
        completes: None,
    };
    calls.update_call(update).await.unwrap();
    assert_eq!(calls.live_calls_on_trunk(&t.id).await.unwrap(), 1);
    assert_eq!(calls.live_calls_on_trunk(&SipTrunkId::new()).await.unwrap(), 0);
    let unknown = calls.get_call(&a.id, &CallId::new()).await;
    assert!(matches!(unknown, Err(StoreError::NotFound(_))));
}

/// A dialled number leads to the tenant holding it and its voice URL; a pool number leads nowhere.
pub async fn a_dialled_number_leads_to_its_tenant_and_voice_url((store, msg, calls): WithCalls) {
    let (a, _) = seed(&store).await;
    let held = number(Some(&a.id), None, "+15557770000");
    msg.create_phone_number(&held, &msg_audit(None)).await.unwrap();
    let pool = number(None, None, "+15557770001");
    msg.create_phone_number(&pool, &msg_audit(None)).await.unwrap();
    calls
        .set_voice_url(&a.id, &held.id, Some("https://a.example.com/voice"))
        .await
        .unwrap();
    let route = calls.voice_route("15557770000").await.unwrap().expect("a route");
    assert_eq!((route.tenant_id, route.number_id), (a.id.clone(), held.id.clone()));
    assert_eq!(route.voice_url.as_deref(), Some("https://a.example.com/voice"));
    assert_eq!(calls.voice_route("+15557770001").await.unwrap(), None);
    let (b, _) = seed(&store).await;
    assert!(matches!(
        calls.set_voice_url(&b.id, &held.id, None).await,
        Err(StoreError::NotFound(_))
    ));
}

/// A change left for a live call is taken once; a call that is not live takes none.
pub async fn a_change_to_a_live_call_is_taken_once((store, _, calls): WithCalls) {
    let (a, _) = seed(&store).await;
    let (b, _) = seed(&store).await;
    let mut c = call(&a.id);
    calls.create_call(&c, &c.event("queued"), None).await.unwrap();
    let queued = calls.request_control(&a.id, &c.id, r#"{"action":"hangup"}"#).await;
    assert!(
        matches!(queued, Err(StoreError::NotFound(_))),
        "a queued call is not live"
    );
    c.status = CallStatus::InProgress;
    let update = CallUpdate {
        call: &c,
        event: None,
        task: None,
        completes: None,
    };
    calls.update_call(update).await.unwrap();
    let other = calls.request_control(&b.id, &c.id, r#"{"action":"hangup"}"#).await;
    assert!(matches!(other, Err(StoreError::NotFound(_))));
    calls
        .request_control(&a.id, &c.id, r#"{"action":"hangup"}"#)
        .await
        .unwrap();
    assert_eq!(
        calls.take_control(&c.id).await.unwrap().as_deref(),
        Some(r#"{"action":"hangup"}"#)
    );
    assert_eq!(calls.take_control(&c.id).await.unwrap(), None);
}

/// Stores `c` as a live call of `node`.
async fn live_on(calls: &Arc<dyn CallStore>, c: &mut Call, status: CallStatus, node: Option<&str>) {
    c.node_id = node.map(str::to_owned);
    calls.create_call(c, &c.event("queued"), None).await.unwrap();
    c.status = status;
    let update = CallUpdate {
        call: c,
        event: None,
        task: None,
        completes: None,
    };
    calls.update_call(update).await.unwrap();
}

/// Live calls of a node silent since before the cutoff (or of no node, unchanged since) are claimed once, by
/// one node, with when their node was last seen; calls of live nodes and final calls are left.
pub async fn live_calls_of_a_stopped_voice_node_are_claimed_once((store, _, calls): WithCalls) {
    let (a, _) = seed(&store).await;
    let t0 = now();
    let (cutoff, alive_at) = (t0 + Duration::minutes(1), t0 + Duration::minutes(2));
    calls.heartbeat_voice_node("vnd_dead", t0).await.unwrap();
    calls.heartbeat_voice_node("vnd_alive", alive_at).await.unwrap();
    let (mut ringing, mut answered, mut kept, mut done, mut nodeless) =
        (call(&a.id), call(&a.id), call(&a.id), call(&a.id), call(&a.id));
    live_on(&calls, &mut ringing, CallStatus::Ringing, Some("vnd_dead")).await;
    live_on(&calls, &mut answered, CallStatus::InProgress, Some("vnd_dead")).await;
    live_on(&calls, &mut kept, CallStatus::InProgress, Some("vnd_alive")).await;
    live_on(&calls, &mut done, CallStatus::Completed, Some("vnd_dead")).await;
    live_on(&calls, &mut nodeless, CallStatus::Initiated, None).await;

    calls.heartbeat_voice_node("vnd_sweeper", alive_at).await.unwrap();
    let mut claimed = calls.claim_orphaned_calls("vnd_sweeper", cutoff, 10).await.unwrap();
    claimed.sort_by(|x, y| x.call.id.cmp(&y.call.id));
    let mut want = vec![ringing.id.clone(), answered.id.clone(), nodeless.id.clone()];
    want.sort();
    assert_eq!(claimed.iter().map(|o| o.call.id.clone()).collect::<Vec<_>>(), want);
    for o in &claimed {
        assert_eq!(o.call.node_id.as_deref(), Some("vnd_sweeper"));
        let seen = if o.call.id == nodeless.id { None } else { Some(t0) };
        assert_eq!(o.last_seen, seen, "{}", o.call.id);
        let stored = calls.get_call(&a.id, &o.call.id).await.unwrap();
        assert_eq!(stored.node_id.as_deref(), Some("vnd_sweeper"));
    }
    assert!(
        calls
            .claim_orphaned_calls("vnd_other", cutoff, 10)
            .await
            .unwrap()
            .is_empty(),
        "a claimed call is not claimed again while its claimer is alive"
    );
    let limited = calls
        .claim_orphaned_calls("vnd_third", alive_at + Duration::minutes(1), 1)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1, "at most `limit` calls are claimed at once");
}
