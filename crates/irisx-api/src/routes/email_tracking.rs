//! Email after the send: `/v1/email/stats`, the suppression list under `/v1/email/suppressions`, and the
//! vendors' tracking webhooks at `/v1/callbacks/email/{account}/events` (no IRISX credentials: each is verified
//! with the account's own scheme; a forged one gets 403 and changes nothing).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use irisx_core::id::MessageId;
use irisx_core::ports::email::Suppression;
use irisx_core::usecase::email_tracking;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::callbacks::request;
use super::email::{ReadEmail, SendEmail};
use crate::AppState;
use crate::dto::{ListOut, rfc3339_param};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, PageQuery, Tenant, path_id};

/// The tenant routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stats))
        .routes(routes!(list_suppressions, add_suppression))
        .routes(routes!(remove_suppression))
}

/// The vendors' webhook routes.
pub fn callbacks() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// Which stats.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// One message's stats (then the period is ignored).
    pub message_id: Option<String>,
    /// From (RFC 3339), default 30 days ago.
    pub from: Option<String>,
    /// To (RFC 3339, exclusive), default now.
    pub to: Option<String>,
}

/// Email stats: emails sent and tracking events by kind. Engagement (opened, clicked, spam_report,
/// unsubscribed) is counted apart from delivery (delivered, bounced, dropped, deferred).
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    /// The message, for one message's stats.
    pub message_id: Option<String>,
    /// Emails created in the period (1 for one message).
    pub emails: i64,
    /// Delivery events by kind: `delivered`, `bounced`, `dropped`, `deferred`.
    pub delivery: serde_json::Map<String, serde_json::Value>,
    /// Engagement events by kind: `opened`, `clicked`, `spam_report`, `unsubscribed`.
    pub engagement: serde_json::Map<String, serde_json::Value>,
}

/// Email stats for the period or for one message.
#[utoipa::path(get, path = "/v1/email/stats", operation_id = "email_stats", tag = "email", params(StatsQuery), security(("bearer" = []), ("api_key" = ["email:read"])),
    responses((status = 200, body = StatsOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn stats(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadEmail>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<StatsOut>> {
    let now = OffsetDateTime::now_utc();
    let from = rfc3339_param("from", q.from)?.unwrap_or(now - time::Duration::days(30));
    let to = rfc3339_param("to", q.to)?.unwrap_or(now);
    let message: Option<MessageId> = q.message_id.as_deref().map(|m| path_id(m, "email")).transpose()?;
    let s = email_tracking::stats(&st.platform, &p, message.as_ref(), from, to).await?;
    let mut out = StatsOut {
        message_id: message.map(|m| m.to_string()),
        emails: s.emails,
        delivery: serde_json::Map::new(),
        engagement: serde_json::Map::new(),
    };
    for k in ["delivered", "bounced", "dropped", "deferred"] {
        out.delivery.insert(k.into(), 0.into());
    }
    for k in ["opened", "clicked", "spam_report", "unsubscribed"] {
        out.engagement.insert(k.into(), 0.into());
    }
    for c in s.counts {
        let side = if out.delivery.contains_key(&c.kind) {
            &mut out.delivery
        } else {
            &mut out.engagement
        };
        side.insert(c.kind, c.count.into());
    }
    Ok(Json(out))
}

/// A suppressed address.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuppressionOut {
    /// The address.
    pub address: String,
    /// `hard_bounce`, `spam_report`, `unsubscribed` or `manual`.
    pub reason: String,
    /// The message whose event suppressed it.
    pub message_id: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<Suppression> for SuppressionOut {
    fn from(s: Suppression) -> Self {
        Self {
            address: s.address,
            reason: s.reason,
            message_id: s.message_id.map(|m| m.to_string()),
            created_at: s.created_at,
        }
    }
}

/// An address to suppress.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuppressionIn {
    /// The address.
    pub address: String,
}

/// List your suppressed addresses, by address.
#[utoipa::path(get, path = "/v1/email/suppressions", operation_id = "email_list_suppressions", tag = "email", params(PageQuery), security(("bearer" = []), ("api_key" = ["email:read"])),
    responses((status = 200, body = ListOut<SuppressionOut>)))]
async fn list_suppressions(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ReadEmail>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<SuppressionOut>>> {
    Ok(Json(ListOut::from_page(
        email_tracking::list_suppressions(&st.platform, &p, &q.page()?).await?,
        SuppressionOut::from,
    )))
}

/// Suppress an address: sends to it are refused until the suppression is removed.
#[utoipa::path(post, path = "/v1/email/suppressions", operation_id = "email_add_suppression", tag = "email", request_body = SuppressionIn, security(("bearer" = []), ("api_key" = ["email:send"])),
    responses((status = 201, body = SuppressionOut), (status = 422, body = ErrorBody)))]
async fn add_suppression(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendEmail>,
    ApiJson(b): ApiJson<SuppressionIn>,
) -> ApiResult<(StatusCode, Json<SuppressionOut>)> {
    Ok((
        StatusCode::CREATED,
        Json(
            email_tracking::add_suppression(&st.platform, &p, &b.address)
                .await?
                .into(),
        ),
    ))
}

/// Remove a suppression.
#[utoipa::path(delete, path = "/v1/email/suppressions/{address}", operation_id = "email_remove_suppression", tag = "email", params(("address" = String, Path)), security(("bearer" = []), ("api_key" = ["email:send"])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove_suppression(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<SendEmail>,
    Path(address): Path<String>,
) -> ApiResult<StatusCode> {
    email_tracking::remove_suppression(&st.platform, &p, &address).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a tracking webhook did.
#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingOut {
    /// Events recorded for the first time.
    pub recorded: usize,
    /// Events seen before or for unknown messages.
    pub ignored: usize,
    /// Whether a subscription was confirmed (Amazon SNS).
    pub confirmed: bool,
}

/// A vendor's tracking events (SendGrid Event Webhook, Mailgun webhooks, Postmark webhooks, Amazon SES through
/// SNS, the sandbox) for messages sent through this account.
#[utoipa::path(post, path = "/v1/callbacks/email/{account}/events", operation_id = "email_tracking_events", tag = "callbacks", params(("account" = String, Path)),
    request_body(content = String, description = "the vendor's own event format"),
    responses((status = 200, body = TrackingOut), (status = 403, body = ErrorBody, description = "signature refused"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn events(
    State(st): State<AppState>,
    Path(account): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<TrackingOut>> {
    let req = request(&st, method, &uri, &headers, body);
    let s = email_tracking::webhook(&st.platform, &path_id(&account, "provider account")?, &req).await?;
    Ok(Json(TrackingOut {
        recorded: s.recorded,
        ignored: s.ignored,
        confirmed: s.confirmed,
    }))
}
