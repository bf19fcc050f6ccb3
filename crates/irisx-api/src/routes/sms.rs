//! `/v1/sms`: send, list, read (with attempts and status history), cancel a scheduled send, and opt-outs.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::id::MessageId;
use irisx_core::page::PageRequest;
use irisx_core::ports::messaging::MessageFilter;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::model::{Attempt, Channel, Direction, Message, OptOut, StatusChange};
use irisx_core::usecase::sms::{self, SendInput};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::{ListOut, rfc3339_param};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, PageQuery, ReadSms, SendSms, Tenant, path_id};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(send))
        .routes(routes!(list))
        .routes(routes!(list_opt_outs, add_opt_out))
        .routes(routes!(remove_opt_out))
        .routes(routes!(get))
        .routes(routes!(cancel))
}

/// A message to send.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendIn {
    /// Recipient, E.164 (`+14155550123`).
    pub to: String,
    /// Sender: a number (or sender id) your account holds. Give this or `sender_pool`.
    pub from: Option<String>,
    /// Send from one of your numbers in this pool (set a number's pool with `PATCH /v1/phone-numbers/{id}`);
    /// a recipient always hears from the same number of the pool.
    pub sender_pool: Option<String>,
    /// Text, up to 1600 characters; GSM-7 or UCS-2 is chosen for you.
    #[serde(default)]
    pub body: String,
    /// Media URLs (MMS), at most 10.
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// Where to post this message's status changes.
    pub status_callback: Option<String>,
    /// Seconds the provider may keep trying (1 to 14400).
    pub validity_period: Option<u32>,
    /// Send later: RFC 3339, at most 35 days ahead.
    pub send_at: Option<String>,
    /// Tags for filtering (at most 10).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Your own JSON object, kept with the message (at most 4 KB).
    pub metadata: Option<serde_json::Value>,
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    /// Its id.
    pub id: MessageId,
    /// `outbound` or `inbound`.
    pub direction: String,
    /// Sender.
    pub from: String,
    /// Recipient.
    pub to: String,
    /// Text.
    pub body: String,
    /// Media URLs.
    pub media_urls: Vec<String>,
    /// Current status.
    pub status: DeliveryStatus,
    /// Segments billed.
    pub segments: u32,
    /// `gsm7` or `ucs2`.
    pub encoding: Option<String>,
    /// The provider's id.
    pub provider_message_id: Option<String>,
    /// The provider's error code, on failure.
    pub error_code: Option<String>,
    /// The error, for people.
    pub error_message: Option<String>,
    /// Price in micro-units of `currency`.
    pub price_micros: Option<i64>,
    /// Currency.
    pub currency: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Your metadata.
    pub metadata: serde_json::Value,
    /// Scheduled time.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub send_at: Option<OffsetDateTime>,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last changed at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            direction: m.direction.as_str().to_owned(),
            from: m.from,
            to: m.to,
            body: m.body,
            media_urls: m.media_urls,
            status: m.status,
            segments: m.segments,
            encoding: m.encoding.map(|e| {
                serde_json::to_value(e)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            }),
            provider_message_id: m.provider_message_id,
            error_code: m.error_code,
            error_message: m.error_message,
            price_micros: m.price_micros,
            currency: m.currency,
            tags: m.tags,
            metadata: m.metadata,
            send_at: m.send_at,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// One attempt to hand the message to a provider.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    /// The provider.
    pub provider: String,
    /// The account.
    pub account_id: String,
    /// `accepted`, `retryable`, `permanent`, `unknown` or `reconciled`.
    pub outcome: String,
    /// The provider's code.
    pub code: Option<String>,
    /// What the provider said.
    pub detail: Option<String>,
    /// Milliseconds the provider took.
    pub latency_ms: i64,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
}

impl From<Attempt> for AttemptOut {
    fn from(a: Attempt) -> Self {
        Self {
            provider: a.provider.as_str().to_owned(),
            account_id: a.account_id.to_string(),
            outcome: a.outcome.as_str().to_owned(),
            code: a.code,
            detail: a.detail,
            latency_ms: a.latency_ms,
            started_at: a.started_at,
        }
    }
}

/// One status change, applied or kept for the record.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChangeOut {
    /// The normalized status.
    pub status: DeliveryStatus,
    /// The provider's word.
    pub provider_status: Option<String>,
    /// The provider's error code.
    pub error_code: Option<String>,
    /// Whether it changed the message (a late receipt never moves a message backwards).
    pub applied: bool,
    /// The provider's payload.
    pub raw: serde_json::Value,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
}

impl From<StatusChange> for StatusChangeOut {
    fn from(c: StatusChange) -> Self {
        Self {
            status: c.status,
            provider_status: c.provider_status,
            error_code: c.error_code,
            applied: c.applied,
            raw: c.raw,
            occurred_at: c.occurred_at,
        }
    }
}

/// A message with its attempts and status history.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageDetailOut {
    /// The message.
    #[serde(flatten)]
    pub message: MessageOut,
    /// Attempts, oldest first.
    pub attempts: Vec<AttemptOut>,
    /// Status history, oldest first.
    pub status_history: Vec<StatusChangeOut>,
}

/// Send an SMS. It is stored and queued at once (202); a provider is chosen and called by the worker.
#[utoipa::path(post, path = "/v1/sms/send", tag = "sms", request_body = SendIn, security(("bearer" = []), ("api_key" = ["sms:send"])),
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same request")),
    responses((status = 202, body = MessageOut), (status = 422, body = ErrorBody, description = "invalid, opted out, or a number you do not hold")))]
