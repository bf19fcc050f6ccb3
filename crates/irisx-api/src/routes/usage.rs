//! `/v1/usage` (billable use by time range and channel) and `/v1/events` (the event log webhooks deliver).

use axum::Json;
use axum::extract::State;
use irisx_core::id::EventId;
use irisx_core::ports::messaging::EventFilter;
use irisx_core::sms::model::{Channel, Event};
use irisx_core::usecase::sms;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::{ListOut, rfc3339_param};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{AnyCaller, ApiQuery, PageQuery, Tenant};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(usage)).routes(routes!(events))
}

/// Which usage to sum.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    /// From (RFC 3339), default 30 days ago.
    pub from: Option<String>,
    /// To (RFC 3339, exclusive), default now.
    pub to: Option<String>,
    /// Only this channel.
    pub channel: Option<Channel>,
}

/// Usage of one channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageOut {
    /// The channel.
    pub channel: Channel,
    /// Units.
    pub quantity: i64,
    /// `segment`, `email`, `second`.
    pub unit: String,
    /// Price, micro-units.
    pub price_micros: i64,
    /// Currency.
    pub currency: String,
    /// Records summed.
    pub records: i64,
}

/// Usage over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageReportOut {
    /// From.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub from: OffsetDateTime,
    /// To.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub to: OffsetDateTime,
    /// Per channel.
    pub data: Vec<UsageOut>,
}

/// Billable usage by channel over a period.
#[utoipa::path(get, path = "/v1/usage", tag = "usage", params(UsageQuery), security(("bearer" = []), ("api_key" = ["usage:read"])),
    responses((status = 200, body = UsageReportOut), (status = 422, body = ErrorBody)))]
async fn usage(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<AnyCaller>,
    ApiQuery(q): ApiQuery<UsageQuery>,
) -> ApiResult<Json<UsageReportOut>> {
    let now = OffsetDateTime::now_utc();
    let from = rfc3339_param("from", q.from)?.unwrap_or(now - time::Duration::days(30));
    let to = rfc3339_param("to", q.to)?.unwrap_or(now);
    let totals = sms::usage(&st.platform, &p, from, to, q.channel).await?;
    let data = totals
        .into_iter()
        .map(|t| UsageOut {
            channel: t.channel,
            quantity: t.quantity,
            unit: t.unit,
            price_micros: t.price_micros,
            currency: t.currency,
            records: t.records,
        })
        .collect();
    Ok(Json(UsageReportOut { from, to, data }))
}

/// Which events to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Items per page, 1 to 200.
    pub limit: Option<u32>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Only this type, or a prefix ending in `*` (`message.*`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Only about this message or call.
    pub resource_id: Option<String>,
    /// Only events at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Only events before this time (RFC 3339).
    pub to: Option<String>,
}

/// An event.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// Its stable id (what webhooks deliver it under).
    pub id: EventId,
    /// e.g. `message.delivered`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The tenant.
    pub tenant_id: String,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: OffsetDateTime,
    /// The payload of its type.
    pub data: serde_json::Value,
}

impl From<Event> for EventOut {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            event_type: e.event_type,
            tenant_id: e.tenant_id.to_string(),
            occurred_at: e.occurred_at,
            data: e.data,
        }
    }
}

/// The event log, newest first.
#[utoipa::path(get, path = "/v1/events", tag = "usage", params(EventQuery), security(("bearer" = []), ("api_key" = ["events:read"])),
    responses((status = 200, body = ListOut<EventOut>)))]
async fn events(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<AnyCaller>,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> ApiResult<Json<ListOut<EventOut>>> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let filter = EventFilter {
        event_type: q.event_type,
        resource_id: q.resource_id,
        from: rfc3339_param("from", q.from)?,
        to: rfc3339_param("to", q.to)?,
    };
    let list = sms::events(&st.platform, &p, &filter, &page).await?;
    Ok(Json(ListOut::from_page(list, EventOut::from)))
}
