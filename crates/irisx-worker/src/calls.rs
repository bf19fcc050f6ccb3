//! The call orchestrator on a voice node: `call.create` routes a queued call over the tenant's trunks (the
//! cheapest for the destination first) and originates it; each live call then has a supervisor that turns
//! the engine's events into the call's states and events, runs its documents once it is answered, and at
//! hangup writes the final state with a `cdr.create` task. A tenant's hang-up or redirect of a live call is
//! left in the ledger and taken by the call's supervisor. Incoming calls to a tenant's number run the
//! number's voice URL.
//!
//! A call is dialled at most once: the task is completed with the `initiated` state before the engine is
//! asked, so a crash in between leaves a call that never rang rather than one that rings twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use irisx_core::CoreError;
use irisx_core::calls::{Call, CallControl, CallStatus};
use irisx_core::id::{CallId, SipTrunkId, TaskId};
use irisx_core::ports::calls::CallUpdate;
use irisx_core::ports::voice::{
    CallEvent, CallHandle, CallRef, Destination, HangupCause, IncomingCall, Originate, Record, Recording, TrunkTarget,
    VoiceError,
};
use irisx_core::sms::model::Direction;
use irisx_core::task::{CreateCallV1, CreateCdrV1, NewTask, Task};
use irisx_core::usecase::Platform;
use irisx_core::usecase::calls::new_call;
use irisx_core::usecase::trunks::{self, Routing};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::Outcome;
use crate::voice::VoiceRuntime;

/// A trunk a call may be answered on, with what the call records when it is.
struct Rated {
    trunk: SipTrunkId,
    rate: i64,
    currency: String,
    /// The caller id the trunk presents instead of the call's.
    caller_id: Option<String>,
}

/// The trunks a call may be answered on.
type Rates = Vec<Rated>;

/// How long a supervisor waits for the engine's hangup after the document ended.
const HANGUP_WAIT: Duration = Duration::from_secs(30);

/// Writes a call's new state with its event (`call.<name>`), and what else goes with it.
async fn write(p: &Platform, call: &Call, event: Option<&str>, task: Option<&NewTask>, completes: Option<&TaskId>) {
    let event = event.map(|name| call.event(name));
    let update = CallUpdate {
        call,
        event: event.as_ref(),
        task,
        completes,
    };
    if let Err(e) = p.calls.update_call(update).await {
        tracing::error!(call_id = %call.id, error = %e, "cannot record the call's state");
    }
}

/// Places a queued call.
#[tracing::instrument(skip_all, fields(tenant_id = %t.tenant_id, call_id = %t.call_id))]
pub(crate) async fn create(
    p: &Arc<Platform>,
    rt: &Arc<VoiceRuntime>,
    id: &TaskId,
    t: &CreateCallV1,
) -> Result<Outcome, CoreError> {
    let mut call = p.calls.get_call(&t.tenant_id, &t.call_id).await?;
    if call.status != CallStatus::Queued {
        p.store.complete_task(id).await?;
        return Ok(Outcome::Done);
    }
    let route = match trunks::route(p, &call.tenant_id, &call.from, &call.to).await? {
        Routing::Trunks(route) => route,
        refused => {
            let (code, why) = match refused {
                Routing::Blocked => ("blocked_destination", "this destination may not be called"),
                Routing::CallerIdRefused => (
                    "caller_id_not_allowed",
                    "the trunks serving this destination present only your own numbers; `from` is not one",
                ),
                _ => ("no_route", "no trunk serves this destination"),
            };
            fail(&mut call, code, why);
            end(p, &mut call, None, Some(id)).await;
            return Ok(Outcome::Done);
        }
    };
    let targets = route
        .iter()
        .map(|(trunk, _)| trunks::target(p, trunk))
        .collect::<Result<Vec<TrunkTarget>, _>>()?;
    let rates: Rates = route
        .iter()
        .map(|(trunk, rate)| Rated {
            trunk: trunk.id.clone(),
            rate: *rate,
            currency: trunk.currency.clone(),
            caller_id: trunk.caller_id.clone(),
        })
        .collect();
    call.status = CallStatus::Initiated;
    call.node_id = Some(rt.node.clone());
    call.updated_at = OffsetDateTime::now_utc();
    write(p, &call, Some("initiated"), None, Some(id)).await;
    let request = Originate {
        tenant: call.tenant_id.to_string(),
        to: call.to.clone(),
        from: call.from.clone(),
        destination: Destination::Trunks(targets),
        ring_timeout: Duration::from_secs(u64::from(call.timeout_secs)),
    };
    match rt.engine.originate(request).await {
        Ok(handle) => {
            let (p, rt2) = (p.clone(), rt.clone());
            rt.live.spawn(supervise(p, rt2, call, handle, rates));
        }
        Err(e) => {
            let code = match &e {
                VoiceError::CallLimit { .. } => "call_limit",
                VoiceError::NoRoute => "no_route",
                _ => "engine_error",
            };
            fail(&mut call, code, &e.to_string());
            end(p, &mut call, None, None).await;
        }
    }
    Ok(Outcome::Done)
}

