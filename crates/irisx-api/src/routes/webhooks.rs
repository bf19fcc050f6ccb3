//! Webhook endpoints under `/v1/webhooks`: register, list, change, delete, rotate the secret, the attempt
//! log, retry one event, replay failures, a test event; and the secret that signs status callbacks.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use irisx_core::id::{EventId, WebhookAttemptId, WebhookDeliveryId, WebhookEndpointId};
use irisx_core::usecase::webhooks::{self, EndpointInput, EndpointView};
use irisx_core::webhook::model::{AttemptResult, WebhookAttemptLog};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::dto::ListOut;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ManageWebhooks, OptionalJson, PageQuery, Tenant, path_id};

/// The tenant routes.
pub fn tenant() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_endpoints, create_endpoint))
        .routes(routes!(callback_secret))
        .routes(routes!(get_endpoint, update_endpoint, delete_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_attempts))
        .routes(routes!(retry_event))
        .routes(routes!(replay_failed))
        .routes(routes!(send_test))
}

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointOut {
    /// Its id.
    pub id: WebhookEndpointId,
    /// Where events are posted.
    pub url: String,
    /// Your note.
    pub description: Option<String>,
    /// Which events it receives: `*`, a family such as `message.*`, or types such as `message.delivered`.
    pub event_types: Vec<String>,
    /// Whether events are delivered to it.
    pub enabled: bool,
    /// Why IRISX disabled it (a 410 answer, or failing for days); enabling it again clears this.
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub failing_since: Option<OffsetDateTime>,
    /// The names of its custom headers (their values are never shown again).
    pub headers: Vec<String>,
    /// Deliveries per second at most.
    pub rate_limit_per_second: Option<u32>,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last changed at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<EndpointView> for EndpointOut {
    fn from(v: EndpointView) -> Self {
        let w = v.endpoint;
        Self {
            id: w.id,
            url: w.url.to_string(),
            description: w.description,
            event_types: w.event_types.into_iter().map(String::from).collect(),
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            failing_since: w.failing_since,
            headers: v.header_names,
            rate_limit_per_second: w.rate_limit_per_second,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A new endpoint with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointCreatedOut {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: EndpointOut,
    /// `whsec_…`: verifies the `webhook-signature` header (Standard Webhooks). Shown only now.
    pub secret: String,
}

/// An endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointIn {
    /// An `https://` (or `http://`) URL on a public address.
    pub url: String,
    /// A note.
    pub description: Option<String>,
    /// Event type patterns (default `["*"]`).
    pub event_types: Option<Vec<String>>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Headers sent with every delivery, e.g. an authorization token.
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    /// Deliveries per second at most.
    pub rate_limit_per_second: Option<u32>,
}

/// Changes to an endpoint; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatchIn {
    /// A new URL (checked again).
    pub url: Option<String>,
    /// A note, or null to remove it.
    #[serde(default, deserialize_with = "crate::dto::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// New event type patterns.
    pub event_types: Option<Vec<String>>,
    /// Enable or disable; enabling clears an automatic disable.
    pub enabled: Option<bool>,
    /// New custom headers, replacing the old ones (`{}` removes them).
    pub headers: Option<std::collections::BTreeMap<String, String>>,
    /// A new limit, or null to remove it.
    #[serde(default, deserialize_with = "crate::dto::nullable")]
    #[schema(value_type = Option<u32>)]
    pub rate_limit_per_second: Option<Option<u32>>,
}

fn headers(h: Option<std::collections::BTreeMap<String, String>>) -> Option<Vec<(String, String)>> {
    h.map(|h| h.into_iter().collect())
}

/// Register an endpoint. The URL must resolve to public addresses only.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = EndpointIn,
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])),
    responses((status = 201, body = EndpointCreatedOut), (status = 422, body = ErrorBody)))]
async fn create_endpoint(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    ApiJson(b): ApiJson<EndpointIn>,
) -> ApiResult<(StatusCode, Json<EndpointCreatedOut>)> {
    let input = EndpointInput {
        url: Some(b.url),
        description: Some(b.description),
        event_types: b.event_types,
        enabled: b.enabled,
        headers: headers(b.headers),
        rate_limit_per_second: b.rate_limit_per_second.map(Some),
    };
    let (view, secret) = webhooks::create(&st.platform, &p, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(EndpointCreatedOut {
            endpoint: view.into(),
            secret,
        }),
    ))
}

/// Your endpoints, newest first.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(PageQuery),
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])), responses((status = 200, body = ListOut<EndpointOut>)))]
async fn list_endpoints(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<EndpointOut>>> {
    Ok(Json(ListOut::from_page(
        webhooks::list(&st.platform, &p, &q.page()?).await?,
        EndpointOut::from,
    )))
}

/// One endpoint.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])),
    responses((status = 200, body = EndpointOut), (status = 404, body = ErrorBody)))]
async fn get_endpoint(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    Path(id): Path<String>,
) -> ApiResult<Json<EndpointOut>> {
    Ok(Json(
        webhooks::get(&st.platform, &p, &path_id(&id, "webhook endpoint")?)
            .await?
            .into(),
    ))
}

/// Change an endpoint.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = EndpointPatchIn, security(("bearer" = []), ("api_key" = ["webhooks:manage"])),
    responses((status = 200, body = EndpointOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_endpoint(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<EndpointPatchIn>,
) -> ApiResult<Json<EndpointOut>> {
    let input = EndpointInput {
        url: b.url,
        description: b.description,
        event_types: b.event_types,
        enabled: b.enabled,
        headers: headers(b.headers),
        rate_limit_per_second: b.rate_limit_per_second,
    };
    let id = path_id(&id, "webhook endpoint")?;
    Ok(Json(webhooks::update(&st.platform, &p, &id, input).await?.into()))
}

/// Delete an endpoint with its delivery history.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_endpoint(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    webhooks::delete(&st.platform, &p, &path_id(&id, "webhook endpoint")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A signing secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretOut {
    /// `whsec_…`.
    pub secret: String,
}

/// Give an endpoint a new secret. For 24 hours deliveries carry signatures by both the old and the new one.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])),
    responses((status = 200, body = SecretOut), (status = 404, body = ErrorBody)))]
