//! Calls on the spine: `POST /v1/calls` stores the call (queued), its `call.queued` event and its
//! `CreateCallV1` task in one transaction; the orchestrator on a voice node places it. Reads, lists, a
//! tenant's hang-up or redirect of its call, and its recordings.

use bytes::Bytes;
use time::OffsetDateTime;

use super::Platform;
use super::objects::{self, NewObject};
use super::principal::{Need, TenantPrincipal};
use crate::calls::{Call, CallControl, CallRecording, CallStatus};
use crate::domain::{Role, Scope};
use crate::error::{CoreError, FieldError};
use crate::id::{CallId, RecordingId, TenantId};
use crate::page::{Page, PageRequest};
use crate::ports::calls::CallUpdate;
use crate::ports::objects::{ObjectPurpose, StoredObject};
use crate::sms::E164;
use crate::sms::model::Direction;
use crate::task::{CreateCallV1, NewTask, Task};
use crate::validate::Checks;

/// Placing and controlling calls needs a user or the `calls:write` scope.
pub const WRITE: Need = Need {
    role: Role::User,
    scope: Some(Scope::CallsWrite),
};
/// Reading calls needs a user or the `calls:read` scope.
pub const READ: Need = Need {
    role: Role::User,
    scope: Some(Scope::CallsRead),
};

/// The largest inline document, as the executor's parser accepts.
pub const MAX_DOCUMENT: usize = 64 * 1024;
/// The longest ring time a request may ask for, seconds.
pub const MAX_TIMEOUT_SECS: u32 = 120;

/// A call request, as the API received it.
#[derive(Debug, Clone, Default)]
pub struct CallInput {
    /// The number called, E.164.
    pub to: String,
    /// The caller id, E.164.
    pub from: String,
    /// Where the call-control document is fetched once the call is answered.
    pub url: Option<String>,
    /// An inline call-control document (instead of `url`).
    pub document: Option<String>,
    /// Where the call's status events are also posted.
    pub status_callback: Option<String>,
    /// Record the whole call: what the far end says, from the answer to the hangup, as one recording.
    pub record: bool,
    /// Ring time, seconds (default from the voice policy).
    pub timeout: Option<u32>,
}

fn check(p: &Platform, input: &CallInput) -> Result<(E164, E164), CoreError> {
    let mut c = Checks::new();
    let to = c.check(E164::parse("to", &input.to));
    let from = c.check(E164::parse("from", &input.from));
    if let Some(to) = &to
        && let Some(prefix) = p.policy.voice.blocked(to.as_str())
    {
        c.push(FieldError::new(
            "to",
            "blocked_destination",
            format!("destinations starting with {prefix} may not be called"),
        ));
    }
    check_document(&mut c, input.url.as_deref(), input.document.as_deref());
    if let Some(t) = input.timeout
        && !(1..=MAX_TIMEOUT_SECS).contains(&t)
    {
        c.push(FieldError::new(
            "timeout",
            "out_of_range",
            format!("1 to {MAX_TIMEOUT_SECS} seconds"),
        ));
    }
    c.finish()?;
    match (to, from) {
        (Some(to), Some(from)) => Ok((to, from)),
        _ => Err(CoreError::internal("checks passed without numbers")),
    }
}

/// Exactly one of a document URL and an inline document, each of valid form.
fn check_document(c: &mut Checks, url: Option<&str>, document: Option<&str>) {
    match (url, document) {
        (Some(_), Some(_)) | (None, None) => c.push(FieldError::new(
            "url",
            "document_required",
            "give either a url or an inline document, not both",
        )),
        (Some(url), None) => {
            if let Err(why) = crate::webhook::WebhookUrl::parse(url) {
                c.push(FieldError::new("url", "invalid_url", why));
            }
        }
        (None, Some(doc)) => {
            if doc.trim().is_empty() || doc.len() > MAX_DOCUMENT {
                c.push(FieldError::new(
                    "document",
                    "invalid_document",
                    "1 byte to 64 KiB of XML",
                ));
            }
        }
    }
}

async fn check_url(p: &Platform, field: &str, url: Option<&str>) -> Result<(), CoreError> {
    let Some(url) = url else { return Ok(()) };
    let parsed = crate::webhook::WebhookUrl::parse(url).map_err(|why| CoreError::field(field, "invalid_url", why))?;
    p.webhook_sender
        .check_url(&parsed)
        .await
        .map_err(|refused| CoreError::field(field, "url_refused", refused.0))
}