fn fail(call: &mut Call, code: &str, message: &str) {
    call.status = CallStatus::Failed;
    call.error_code = Some(code.to_owned());
    call.error_message = Some(message.to_owned());
}

/// Takes an incoming call: the dialled number's tenant and voice URL run it; anything else is refused 404.
#[tracing::instrument(skip_all, fields(to = %incoming.to))]
pub(crate) async fn incoming(p: &Arc<Platform>, rt: &Arc<VoiceRuntime>, incoming: IncomingCall) {
    let route = match p.calls.voice_route(&incoming.to).await {
        Ok(Some(r)) if r.voice_url.is_some() => r,
        Ok(_) => return refuse(rt, &incoming, 404).await,
        Err(e) => {
            tracing::error!(error = %e, "cannot look the dialled number up");
            return refuse(rt, &incoming, 503).await;
        }
    };
    let from = plus(&incoming.from);
    let mut call = new_call(
        &route.tenant_id,
        Direction::Inbound,
        from,
        plus(&incoming.to),
        CallStatus::Ringing,
    );
    call.url = route.voice_url;
    call.node_id = Some(rt.node.clone());
    // Rated at the platform's inbound rate once answered (no trunk of the tenant's carried it).
    call.rate_micros_per_minute = Some(p.policy.voice.inbound_rate_micros_per_minute);
    call.currency = Some(p.policy.voice.inbound_currency.clone());
    if let Err(e) = p.calls.create_call(&call, &call.event("ringing"), None).await {
        tracing::error!(error = %e, "cannot record the incoming call");
        return refuse(rt, &incoming, 503).await;
    }
    let (p, rt2) = (p.clone(), rt.clone());
    rt.live.spawn(supervise(p, rt2, call, incoming.handle, Vec::new()));
}

fn plus(number: &str) -> String {
    if number.starts_with('+') || !number.bytes().all(|b| b.is_ascii_digit()) {
        number.to_owned()
    } else {
        format!("+{number}")
    }
}

async fn refuse(rt: &VoiceRuntime, incoming: &IncomingCall, code: u16) {
    if let Err(e) = rt.engine.reject(&incoming.handle.call, code).await {
        tracing::warn!(error = %e, "cannot refuse the incoming call");
    }
}

/// Follows one call from its first event to its hangup.
async fn supervise(p: Arc<Platform>, rt: Arc<VoiceRuntime>, call: Call, handle: CallHandle, rates: Rates) {
    let inbound = call.direction == Direction::Inbound;
    let shared = Arc::new(Mutex::new(call));
    let (answered_tx, answered_rx) = oneshot::channel();
    let watcher = tokio::spawn(watch(p.clone(), shared.clone(), handle.events, rates, answered_tx));
    let (redirect_tx, mut redirects) = mpsc::unbounded_channel();
    let call_id = shared.lock().unwrap_or_else(|e| e.into_inner()).id.clone();
    let poller = tokio::spawn(take_controls(
        p.clone(),
        rt.clone(),
        call_id,
        handle.call.clone(),
        redirect_tx,
    ));
    let should_run = inbound || answered_rx.await.is_ok();
    let recorder = {
        let c = shared.lock().unwrap_or_else(|e| e.into_inner());
        (should_run && c.record).then(|| record_whole_call(rt.clone(), handle.call.clone()))
    };
    if should_run {
        let snapshot = shared.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let ran = crate::call_docs::run(&p, &rt, &snapshot, &handle.call, !inbound, &mut redirects).await;
        if let Err(reason) = ran {
            tracing::info!(call_id = %snapshot.id, reason, "the call's document failed");
            fail(
                &mut shared.lock().unwrap_or_else(|e| e.into_inner()),
                "document_error",
                &reason,
            );
            if let Err(e) = rt.engine.hangup(&handle.call).await {
                tracing::debug!(error = %e, "hanging up after a document failure");
            }
        }
    }
    let ended = match tokio::time::timeout(HANGUP_WAIT, watcher).await {
        Ok(Ok(hangup)) => hangup,
        _ => {
            let _ = rt.engine.hangup(&handle.call).await;
            (HangupCause::Failed, None)
        }
    };
    poller.abort();
    let mut call = shared.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(recorder) = recorder {
        // Kept before the CDR is asked for, so the CDR finds it.
        save_whole_call(&p, &call, recorder).await;
    }
    end(&p, &mut call, Some(ended), None).await;
}