async fn rotate_secret(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    Path(id): Path<String>,
) -> ApiResult<Json<SecretOut>> {
    let secret = webhooks::rotate_secret(&st.platform, &p, &path_id(&id, "webhook endpoint")?).await?;
    Ok(Json(SecretOut { secret }))
}

/// The secret that signs deliveries to messages' `status_callback` URLs (Standard Webhooks, as endpoints).
#[utoipa::path(get, path = "/v1/webhooks/status-callback-secret", tag = "webhooks",
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])), responses((status = 200, body = SecretOut)))]
async fn callback_secret(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
) -> ApiResult<Json<SecretOut>> {
    Ok(Json(SecretOut {
        secret: webhooks::show_callback_secret(&st.platform, &p).await?,
    }))
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    /// Its id.
    pub id: WebhookAttemptId,
    /// The delivery (one event to this endpoint).
    pub delivery_id: WebhookDeliveryId,
    /// The event; also the `webhook-id` header.
    pub event_id: EventId,
    /// 1 for the delivery's first attempt.
    pub attempt: u32,
    /// The URL called.
    pub url: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: OffsetDateTime,
    /// The answer's status, when one came.
    pub status_code: Option<u16>,
    /// Milliseconds until the answer (or the failure).
    pub latency_ms: i64,
    /// `delivered`, `failed` or `gone`.
    pub result: AttemptResult,
    /// The request headers as sent, signatures and custom values masked.
    #[schema(value_type = Object)]
    pub request_headers: Value,
    /// The start of the answer's body.
    pub response_body: Option<String>,
    /// What went wrong when no answer came.
    pub error: Option<String>,
}

impl From<WebhookAttemptLog> for AttemptOut {
    fn from(a: WebhookAttemptLog) -> Self {
        Self {
            id: a.id,
            delivery_id: a.delivery_id,
            event_id: a.event_id,
            attempt: a.attempt,
            url: a.url,
            started_at: a.started_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            result: a.result,
            request_headers: a.request_headers,
            response_body: a.response_body,
            error: a.error,
        }
    }
}

/// An endpoint's attempts, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/attempts", tag = "webhooks", params(("id" = String, Path), PageQuery),
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])),
    responses((status = 200, body = ListOut<AttemptOut>), (status = 404, body = ErrorBody)))]
async fn list_attempts(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> ApiResult<Json<ListOut<AttemptOut>>> {
    let id = path_id(&id, "webhook endpoint")?;
    Ok(Json(ListOut::from_page(
        webhooks::attempts(&st.platform, &p, &id, &q.page()?).await?,
        AttemptOut::from,
    )))
}

/// Deliveries queued again.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedOut {
    /// How many deliveries were queued.
    pub queued: u64,
}

/// The event to deliver again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryIn {
    /// The event's id (`evt_…`).
    pub event_id: EventId,
}

/// Deliver one event to this endpoint again (also one it never received), with a fresh schedule.
#[utoipa::path(post, path = "/v1/webhooks/{id}/retry", tag = "webhooks", params(("id" = String, Path)), request_body = RetryIn,
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])),
    responses((status = 202, body = QueuedOut), (status = 404, body = ErrorBody)))]
async fn retry_event(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RetryIn>,
) -> ApiResult<(StatusCode, Json<QueuedOut>)> {
    let queued = webhooks::retry(&st.platform, &p, &path_id(&id, "webhook endpoint")?, &b.event_id).await?;
    Ok((StatusCode::ACCEPTED, Json(QueuedOut { queued })))
}

/// Which failed deliveries to replay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    /// Every delivery that failed for good and was created at or after this time.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub since: OffsetDateTime,
}

/// Deliver again every failed delivery to this endpoint since a time.
#[utoipa::path(post, path = "/v1/webhooks/{id}/replay", tag = "webhooks", params(("id" = String, Path)), request_body = ReplayIn,
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])),
    responses((status = 202, body = QueuedOut), (status = 404, body = ErrorBody)))]
async fn replay_failed(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<ReplayIn>,
) -> ApiResult<(StatusCode, Json<QueuedOut>)> {
    let queued = webhooks::replay(&st.platform, &p, &path_id(&id, "webhook endpoint")?, b.since).await?;
    Ok((StatusCode::ACCEPTED, Json(QueuedOut { queued })))
}

/// The test event sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestOut {
    /// The `webhook.test` event's id (the `webhook-id` header).
    pub event_id: EventId,
}

/// Send a `webhook.test` event to this endpoint only.
#[utoipa::path(post, path = "/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)),
    security(("bearer" = []), ("api_key" = ["webhooks:manage"])),
    responses((status = 202, body = TestOut), (status = 404, body = ErrorBody)))]
async fn send_test(
    State(st): State<AppState>,
    Tenant(p, ..): Tenant<ManageWebhooks>,
    Path(id): Path<String>,
    _: OptionalJson<Value>,
) -> ApiResult<(StatusCode, Json<TestOut>)> {
    let event = webhooks::send_test(&st.platform, &p, &path_id(&id, "webhook endpoint")?).await?;
    Ok((StatusCode::ACCEPTED, Json(TestOut { event_id: event.id })))
}