/// A new call row in state `status`.
pub fn new_call(tenant: &TenantId, direction: Direction, from: String, to: String, status: CallStatus) -> Call {
    let now = OffsetDateTime::now_utc();
    Call {
        id: CallId::new(),
        tenant_id: tenant.clone(),
        direction,
        from,
        to,
        status,
        url: None,
        document: None,
        status_callback: None,
        record: false,
        timeout_secs: 30,
        trunk_id: None,
        rate_micros_per_minute: None,
        currency: None,
        error_code: None,
        error_message: None,
        sip_code: None,
        answered_at: None,
        ended_at: None,
        duration_secs: None,
        billable_secs: None,
        cost_micros: None,
        price_micros: None,
        node_id: None,
        created_at: now,
        updated_at: now,
    }
}

/// Accepts a call: stored queued with its event and task in one transaction, then the relay is woken.
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id()))]
pub async fn create(p: &Platform, by: &TenantPrincipal, input: CallInput) -> Result<Call, CoreError> {
    by.authorize(WRITE)?;
    let (to, from) = check(p, &input)?;
    check_url(p, "url", input.url.as_deref()).await?;
    check_url(p, "status_callback", input.status_callback.as_deref()).await?;
    let mut call = new_call(
        by.tenant_id(),
        Direction::Outbound,
        from.as_str().to_owned(),
        to.as_str().to_owned(),
        CallStatus::Queued,
    );
    call.url = input.url;
    call.document = input.document;
    call.status_callback = input.status_callback;
    call.record = input.record;
    call.timeout_secs = input
        .timeout
        .unwrap_or_else(|| u32::try_from(p.policy.voice.default_ring_timeout.as_secs()).unwrap_or(30));
    let task = NewTask::now(Task::CreateCallV1(CreateCallV1 {
        tenant_id: call.tenant_id.clone(),
        call_id: call.id.clone(),
    }));
    p.calls.create_call(&call, &call.event("queued"), Some(&task)).await?;
    p.outbox_wake.notify_one();
    Ok(call)
}

/// One of the caller's calls.
pub async fn get(p: &Platform, by: &TenantPrincipal, id: &CallId) -> Result<Call, CoreError> {
    by.authorize(READ)?;
    Ok(p.calls.get_call(by.tenant_id(), id).await?)
}

/// The caller's calls, newest first.
pub async fn list(p: &Platform, by: &TenantPrincipal, page: &PageRequest) -> Result<Page<Call>, CoreError> {
    by.authorize(READ)?;
    Ok(p.calls.list_calls(by.tenant_id(), page).await?)
}

/// Cancels a call that is still queued (the orchestrator skips it); a call already placed answers 409.
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id(), call_id = %id))]
pub async fn cancel(p: &Platform, by: &TenantPrincipal, id: &CallId) -> Result<Call, CoreError> {
    by.authorize(WRITE)?;
    let mut call = p.calls.get_call(by.tenant_id(), id).await?;
    if call.status != CallStatus::Queued {
        return Err(CoreError::Conflict(format!(
            "the call is {}; only a queued call can be canceled",
            call.status.as_str()
        )));
    }
    call.status = CallStatus::Canceled;
    call.updated_at = OffsetDateTime::now_utc();
    let event = call.event("canceled");
    p.calls
        .update_call(CallUpdate {
            call: &call,
            event: Some(&event),
            task: None,
            completes: None,
        })
        .await?;
    Ok(call)
}

/// A tenant's change to one of its calls.
#[derive(Debug, Clone, Default)]
pub struct CallChange {
    /// `canceled` or `completed`: end the call (a queued one is canceled, a live one hung up).
    pub status: Option<String>,
    /// Redirect the call to the document at this URL.
    pub url: Option<String>,
    /// Redirect the call to this inline document.
    pub document: Option<String>,
}

fn check_change(change: &CallChange) -> Result<Option<CallControl>, CoreError> {
    let redirect = change.url.is_some() || change.document.is_some();
    let mut c = Checks::new();
    match change.status.as_deref() {
        Some("canceled" | "completed") if !redirect => {}
        Some(_) if redirect => c.push(FieldError::new(
            "status",
            "conflicting_change",
            "end the call or redirect it, not both",
        )),
        Some(_) => c.push(FieldError::new("status", "invalid_status", "`canceled` or `completed`")),
        None if !redirect => c.push(FieldError::new(
            "status",
            "change_required",
            "give a status, a url or a document",
        )),
        None => check_document(&mut c, change.url.as_deref(), change.document.as_deref()),
    }
    c.finish()?;
    Ok(redirect.then(|| CallControl::Redirect {
        url: change.url.clone(),
        document: change.document.clone(),
    }))
}