/// The longest whole-call recording.
const WHOLE_CALL_MAX: Duration = Duration::from_secs(4 * 3600);

/// Records the conversation from now until the call ends: what the far end says mixed with what it hears
/// (prompts, a bridged party). It runs beside the document's own verbs: recording listens to the call's audio
/// without taking its digits.
fn record_whole_call(rt: Arc<VoiceRuntime>, leg: CallRef) -> tokio::task::JoinHandle<Result<Recording, VoiceError>> {
    tokio::spawn(async move {
        let whole = Record {
            max_length: WHOLE_CALL_MAX,
            finish_on_key: None,
            both_directions: true,
        };
        rt.engine.record(&leg, whole).await
    })
}

/// Stores the whole call's recording as the call's recording number 0.
async fn save_whole_call(p: &Platform, call: &Call, recorder: tokio::task::JoinHandle<Result<Recording, VoiceError>>) {
    let recording = match tokio::time::timeout(HANGUP_WAIT, recorder).await {
        Ok(Ok(Ok(r))) => r,
        Ok(Ok(Err(e))) => return tracing::warn!(call_id = %call.id, error = %e, "the call could not be recorded"),
        _ => return tracing::warn!(call_id = %call.id, "the call's recording did not end with the call"),
    };
    let ms = i64::try_from(recording.duration.as_millis()).unwrap_or(i64::MAX);
    if let Err(e) = irisx_core::usecase::calls::save_recording(p, call, 0, recording.wav, ms).await {
        tracing::error!(call_id = %call.id, error = %e, "the call's recording could not be stored");
    }
}

/// How often a supervisor looks for the tenant's changes to its call.
const CONTROL_POLL: Duration = Duration::from_millis(250);

/// Applies the tenant's changes to a live call until aborted: a hang-up at once, a redirect through the
/// document runner.
async fn take_controls(
    p: Arc<Platform>,
    rt: Arc<VoiceRuntime>,
    id: CallId,
    leg: CallRef,
    redirects: mpsc::UnboundedSender<(Option<String>, Option<String>)>,
) {
    let mut tick = tokio::time::interval(CONTROL_POLL);
    loop {
        tick.tick().await;
        let text = match p.calls.take_control(&id).await {
            Ok(Some(text)) => text,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(call_id = %id, error = %e, "cannot read the call's pending change");
                continue;
            }
        };
        match serde_json::from_str::<CallControl>(&text) {
            Ok(CallControl::Hangup) => {
                if let Err(e) = rt.engine.hangup(&leg).await {
                    tracing::debug!(call_id = %id, error = %e, "hanging up on the tenant's request");
                }
            }
            Ok(CallControl::Redirect { url, document }) => {
                let _ = redirects.send((url, document));
            }
            Err(e) => tracing::error!(call_id = %id, error = %e, "an unreadable pending change"),
        }
    }
}

