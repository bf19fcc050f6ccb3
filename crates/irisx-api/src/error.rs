//! The one place that turns errors into HTTP: status codes, the error body, and logging of unexpected errors.
//!
//! Every error answers `{"error": {"code", "message", "details": [...], "request_id"}}`. Expected errors keep
//! their message; unexpected ones (5xx) are logged once with their whole cause chain and answer a generic
//! message with the request id, never internals.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use irisx_core::ports::cache::RateDecision;
use irisx_core::{CoreError, FieldError};
use serde::Serialize;

tokio::task_local! {
    /// The current request's id, set by the request-id middleware for the handler's whole future.
    pub static REQUEST_ID: String;
}

/// The current request id, or `-` outside a request.
pub fn current_request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| "-".to_owned())
}

/// The error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable machine code, e.g. `validation_failed`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// A sentence for a person.
    pub message: String,
    /// Each bad field, for validation errors.
    pub details: Vec<FieldError>,
    /// The request id, to quote to support.
    pub request_id: String,
}

/// An error answered by the API.
#[derive(Debug)]
pub enum ApiError {
    /// A use case's error.
    Core(CoreError),
    /// An error found by the HTTP layer itself (bad JSON, wrong media type, body too large, unknown route).
    Http {
        /// Status code.
        status: StatusCode,
        /// Machine code.
        code: &'static str,
        /// Message.
        message: String,
        /// Field details.
        details: Vec<FieldError>,
    },
}

impl ApiError {
    /// An HTTP-layer error without field details.
    pub fn http(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Http {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::Core(e)
    }
}

/// Sets the IETF `RateLimit-*` headers of a decision.
pub fn rate_headers(headers: &mut HeaderMap, d: &RateDecision) {
    let secs = |d: Duration| HeaderValue::from(d.as_secs_f64().ceil() as u64);
    headers.insert("ratelimit-limit", HeaderValue::from(d.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(d.remaining));
    headers.insert("ratelimit-reset", secs(d.reset_after));
}

fn retry_after(headers: &mut HeaderMap, d: Duration) {
    headers.insert("retry-after", HeaderValue::from(d.as_secs_f64().ceil().max(1.0) as u64));
}

fn log_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut headers = HeaderMap::new();
        let (status, code, message, details) = match self {
            ApiError::Http {
                status,
                code,
                message,
                details,
            } => (status, code, message, details),
            ApiError::Core(e) => {
                let (status, code) = match &e {
                    CoreError::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
                    CoreError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
                    CoreError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
                    CoreError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
                    CoreError::IdempotencyMismatch => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
                    CoreError::IdempotencyInProgress => (StatusCode::CONFLICT, "idempotency_key_in_progress"),
                    CoreError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
                    CoreError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
                    CoreError::TenantSuspended => (StatusCode::FORBIDDEN, "tenant_suspended"),
                    CoreError::LoginLocked { retry_after: d } => {
                        retry_after(&mut headers, *d);
                        (StatusCode::TOO_MANY_REQUESTS, "login_locked")
                    }
                    CoreError::RateLimited(d) => {
                        rate_headers(&mut headers, d);
                        retry_after(&mut headers, d.retry_after);
                        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
                    }
                    CoreError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable"),
                    CoreError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
                };
                if status.is_server_error() {
                    tracing::error!(error = %log_chain(&e), request_id = %current_request_id(), "request failed");
                }
                let message = match &e {
                    CoreError::Internal(_) => "an internal error occurred; quote the request id to support".to_owned(),
                    CoreError::Unavailable(_) => "a backing service is unavailable; retry shortly".to_owned(),
                    other => other.to_string(),
                };
                let details = match e {
                    CoreError::Validation(v) => v,
                    _ => Vec::new(),
                };
                (status, code, message, details)
            }
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message,
                details,
                request_id: current_request_id(),
            },
        };
        (status, headers, Json(body)).into_response()
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

/// The answer to an unknown route.
pub async fn route_not_found() -> ApiError {
    ApiError::http(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "no such route; see /docs for the API",
    )
}

/// The answer to a known route called with the wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::http(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
