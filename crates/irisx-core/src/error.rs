//! The core error: every failure a use case can report, classified once.
//!
//! Expected failures are variants with a message meant for the caller. Unexpected ones are
//! [`CoreError::Internal`] or [`CoreError::Unavailable`] and keep their source so the API layer can log the
//! whole chain once and answer with a generic 5xx. Only `irisx-api`'s error table turns these into HTTP.

use std::time::Duration;

use serde::Serialize;

use crate::ports::{cache::CacheError, queue::QueueError, store::StoreError};

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The JSON path of the field, e.g. `owner.email`.
    pub field: String,
    /// A stable machine code, e.g. `invalid_email`.
    pub code: String,
    /// A sentence for a person.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Every failure of a use case.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The request is malformed; every bad field is listed.
    #[error("the request is invalid")]
    Validation(Vec<FieldError>),
    /// The resource does not exist for this caller (or belongs to another tenant).
    #[error("{resource} not found")]
    NotFound {
        /// What was looked for, e.g. `user`.
        resource: &'static str,
    },
    /// The request conflicts with the current state, e.g. an email already taken.
    #[error("{0}")]
    Conflict(String),
    /// The request is well formed but cannot be processed, e.g. a business rule refuses it.
    #[error("{0}")]
    Unprocessable(String),
    /// The same `Idempotency-Key` was used with a different request.
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    /// A request with the same `Idempotency-Key` is still being processed.
    #[error("a request with this Idempotency-Key is still in progress; retry later")]
    IdempotencyInProgress,
    /// No valid credentials were presented.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed logins; try again after the given time.
    #[error("too many failed login attempts; try again later")]
    LoginLocked {
        /// How long until another attempt is accepted.
        retry_after: Duration,
    },
    /// The tenant is suspended or being deleted: its keys and tokens are refused.
    #[error("this account is suspended; contact support")]
    TenantSuspended,
    /// The caller went over a rate limit.
    #[error("rate limit exceeded; retry after the time in Retry-After")]
    RateLimited(crate::ports::cache::RateDecision),
    /// A dependency (database, queue, cache) is unreachable.
    #[error("a backing service is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug or an unexpected state.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl CoreError {
    /// A validation error of one field.
    pub fn field(field: impl Into<String>, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// An internal error from any message (for states that must not happen).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into().into())
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(resource) => CoreError::NotFound { resource },
            StoreError::Conflict(what) => CoreError::Conflict(what),
            e @ StoreError::Unavailable(_) => CoreError::Unavailable(Box::new(e)),
            e @ StoreError::Backend(_) => CoreError::Internal(Box::new(e)),
        }
    }
}

impl From<CacheError> for CoreError {
    fn from(e: CacheError) -> Self {
        CoreError::Unavailable(Box::new(e))
    }
}

impl From<QueueError> for CoreError {
    fn from(e: QueueError) -> Self {
        CoreError::Unavailable(Box::new(e))
    }
}