async fn send(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendSms>,
    ApiJson(b): ApiJson<SendIn>,
) -> ApiResult<(StatusCode, Json<MessageOut>)> {
    let send_at = rfc3339_param("send_at", b.send_at)?;
    let input = SendInput {
        to: b.to,
        from: b.from.unwrap_or_default(),
        sender_pool: b.sender_pool,
        body: b.body,
        media_urls: b.media_urls,
        status_callback: b.status_callback,
        validity_period: b.validity_period,
        send_at,
        tags: b.tags,
        metadata: b.metadata,
    };
    let m = sms::send(&st.platform, &p, input).await?;
    Ok((StatusCode::ACCEPTED, Json(m.into())))
}

/// Message list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Items per page, 1 to 200.
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only this status.
    pub status: Option<DeliveryStatus>,
    /// Only `outbound` (sent) or only `inbound` (received) messages.
    pub direction: Option<Direction>,
    /// Only to this number (email: this one `to` address).
    pub to: Option<String>,
    /// Only from this number (email: this address).
    pub from: Option<String>,
    /// Only with this tag.
    pub tag: Option<String>,
    /// Created at or after (RFC 3339).
    pub created_from: Option<String>,
    /// Created before (RFC 3339).
    pub created_to: Option<String>,
}

impl MessageQuery {
    /// The page and the filter of one channel's messages, or a 422 naming the bad parameter.
    pub fn split(self, channel: Channel) -> ApiResult<(PageRequest, MessageFilter)> {
        let page = PageQuery {
            limit: self.limit,
            cursor: self.cursor,
        }
        .page()?;
        let filter = MessageFilter {
            channel: Some(channel),
            direction: self.direction,
            status: self.status,
            to: self.to,
            from: self.from,
            tag: self.tag,
            created_from: rfc3339_param("created_from", self.created_from)?,
            created_to: rfc3339_param("created_to", self.created_to)?,
        };
        Ok((page, filter))
    }
}

/// List messages, newest first.
#[utoipa::path(get, path = "/v1/sms", tag = "sms", params(MessageQuery), security(("bearer" = []), ("api_key" = ["sms:read"])),
    responses((status = 200, body = ListOut<MessageOut>), (status = 422, body = ErrorBody)))]
async fn list(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadSms>,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> ApiResult<Json<ListOut<MessageOut>>> {
    let (page, filter) = q.split(Channel::Sms)?;
    Ok(Json(ListOut::from_page(
        sms::list(&st.platform, &p, &filter, &page).await?,
        MessageOut::from,
    )))
}

/// Read a message with its attempts and status history.
#[utoipa::path(get, path = "/v1/sms/{id}", tag = "sms", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["sms:read"])),
    responses((status = 200, body = MessageDetailOut), (status = 404, body = ErrorBody)))]
async fn get(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadSms>,
    Path(id): Path<String>,
) -> ApiResult<Json<MessageDetailOut>> {
    let d = sms::get(&st.platform, &p, &path_id(&id, "message")?).await?;
    Ok(Json(MessageDetailOut {
        message: d.message.into(),
        attempts: d.attempts.into_iter().map(Into::into).collect(),
        status_history: d.history.into_iter().map(Into::into).collect(),
    }))
}

/// Cancel a scheduled message that has not been sent.
#[utoipa::path(post, path = "/v1/sms/{id}/cancel", tag = "sms", params(("id" = String, Path)), security(("bearer" = []), ("api_key" = ["sms:send"])),
    responses((status = 200, body = MessageOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "already sent")))]
async fn cancel(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendSms>,
    Path(id): Path<String>,
) -> ApiResult<Json<MessageOut>> {
    Ok(Json(
        sms::cancel(&st.platform, &p, &path_id(&id, "message")?).await?.into(),
    ))
}

/// A number that opted out.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptOutOut {
    /// The number.
    pub number: String,
    /// `keyword`, `api` or `admin`.
    pub source: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<OptOut> for OptOutOut {
    fn from(o: OptOut) -> Self {
        Self {
            number: o.number,
            source: o.source,
            created_at: o.created_at,
        }
    }
}

/// A number to opt out.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOutIn {
    /// E.164.
    pub number: String,
}

/// List the numbers that opted out of your messages.
#[utoipa::path(get, path = "/v1/sms/opt-outs", tag = "sms", params(PageQuery), security(("bearer" = []), ("api_key" = ["sms:read"])),
    responses((status = 200, body = ListOut<OptOutOut>)))]
async fn list_opt_outs(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadSms>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<OptOutOut>>> {
    Ok(Json(ListOut::from_page(
        sms::list_opt_outs(&st.platform, &p, &q.page()?).await?,
        OptOutOut::from,
    )))
}

/// Opt a number out: sends to it are refused until it opts back in.
#[utoipa::path(post, path = "/v1/sms/opt-outs", tag = "sms", request_body = OptOutIn, security(("bearer" = []), ("api_key" = ["sms:send"])),
    responses((status = 201, body = OptOutOut), (status = 422, body = ErrorBody)))]
async fn add_opt_out(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendSms>,
    ApiJson(b): ApiJson<OptOutIn>,
) -> ApiResult<(StatusCode, Json<OptOutOut>)> {
    Ok((
        StatusCode::CREATED,
        Json(sms::add_opt_out(&st.platform, &p, &b.number).await?.into()),
    ))
}

/// Opt a number back in.
#[utoipa::path(delete, path = "/v1/sms/opt-outs/{number}", tag = "sms", params(("number" = String, Path)), security(("bearer" = []), ("api_key" = ["sms:send"])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove_opt_out(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendSms>,
    Path(number): Path<String>,
) -> ApiResult<StatusCode> {
    sms::remove_opt_out(&st.platform, &p, &number).await?;
    Ok(StatusCode::NO_CONTENT)
}
