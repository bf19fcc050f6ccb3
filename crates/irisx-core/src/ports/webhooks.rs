//! The webhook sender port: calls a tenant's URL with a signed event, under the SSRF rules, and says how it
//! went. The adapter (`irisx-webhooks`) resolves each host itself and connects only to addresses the rules
//! allow, so a name that changes its answer between the check and the call (DNS rebinding) gains nothing;
//! redirects are never followed.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::webhook::{WebhookSecret, WebhookUrl};

/// One delivery attempt to make.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// Where to post.
    pub url: WebhookUrl,
    /// `webhook-id`: the same on every attempt of one event to one endpoint.
    pub webhook_id: String,
    /// `webhook-timestamp`, Unix seconds of this attempt.
    pub timestamp: i64,
    /// The JSON body, byte for byte what is signed.
    pub body: Bytes,
    /// The secrets that sign it (the current one, and the previous one during a rotation).
    pub secrets: Vec<WebhookSecret>,
    /// The endpoint's custom headers.
    pub headers: Vec<(String, String)>,
    /// How long to wait for the answer.
    pub timeout: Duration,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// A 2xx answer.
    Delivered,
    /// 410 Gone: the receiver asks never to be called again; the endpoint is disabled.
    Gone,
    /// Anything else (3xx, 4xx, 5xx, timeout, connection error, an address the rules refuse); tried again
    /// on the schedule, not before `retry_after` when the receiver gave one (429 and 5xx).
    Failed {
        /// The receiver's `Retry-After`.
        retry_after: Option<Duration>,
    },
}

/// What an attempt did, for the attempt log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAttempt {
    /// How it ended.
    pub outcome: WebhookOutcome,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
    /// From the request leaving to the answer (or the failure).
    pub latency: Duration,
    /// The request headers as sent, with signatures and custom header values masked.
    pub request_headers: Vec<(String, String)>,
    /// The start of the answer's body (at most a few KiB, lossy UTF-8).
    pub response_body: Option<String>,
    /// What went wrong when no answer came, or why the address was refused.
    pub error: Option<String>,
}

/// Why a URL may not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlRefused(pub String);

/// Sends webhooks.
#[async_trait]
pub trait WebhookSender: Send + Sync + 'static {
    /// Checks, now, that the URL's host resolves only to addresses the SSRF rules allow (registration).
    async fn check_url(&self, url: &WebhookUrl) -> Result<(), UrlRefused>;
    /// Makes one attempt. Never panics and never returns early without an attempt record.
    async fn send(&self, request: &WebhookRequest) -> WebhookAttempt;
}

/// What an endpoint's health becomes after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointHealth {
    /// Not an endpoint delivery (a status callback), or nothing to change.
    Unchanged,
    /// It answered 2xx: no longer failing.
    Healthy,
    /// It failed: failing since now, unless it already was.
    Failing,
    /// Disabled by IRISX, with the reason (410, or failing for too long).
    Disabled(String),
}

/// What one attempt writes, in one transaction: the attempt log, the delivery's new state and attempt count,
/// the endpoint's health, an event (`webhook.endpoint.disabled`), and — when the delivery is settled — the
/// task's completion.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// The attempt log entry (its `attempt` is the delivery's new attempt count).
    pub log: crate::webhook::model::WebhookAttemptLog,
    /// The delivery's state after it.
    pub state: crate::webhook::model::DeliveryState,
    /// The endpoint's health after it.
    pub health: EndpointHealth,
    /// An event to write (and fan out) with it.
    pub event: Option<crate::sms::model::Event>,
}
