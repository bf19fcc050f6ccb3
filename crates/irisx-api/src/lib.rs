//! The IRISX HTTP API: routers per resource, DTOs beside them, the auth extractors, the one error table, and
//! the OpenAPI 3.1 document generated from the handlers.
//!
//! Layout of a request, outermost first: request id → trace → CORS → body limit → timeout → (route match) →
//! metrics → authentication and rate limit → idempotency → handler.

pub mod dto;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use irisx_core::ports::queue::Queue;
use irisx_core::usecase::Platform;
use metrics_exporter_prometheus::PrometheusHandle;
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_scalar::{Scalar, Servable};

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// Origins allowed by CORS; `*` allows any; empty allows none.
    pub cors_origins: Vec<String>,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_ttl: Duration,
    /// How long a request may take before 408.
    pub request_timeout: Duration,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            cors_origins: Vec::new(),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Ports and policies.
    pub platform: Arc<Platform>,
    /// The queue, for readiness and depth.
    pub queue: Arc<dyn Queue>,
    /// HTTP settings.
    pub settings: Arc<ApiSettings>,
    /// The Prometheus recorder, when metrics are on.
    pub prometheus: Option<PrometheusHandle>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "IRISX API", description = "One REST API for SMS, email, chat and voice. Authenticate with `X-API-Key` \
        or `Authorization: Bearer <token>`; staff routes under `/admin` take a staff token. Errors always answer \
        `{\"error\": {\"code\", \"message\", \"details\", \"request_id\"}}`. Creates accept `Idempotency-Key`.",
        license(name = "Apache-2.0")),
    modifiers(&SecuritySchemes),
    components(schemas(routes::event_schemas::WebhookPayload)),
    tags((name = "auth", description = "Sign-up, login and sessions"), (name = "users", description = "A tenant's users"),
        (name = "api-keys", description = "API keys"), (name = "admin", description = "Platform staff"),
        (name = "calls", description = "Voice: calls, SIP trunks, agents and recordings"),
        (name = "webhooks", description = "Webhook endpoints: Standard Webhooks signatures, retries, replay"),
        (name = "objects", description = "Stored files (attachments, received emails' parts, recordings) and their expiring download links"),
        (name = "system", description = "Health, readiness and metrics"))
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        let jwt = || {
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            )
        };
        c.add_security_scheme("bearer", jwt());
        c.add_security_scheme("admin_bearer", jwt());
        c.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
    }
}

struct Parts {
    public: OpenApiRouter<AppState>,
    tenant: OpenApiRouter<AppState>,
    admin_public: OpenApiRouter<AppState>,
    admin: OpenApiRouter<AppState>,
    system: OpenApiRouter<AppState>,
}

fn parts() -> Parts {
    Parts {
        public: routes::auth::public(),
        tenant: routes::auth::protected()
            .merge(routes::users::router())
            .merge(routes::api_keys::router())
            .merge(routes::sms::router())
            .merge(routes::numbers::tenant())
            .merge(routes::providers::tenant())
            .merge(routes::usage::router())
            .merge(routes::webhooks::tenant())
            .merge(routes::email::router())
            .merge(routes::email_templates::router())
            .merge(routes::email_tracking::router())
            .merge(routes::email_inbound::router())
            .merge(routes::objects::router())
            .merge(routes::calls::router())
            .merge(routes::trunks::tenant())
            .merge(routes::agents::router()),
        admin_public: routes::admin::public(),
        admin: routes::admin::protected()
            .merge(routes::numbers::admin())
            .merge(routes::providers::admin())
            .merge(routes::trunks::admin()),
        system: routes::system::router()
            .merge(routes::callbacks::router())
            .merge(routes::email_tracking::callbacks())
            .merge(routes::email_inbound::callbacks())
            .merge(routes::objects::public()),
    }
}

/// The OpenAPI document (what `irisx openapi` prints and `/openapi.json` serves).
pub fn openapi() -> utoipa::openapi::OpenApi {
    let p = parts();
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(p.public)
        .merge(p.tenant)
        .merge(p.admin_public)
        .merge(p.admin)
        .merge(p.system)
        .into_openapi()
}

#[derive(Clone)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(irisx_core::id::RequestId::new().as_str())
            .ok()
            .map(RequestId::new)
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            HeaderName::from_static("x-api-key"),
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("ratelimit-limit"),
            HeaderName::from_static("ratelimit-remaining"),
            HeaderName::from_static("ratelimit-reset"),
            HeaderName::from_static("retry-after"),
        ])
        .max_age(Duration::from_secs(600))
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let p = parts();
    let idem = || from_fn_with_state(state.clone(), middleware::idempotency);
    let public = p
        .public
        .merge(p.admin_public)
        .route_layer(idem())
        .route_layer(from_fn_with_state(state.clone(), middleware::public_rate_limit));
    let tenant = p
        .tenant
        .route_layer(idem())
        .route_layer(from_fn_with_state(state.clone(), middleware::tenant_auth));
    let admin = p
        .admin
        .route_layer(idem())
        .route_layer(from_fn_with_state(state.clone(), middleware::admin_auth));
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(public)
        .merge(tenant)
        .merge(admin)
        .merge(p.system)
        .split_for_parts();
    let spec = api.clone();
    let request_id = HeaderName::from_static("x-request-id");
    let settings = state.settings.clone();
    router
        .route("/openapi.json", get(move || async move { axum::Json(spec) }))
        .merge(Scalar::with_url("/docs", api).title("IRISX API reference"))
        .fallback(error::route_not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .route_layer(from_fn(middleware::track_metrics))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeId))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                        let id = req
                            .headers()
                            .get("x-request-id")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
                    }),
                )
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(from_fn(middleware::request_id_scope))
                .layer(cors(&settings.cors_origins))
                .layer(DefaultBodyLimit::max(settings.body_limit))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    settings.request_timeout,
                )),
        )
        .with_state(state)
}