/// Ends or redirects one of the caller's calls: a queued call is canceled (or its document replaced); a live
/// one is hung up or redirected by the voice node supervising it; an ended one answers 409.
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id(), call_id = %id))]
pub async fn update(p: &Platform, by: &TenantPrincipal, id: &CallId, change: CallChange) -> Result<Call, CoreError> {
    by.authorize(WRITE)?;
    let redirect = check_change(&change)?;
    check_url(p, "url", change.url.as_deref()).await?;
    let mut call = p.calls.get_call(by.tenant_id(), id).await?;
    if call.status.is_final() {
        return Err(CoreError::Conflict(format!(
            "the call has ended ({})",
            call.status.as_str()
        )));
    }
    match (call.status, redirect) {
        (CallStatus::Queued, None) => cancel(p, by, id).await,
        (CallStatus::Queued, Some(_)) => {
            call.url = change.url;
            call.document = change.document;
            call.updated_at = OffsetDateTime::now_utc();
            let update = CallUpdate {
                call: &call,
                event: None,
                task: None,
                completes: None,
            };
            p.calls.update_call(update).await?;
            Ok(call)
        }
        (_, control) => {
            let control = control.unwrap_or(CallControl::Hangup);
            let text = serde_json::to_string(&control).map_err(|e| CoreError::Internal(Box::new(e)))?;
            p.calls.request_control(by.tenant_id(), id, &text).await?;
            Ok(call)
        }
    }
}

/// The recordings of one of the caller's calls.
pub async fn recordings(p: &Platform, by: &TenantPrincipal, id: &CallId) -> Result<Vec<CallRecording>, CoreError> {
    by.authorize(READ)?;
    p.calls.get_call(by.tenant_id(), id).await?;
    Ok(p.calls.list_recordings(by.tenant_id(), id).await?)
}

/// Where a call's recordings go: the whole call's (`n` = 0, `record: true`) at
/// `recordings/<tenant>/<yyyy>/<mm>/<dd>/<call>.wav`, the `n`th of its Record verbs (from 1) beside it as
/// `<call>-<n>.wav`.
pub fn recording_key(call: &Call, n: usize, at: OffsetDateTime) -> String {
    let day = format!("{:04}/{:02}/{:02}", at.year(), u8::from(at.month()), at.day());
    let file = if n == 0 {
        format!("{}.wav", call.id)
    } else {
        format!("{}-{n}.wav", call.id)
    };
    format!("recordings/{}/{day}/{file}", call.tenant_id)
}

/// Keeps a recording of a call: the WAV in the object store under its recording key, then its object and
/// recording rows.
#[tracing::instrument(skip_all, fields(tenant_id = %call.tenant_id, call_id = %call.id))]
pub async fn save_recording(
    p: &Platform,
    call: &Call,
    n: usize,
    wav: Bytes,
    duration_ms: i64,
) -> Result<(CallRecording, StoredObject), CoreError> {
    let now = OffsetDateTime::now_utc();
    let new = NewObject {
        purpose: ObjectPurpose::Recording,
        filename: format!("{}.wav", call.id),
        content_type: "audio/wav".into(),
        bytes: wav,
    };
    let object = objects::store_at(p, &call.tenant_id, recording_key(call, n, now), new).await?;
    let recording = CallRecording {
        id: RecordingId::new(),
        tenant_id: call.tenant_id.clone(),
        call_id: call.id.clone(),
        object_id: object.id.clone(),
        duration_ms,
        created_at: now,
    };
    p.calls.create_recording(&recording).await?;
    Ok((recording, object))
}

/// Sets (or, with `None`, clears) the voice URL of one of the caller's numbers: calls to the number fetch
/// their document there.
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id()))]
pub async fn set_voice_url(
    p: &Platform,
    by: &TenantPrincipal,
    id: &crate::id::PhoneNumberId,
    url: Option<&str>,
) -> Result<Option<String>, CoreError> {
    by.authorize(super::accounts::MANAGE)?;
    check_url(p, "voice_url", url).await?;
    p.calls.set_voice_url(by.tenant_id(), id, url).await?;
    Ok(url.map(str::to_owned))
}

/// The voice URL of one of the caller's numbers.
pub async fn voice_url(
    p: &Platform,
    by: &TenantPrincipal,
    id: &crate::id::PhoneNumberId,
) -> Result<Option<String>, CoreError> {
    by.authorize(super::accounts::MANAGE)?;
    Ok(p.calls.voice_url(by.tenant_id(), id).await?)
}
