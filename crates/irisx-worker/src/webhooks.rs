//! The webhook delivery task: one attempt of one event to one endpoint (or status callback URL), signed with
//! the endpoint's secrets, under a per-endpoint bound on attempts in flight and its rate limit; then the
//! attempt, the delivery's state and the endpoint's health are recorded together. A failure is tried again
//! on the configured schedule (not before the receiver's `Retry-After`); a 410, or failing longer than the
//! configured time, disables the endpoint with a `webhook.endpoint.disabled` event.
//!
//! At least once: a crash after the POST and before the record leaves the task pending, so the attempt is
//! made again, with the same `webhook-id` (the event id), which receivers use to drop the repeat.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use irisx_core::CoreError;
use irisx_core::id::{TaskId, WebhookAttemptId};
use irisx_core::ports::cache::Rate;
use irisx_core::ports::store::StoreError;
use irisx_core::ports::webhooks::{AttemptRecord, EndpointHealth, WebhookAttempt, WebhookOutcome, WebhookRequest};
use irisx_core::sms::model::Event;
use irisx_core::task::DeliverWebhookV1;
use irisx_core::usecase::Platform;
use irisx_core::usecase::webhooks::{callback_secret, open_headers};
use irisx_core::webhook::model::{AttemptResult, DeliveryState, WebhookAttemptLog, WebhookDelivery, WebhookEndpoint};
use irisx_core::webhook::{WebhookSecret, WebhookUrl};
use rand::Rng;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::Outcome;

/// The longest `Retry-After` honoured; a receiver asking for more waits this long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// How long a delivery waits for a free slot of its endpoint in this process before it is put back in the
/// queue. The deliveries of one fetched batch to one endpoint queue here and take turns instead of each
/// making a round trip through the outbox while the endpoint is busy.
const LOCAL_SLOT_WAIT: Duration = Duration::from_secs(1);

/// This process's share of each endpoint's slots for attempts in flight: one semaphore per lane (endpoint,
/// or a tenant's status callbacks), with as many permits as the endpoint may have attempts in flight. The
/// cache's slot locks still bound the attempts across processes; this only orders the waiters of one process.
#[derive(Debug, Default)]
pub(crate) struct Lanes {
    lanes: std::sync::Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Lanes kept at most before idle ones are dropped.
const MAX_IDLE_LANES: usize = 1024;

impl Lanes {
    /// A permit of `lane` (of `permits` in all), waiting at most `wait`; `None` when none came free in time.
    async fn acquire(&self, lane: &str, permits: usize, wait: Duration) -> Option<OwnedSemaphorePermit> {
        let semaphore = {
            let mut lanes = self.lanes.lock().unwrap_or_else(|e| e.into_inner());
            if lanes.len() >= MAX_IDLE_LANES && !lanes.contains_key(lane) {
                // A lane nobody holds or waits for has every permit back and no other reference.
                lanes.retain(|_, s| Arc::strong_count(s) > 1);
            }
            lanes
                .entry(lane.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(permits)))
                .clone()
        };
        tokio::time::timeout(wait, semaphore.acquire_owned()).await.ok()?.ok()
    }
}

/// Makes the next attempt of a delivery.
#[tracing::instrument(skip_all, fields(delivery_id = %t.delivery_id))]
pub(crate) async fn deliver(
    p: &Platform,
    lanes: &Lanes,
    task: &TaskId,
    t: &DeliverWebhookV1,
) -> Result<Outcome, CoreError> {
    let (delivery, event, endpoint) = match p.messaging.webhook_delivery(&t.delivery_id).await {
        Ok(found) => found,
        Err(StoreError::NotFound(_)) => return Ok(Outcome::Fail("the delivery was deleted with its endpoint".into())),
        Err(e) => return Err(e.into()),
    };
    if delivery.state != DeliveryState::Pending {
        p.store.complete_task(task).await?;
        return Ok(Outcome::Done);
    }
    if let Some(w) = endpoint.as_ref().filter(|w| !w.enabled) {
        let log = not_sent(&delivery, w, "not sent: the endpoint is disabled");
        let record = AttemptRecord {
            log,
            state: DeliveryState::Failed,
            health: EndpointHealth::Unchanged,
            event: None,
        };
        p.messaging.record_webhook_attempt(&record, task).await?;
        return Ok(Outcome::Done);
    }
    if let Some(wait) = rate_limited(p, endpoint.as_ref()).await? {
        return Ok(Outcome::RetryAt(
            OffsetDateTime::now_utc() + wait,
            "the endpoint's rate limit is spent".into(),
        ));
    }
    let lane = endpoint
        .as_ref()
        .map_or_else(|| format!("cb:{}", delivery.tenant_id), |w| w.id.to_string());
    let concurrency = p.policy.webhooks.per_endpoint_concurrency.max(1);
    let local = lanes.acquire(&lane, concurrency as usize, LOCAL_SLOT_WAIT).await;
    let slot = match &local {
        Some(_) => take_slot(p, &lane, &delivery, concurrency).await?,
        None => None,
    };
    let Some(slot) = slot else {
        let wait = Duration::from_millis(rand::rng().random_range(500..1500));
        return Ok(Outcome::RetryAt(
            OffsetDateTime::now_utc() + wait,
            "the endpoint has attempts in flight".into(),
        ));
    };
    let request = request(p, &delivery, &event, endpoint.as_ref()).await;
    let started = OffsetDateTime::now_utc();
    let attempt = match &request {
        Ok(req) => p.webhook_sender.send(req).await,
        Err(e) => refused_attempt(e.to_string()),
    };
    let _ = p.cache.unlock(&slot, delivery.id.as_str()).await;
    drop(local);
    let url = request.as_ref().map_or_else(|_| String::new(), |r| r.url.to_string());
    settle(p, task, &delivery, endpoint.as_ref(), &url, started, attempt).await
}