/// Turns events into states until the hangup, which it returns.
async fn watch(
    p: Arc<Platform>,
    call: Arc<Mutex<Call>>,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
    rates: Rates,
    answered: oneshot::Sender<()>,
) -> (HangupCause, Option<u16>) {
    let mut answered = Some(answered);
    while let Some(event) = events.recv().await {
        let (snapshot, name) = {
            let mut c = call.lock().unwrap_or_else(|e| e.into_inner());
            let name = match event {
                CallEvent::Ringing if c.status != CallStatus::Ringing => {
                    c.status = CallStatus::Ringing;
                    "ringing"
                }
                CallEvent::Answered { trunk } => {
                    on_answer(&mut c, trunk.as_deref(), &rates);
                    "answered"
                }
                CallEvent::FailedOver { trunk, sip_code } => {
                    tracing::info!(call_id = %c.id, trunk, ?sip_code, "a trunk failed; trying the next");
                    continue;
                }
                CallEvent::Hangup { cause, sip_code } => return (cause, sip_code),
                _ => continue,
            };
            c.updated_at = OffsetDateTime::now_utc();
            (c.clone(), name)
        };
        write(&p, &snapshot, Some(name), None, None).await;
        if name == "answered"
            && let Some(tx) = answered.take()
        {
            let _ = tx.send(());
        }
    }
    (HangupCause::Failed, None)
}

fn on_answer(c: &mut Call, trunk: Option<&str>, rates: &Rates) {
    c.status = CallStatus::InProgress;
    c.answered_at = Some(OffsetDateTime::now_utc());
    if let Some(r) = trunk.and_then(|t| rates.iter().find(|r| r.trunk.as_str() == t)) {
        c.trunk_id = Some(r.trunk.clone());
        c.rate_micros_per_minute = Some(r.rate);
        c.currency = Some(r.currency.clone());
        if let Some(presented) = &r.caller_id {
            c.from = presented.clone();
        }
    }
}

/// Ends a call whose voice node stopped: an answered call completed when its node was last seen (so it is
/// rated up to then), any other failed; either way with `voice_node_lost` and its CDR task.
pub(crate) async fn end_orphan(p: &Platform, mut call: Call, last_seen: Option<OffsetDateTime>) {
    let now = OffsetDateTime::now_utc();
    let ended = last_seen.unwrap_or(call.updated_at).min(now);
    call.status = match call.answered_at {
        Some(_) => CallStatus::Completed,
        None => CallStatus::Failed,
    };
    call.ended_at = Some(call.answered_at.map_or(ended, |a| ended.max(a)));
    call.error_code = Some("voice_node_lost".into());
    call.error_message = Some("the voice node carrying the call stopped; the call ended when it was last seen".into());
    call.updated_at = now;
    write_ended(p, &call, None).await;
}

/// The final state of a call from its hangup (a failure already recorded wins), written with its event and
/// its `cdr.create` task.
async fn end(p: &Platform, call: &mut Call, hangup: Option<(HangupCause, Option<u16>)>, completes: Option<&TaskId>) {
    let now = OffsetDateTime::now_utc();
    if let Some((cause, sip_code)) = hangup {
        call.sip_code = sip_code.or(call.sip_code);
        if call.status != CallStatus::Failed {
            call.status = match cause {
                HangupCause::Completed => CallStatus::Completed,
                HangupCause::Busy => CallStatus::Busy,
                HangupCause::NoAnswer => CallStatus::NoAnswer,
                HangupCause::Canceled => CallStatus::Canceled,
                HangupCause::Rejected | HangupCause::Failed => CallStatus::Failed,
            };
            if call.status == CallStatus::Failed {
                call.error_code = Some(sip_code.map_or_else(|| "call_failed".to_owned(), |c| format!("sip_{c}")));
                call.error_message = Some("the call could not be completed".into());
            }
        }
    }
    call.ended_at = Some(now);
    call.updated_at = now;
    write_ended(p, call, completes).await;
}

/// Writes an ended call with its event (an answered call's `call.completed` comes with its CDR) and its
/// `cdr.create` task, then wakes the relay.
async fn write_ended(p: &Platform, call: &Call, completes: Option<&TaskId>) {
    let task = NewTask::now(Task::CreateCdrV1(CreateCdrV1 {
        tenant_id: call.tenant_id.clone(),
        call_id: call.id.clone(),
    }));
    let event = (call.status != CallStatus::Completed).then(|| call.status.as_str());
    write(p, call, event, Some(&task), completes).await;
    p.outbox_wake.notify_one();
}
