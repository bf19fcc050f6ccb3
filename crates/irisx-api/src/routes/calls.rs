//! Calls under `/v1/calls`: place one (202, placed by a voice node), read and list them, end or redirect one,
//! and list a call's recordings (downloaded through `/v1/objects/{id}/url`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::calls::{Call, CallRecording, CallStatus};
use irisx_core::id::{CallId, ObjectId, RecordingId, SipTrunkId};
use irisx_core::sms::model::Direction;
use irisx_core::usecase::calls::{self, CallChange, CallInput};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::ListOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, PageQuery, ReadCalls, Tenant, WriteCalls, path_id};

/// The tenant routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get, update))
        .routes(routes!(recordings))
}

/// A call to place.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallIn {
    /// The number to call, E.164.
    pub to: String,
    /// The caller id, E.164 (a trunk with a caller id of its own presents that instead).
    pub from: String,
    /// Where the call-control document is fetched once the call is answered (a signed POST, as webhooks).
    pub url: Option<String>,
    /// An inline call-control document, instead of `url`.
    pub document: Option<String>,
    /// Where the call's status events are also posted, signed with your status-callback secret.
    pub status_callback: Option<String>,
    /// Record the whole call: what the far end says from the answer to the hangup, as one recording
    /// (`GET /v1/calls/{id}/recordings`).
    #[serde(default)]
    pub record: bool,
    /// Ring time in seconds, 1 to 120 (default 30).
    pub timeout: Option<u32>,
}

/// A call.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallOut {
    /// Its id.
    pub id: CallId,
    /// `outbound` or `inbound`.
    pub direction: Direction,
    /// The caller id.
    pub from: String,
    /// The number called.
    pub to: String,
    /// `queued`, `initiated`, `ringing`, `in-progress`, then `completed`, `busy`, `no-answer`, `failed` or
    /// `canceled`.
    pub status: CallStatus,
    /// Why it failed (`no_route`, `blocked_destination`, `call_limit`, `document_error`, `sip_<code>` ...).
    pub error_code: Option<String>,
    /// The reason in words.
    pub error_message: Option<String>,
    /// The final SIP status when one ended it.
    pub sip_code: Option<u16>,
    /// The trunk that answered.
    pub trunk_id: Option<SipTrunkId>,
    /// Seconds from answer to end.
    pub duration_secs: Option<i64>,
    /// Seconds billed (rounded up to your plan's increment).
    pub billable_secs: Option<i64>,
    /// Your price, micro-units.
    pub price_micros: Option<i64>,
    /// Its currency.
    pub currency: Option<String>,
    /// Answered at.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub answered_at: Option<OffsetDateTime>,
    /// Ended at.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ended_at: Option<OffsetDateTime>,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Call> for CallOut {
    fn from(c: Call) -> Self {
        Self {
            id: c.id,
            direction: c.direction,
            from: c.from,
            to: c.to,
            status: c.status,
            error_code: c.error_code,
            error_message: c.error_message,
            sip_code: c.sip_code,
            trunk_id: c.trunk_id,
            duration_secs: c.duration_secs,
            billable_secs: c.billable_secs,
            price_micros: c.price_micros,
            currency: c.currency,
            answered_at: c.answered_at,
            ended_at: c.ended_at,
            created_at: c.created_at,
        }
    }
}

/// A change to a call: end it (`status`), or redirect it to a new document (`url` or `document`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallUpdateIn {
    /// `canceled` or `completed`: a queued call is canceled, a live one hung up.
    pub status: Option<String>,
    /// Run the document at this URL instead of the current one.
    pub url: Option<String>,
    /// Run this inline document instead of the current one.
    pub document: Option<String>,
}

/// A recording of a call.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingOut {
    /// Its id.
    pub id: RecordingId,
    /// The stored WAV: `GET /v1/objects/{object_id}/url` gives a download link valid for an hour.
    pub object_id: ObjectId,
    /// Its length, milliseconds.
    pub duration_ms: i64,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<CallRecording> for RecordingOut {
    fn from(r: CallRecording) -> Self {
        Self {
            id: r.id,
            object_id: r.object_id,
            duration_ms: r.duration_ms,
            created_at: r.created_at,
        }
    }
}

/// Place a call. It is queued (202) and placed by a voice node through your trunks, or the platform's,
/// cheapest first for the destination; follow it with `call.*` events or `GET /v1/calls/{id}`.
#[utoipa::path(post, path = "/v1/calls", tag = "calls", request_body = CallIn, security(("bearer" = []), ("api_key" = ["calls:write"])),
    responses((status = 202, body = CallOut), (status = 422, body = ErrorBody)))]
async fn create(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<WriteCalls>,
    ApiJson(b): ApiJson<CallIn>,
) -> ApiResult<(StatusCode, Json<CallOut>)> {
    let input = CallInput {
        to: b.to,
        from: b.from,
        url: b.url,
        document: b.document,
        status_callback: b.status_callback,
        record: b.record,
        timeout: b.timeout,
    };
    let call = calls::create(&st.platform, &p, input).await?;
    Ok((StatusCode::ACCEPTED, Json(call.into())))
}

/// Your calls, newest first.
#[utoipa::path(get, path = "/v1/calls", tag = "calls", params(PageQuery), security(("bearer" = []), ("api_key" = ["calls:read"])),
    responses((status = 200, body = ListOut<CallOut>)))]
async fn list(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadCalls>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<CallOut>>> {
    Ok(Json(ListOut::from_page(
        calls::list(&st.platform, &p, &q.page()?).await?,
        CallOut::from,
    )))
}

/// Read a call.
#[utoipa::path(get, path = "/v1/calls/{id}", tag = "calls", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["calls:read"])),
    responses((status = 200, body = CallOut), (status = 404, body = ErrorBody)))]
async fn get(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadCalls>,
    Path(id): Path<String>,
) -> ApiResult<Json<CallOut>> {
    Ok(Json(calls::get(&st.platform, &p, &path_id(&id, "call")?).await?.into()))
}

/// Change a call: `{"status": "completed"}` hangs a live call up (a queued one is canceled); `{"url": …}` or
/// `{"document": …}` redirects it to a new document. A call that has ended answers 409.
#[utoipa::path(post, path = "/v1/calls/{id}", tag = "calls", params(("id" = String, Path)), request_body = CallUpdateIn,
    security(("bearer" = []), ("api_key" = ["calls:write"])),
    responses((status = 200, body = CallOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<WriteCalls>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<CallUpdateIn>,
) -> ApiResult<Json<CallOut>> {
    let change = CallChange {
        status: b.status,
        url: b.url,
        document: b.document,
    };
    Ok(Json(
        calls::update(&st.platform, &p, &path_id(&id, "call")?, change)
            .await?
            .into(),
    ))
}

/// A call's recordings, oldest first.
#[utoipa::path(get, path = "/v1/calls/{id}/recordings", tag = "calls", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["calls:read"])),
    responses((status = 200, body = ListOut<RecordingOut>), (status = 404, body = ErrorBody)))]
async fn recordings(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadCalls>,
    Path(id): Path<String>,
) -> ApiResult<Json<ListOut<RecordingOut>>> {
    let items = calls::recordings(&st.platform, &p, &path_id(&id, "call")?).await?;
    Ok(Json(ListOut {
        data: items.into_iter().map(RecordingOut::from).collect(),
        next_cursor: None,
        has_more: false,
    }))
}