/// The wait the endpoint's own rate limit asks for, if any.
async fn rate_limited(p: &Platform, endpoint: Option<&WebhookEndpoint>) -> Result<Option<Duration>, CoreError> {
    let Some((w, limit)) = endpoint.and_then(|w| w.rate_limit_per_second.map(|l| (w, l))) else {
        return Ok(None);
    };
    let rate = Rate {
        limit,
        period: Duration::from_secs(1),
    };
    let decision = p.cache.rate_limit(&format!("whr:{}", w.id), rate).await?;
    Ok((!decision.allowed).then_some(decision.retry_after))
}

/// Takes one of the endpoint's `slots` for attempts in flight; `None` when all are taken.
async fn take_slot(
    p: &Platform,
    lane: &str,
    delivery: &WebhookDelivery,
    slots: u32,
) -> Result<Option<String>, CoreError> {
    let ttl = p.policy.webhooks.timeout + Duration::from_secs(30);
    for i in 0..slots {
        let key = format!("whc:{lane}:{i}");
        if p.cache.try_lock(&key, delivery.id.as_str(), ttl).await? {
            return Ok(Some(key));
        }
    }
    Ok(None)
}

/// The signed request of this attempt.
async fn request(
    p: &Platform,
    delivery: &WebhookDelivery,
    event: &Event,
    endpoint: Option<&WebhookEndpoint>,
) -> Result<WebhookRequest, CoreError> {
    let now = OffsetDateTime::now_utc();
    let (url, secrets, headers) = match endpoint {
        Some(w) => {
            let mut secrets = vec![open_secret(p, w, &w.sealed_secret)?];
            if let Some((sealed, _)) = w.previous_secret.as_ref().filter(|(_, until)| *until > now) {
                secrets.push(open_secret(p, w, sealed)?);
            }
            (w.url.clone(), secrets, open_headers(p, w)?)
        }
        None => {
            let url = WebhookUrl::parse(delivery.url.as_deref().unwrap_or_default()).map_err(CoreError::internal)?;
            (url, vec![callback_secret(p, &delivery.tenant_id).await?], Vec::new())
        }
    };
    Ok(WebhookRequest {
        url,
        webhook_id: event.id.to_string(),
        timestamp: now.unix_timestamp(),
        body: Bytes::from(event.webhook_body().to_string()),
        secrets,
        headers,
        timeout: p.policy.webhooks.timeout,
    })
}

fn open_secret(p: &Platform, w: &WebhookEndpoint, sealed: &str) -> Result<WebhookSecret, CoreError> {
    let text = p
        .secrets
        .open(sealed, w.tenant_id.as_str())
        .map_err(|e| CoreError::internal(format!("the endpoint secret does not open: {e}")))?;
    WebhookSecret::parse(&String::from_utf8_lossy(&text)).map_err(CoreError::internal)
}

fn refused_attempt(error: String) -> WebhookAttempt {
    WebhookAttempt {
        outcome: WebhookOutcome::Failed { retry_after: None },
        status: None,
        latency: Duration::ZERO,
        request_headers: Vec::new(),
        response_body: None,
        error: Some(error),
    }
}

fn not_sent(delivery: &WebhookDelivery, w: &WebhookEndpoint, why: &str) -> WebhookAttemptLog {
    let a = refused_attempt(why.to_owned());
    log(
        delivery,
        w.url.as_str(),
        OffsetDateTime::now_utc(),
        &a,
        AttemptResult::Failed,
    )
}

fn log(
    delivery: &WebhookDelivery,
    url: &str,
    started: OffsetDateTime,
    a: &WebhookAttempt,
    result: AttemptResult,
) -> WebhookAttemptLog {
    let headers: serde_json::Map<String, Value> = a
        .request_headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    WebhookAttemptLog {
        id: WebhookAttemptId::new(),
        tenant_id: delivery.tenant_id.clone(),
        delivery_id: delivery.id.clone(),
        endpoint_id: delivery.endpoint_id.clone(),
        event_id: delivery.event_id.clone(),
        attempt: delivery.attempts + 1,
        url: url.to_owned(),
        started_at: started,
        status_code: a.status,
        latency_ms: a.latency.as_millis() as i64,
        result,
        request_headers: Value::Object(headers),
        response_body: a.response_body.clone(),
        error: a.error.clone(),
    }
}

