//! `/health` (liveness), `/ready` (database, queue, cache), `/metrics` (Prometheus).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use irisx_core::task::Subject;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics_text))
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    /// Always `ok`.
    pub status: &'static str,
    /// The IRISX version.
    pub version: &'static str,
}

/// Readiness of each backing service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyOut {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// `ok` or the error, per service.
    pub checks: ReadyChecks,
}

/// One check per backing service.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyChecks {
    /// The database.
    pub database: String,
    /// The queue.
    pub queue: String,
    /// The cache.
    pub cache: String,
}

/// Whether the process is alive.
#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, body = HealthOut)))]
async fn health() -> Json<HealthOut> {
    Json(HealthOut {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

async fn check<E: std::fmt::Display>(f: impl Future<Output = Result<(), E>>) -> String {
    match tokio::time::timeout(CHECK_TIMEOUT, f).await {
        Ok(Ok(())) => "ok".into(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timed out".into(),
    }
}

/// Whether the database, the queue and the cache answer.
#[utoipa::path(get, path = "/ready", tag = "system", responses((status = 200, body = ReadyOut), (status = 503, body = ReadyOut)))]
async fn ready(State(st): State<AppState>) -> (StatusCode, Json<ReadyOut>) {
    let (database, queue, cache) = tokio::join!(
        check(st.platform.store.ping()),
        check(st.queue.ping()),
        check(st.platform.cache.ping())
    );
    let ok = database == "ok" && queue == "ok" && cache == "ok";
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(ReadyOut {
            status: if ok { "ready" } else { "not_ready" },
            checks: ReadyChecks { database, queue, cache },
        }),
    )
}

/// Prometheus metrics: request counts and latency by route, outbox lag, queue depth.
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics_text(State(st): State<AppState>) -> Response {
    let Some(handle) = &st.prometheus else {
        return (StatusCode::NOT_FOUND, "metrics are switched off").into_response();
    };
    if let Ok(Ok(stats)) = tokio::time::timeout(CHECK_TIMEOUT, st.platform.store.outbox_stats()).await {
        metrics::gauge!("irisx_outbox_unpublished").set(stats.unpublished as f64);
        metrics::gauge!("irisx_outbox_in_flight").set(stats.in_flight as f64);
        metrics::gauge!("irisx_outbox_lag_seconds").set(stats.oldest_unpublished_secs);
    }
    for s in Subject::ALL {
        if let Ok(Ok(d)) = tokio::time::timeout(CHECK_TIMEOUT, st.queue.depth(*s)).await {
            metrics::gauge!("irisx_queue_depth", "subject" => s.as_str()).set(d as f64);
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
}