fn disabled_event(w: &WebhookEndpoint, reason: &str) -> Event {
    Event::now(
        &w.tenant_id,
        "webhook.endpoint.disabled",
        w.id.as_str(),
        json!({"endpoint_id": w.id, "url": w.url, "reason": reason}),
    )
}

/// Records the attempt and decides what comes next.
async fn settle(
    p: &Platform,
    task: &TaskId,
    delivery: &WebhookDelivery,
    endpoint: Option<&WebhookEndpoint>,
    url: &str,
    started: OffsetDateTime,
    attempt: WebhookAttempt,
) -> Result<Outcome, CoreError> {
    let now = OffsetDateTime::now_utc();
    let policy = &p.policy.webhooks;
    let disable = |why: String| {
        let event = endpoint.map(|w| disabled_event(w, &why));
        (DeliveryState::Failed, EndpointHealth::Disabled(why), event)
    };
    let mut retry_at = None;
    let (result, (state, health, event)) = match &attempt.outcome {
        WebhookOutcome::Delivered => (
            AttemptResult::Delivered,
            (DeliveryState::Delivered, EndpointHealth::Healthy, None),
        ),
        WebhookOutcome::Gone => (AttemptResult::Gone, disable("the endpoint answered 410 Gone".into())),
        WebhookOutcome::Failed { retry_after } => {
            let since = endpoint.and_then(|w| w.failing_since).unwrap_or(now);
            let next = policy
                .schedule
                .next_delay(delivery.attempts + 1, retry_after.map(|d| d.min(MAX_RETRY_AFTER)));
            let outcome = if endpoint.is_some() && (now - since).unsigned_abs() >= policy.disable_after {
                disable(format!("every attempt has failed since {since}"))
            } else if let Some(wait) = next {
                retry_at = Some(now + wait);
                (DeliveryState::Pending, EndpointHealth::Failing, None)
            } else {
                (DeliveryState::Failed, EndpointHealth::Failing, None)
            };
            (AttemptResult::Failed, outcome)
        }
    };
    // A success clears the endpoint's failing mark; an endpoint read without one has nothing to clear.
    let health = match (endpoint, health) {
        (Some(w), EndpointHealth::Healthy) if w.failing_since.is_none() => EndpointHealth::Unchanged,
        (Some(_), health) => health,
        (None, _) => EndpointHealth::Unchanged,
    };
    let record = AttemptRecord {
        log: log(delivery, url, started, &attempt, result),
        state,
        health,
        event,
    };
    p.messaging.record_webhook_attempt(&record, task).await?;
    metrics::counter!("irisx_webhook_attempts_total", "result" => result.as_str()).increment(1);
    Ok(match retry_at {
        Some(at) => Outcome::RetryAt(
            at,
            attempt.error.unwrap_or_else(|| format!("HTTP {:?}", attempt.status)),
        ),
        None => Outcome::Done,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lane_lends_its_permits_in_turn_and_a_waiter_gives_up_after_its_wait() {
        let lanes = Lanes::default();
        let first = lanes.acquire("ep_1", 2, Duration::ZERO).await.expect("a free permit");
        let second = lanes
            .acquire("ep_1", 2, Duration::ZERO)
            .await
            .expect("the second permit");
        assert!(
            lanes.acquire("ep_1", 2, Duration::from_millis(20)).await.is_none(),
            "only two at once"
        );
        assert!(
            lanes.acquire("ep_2", 2, Duration::ZERO).await.is_some(),
            "another lane is apart"
        );

        let waiter = tokio::spawn({
            let lanes = Arc::new(lanes);
            async move { lanes.acquire("ep_1", 2, Duration::from_secs(5)).await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        assert!(waiter.await.unwrap(), "a released permit goes to the waiter");
        drop(second);
    }

    #[tokio::test]
    async fn idle_lanes_are_dropped_once_there_are_many_and_held_ones_are_kept() {
        let lanes = Lanes::default();
        let held = lanes.acquire("held", 1, Duration::ZERO).await.unwrap();
        for i in 0..MAX_IDLE_LANES {
            drop(lanes.acquire(&format!("ep_{i}"), 1, Duration::ZERO).await.unwrap());
        }
        let count = lanes.lanes.lock().unwrap().len();
        assert!(count <= MAX_IDLE_LANES, "{count} lanes kept");
        assert!(lanes.lanes.lock().unwrap().contains_key("held"));
        assert!(
            lanes.acquire("held", 1, Duration::from_millis(20)).await.is_none(),
            "the held lane kept its taken permit"
        );
        drop(held);
    }
}
