//! The send loop every channel shares: take the message's routes cheapest first, retry a retryable failure
//! on the same provider with backoff (3 tries a provider, honouring `Retry-After`), then fail over; fail at once
//! on a permanent refusal; after an unknown outcome, reconcile with that same provider before anything is sent
//! elsewhere; keep a failing provider out for a while (the circuit breaker). A channel supplies what differs
//! ([`Channel`]): its routes, its adapter call, its pacing, its reconciliation, its unit and its events.
//!
//! Every attempt is recorded. The schedule lives in the outbox (a retry reschedules the task), so it survives
//! restarts; the attempts recorded so far say where the message stands.

use std::time::Duration;

use async_trait::async_trait;
use irisx_core::CoreError;
use irisx_core::id::{AttemptId, TaskId, UsageId};
use irisx_core::ports::messaging::SentRecord;
use irisx_core::ports::store::StoreError;
use irisx_core::sms::DeliveryStatus;
use irisx_core::sms::model::{Attempt, AttemptOutcome, Event, Message, ProviderAccount, Route, UsageRecord};
use irisx_core::sms::provider::{Accepted, ProviderError};
use irisx_core::usecase::Platform;
use rand::Rng;
use time::OffsetDateTime;

use crate::Outcome;

/// Tries of one provider before failing over.
pub const TRIES_PER_PROVIDER: usize = 3;
/// Retryable failures of one account within a minute that open its circuit.
const BREAKER_FAILURES: u64 = 5;
/// How long an open circuit keeps an account out.
const BREAKER_OPEN: Duration = Duration::from_secs(30);

/// What a channel supplies to the shared send loop, for one message.
#[async_trait]
pub(crate) trait Channel: Send + Sync {
    /// The message.
    fn message(&self) -> &Message;
    /// Its usable routes, cheapest first.
    async fn routes(&self, p: &Platform) -> Result<Vec<(Route, ProviderAccount)>, CoreError>;
    /// The wait until the message's pace slot, when the task must be rescheduled for it.
    async fn paced(&self, p: &Platform, account: &ProviderAccount) -> Result<Option<Duration>, CoreError>;
    /// Hands the message to one account's adapter.
    async fn send(&self, p: &Platform, account: &ProviderAccount)
    -> Result<Result<Accepted, ProviderError>, CoreError>;
    /// After an unknown outcome: what the provider says it did (`Ok(None)`: it never processed the message).
    async fn reconcile(
        &self,
        p: &Platform,
        account: &ProviderAccount,
    ) -> Result<Result<Option<Accepted>, ProviderError>, CoreError>;
    /// The billable quantity of an accepted send and its unit (`segment`, `email`).
    fn usage(&self, accepted: &Accepted) -> (i64, &'static str);
    /// The event of the message reaching `status`.
    fn event(&self, m: &Message, status: DeliveryStatus) -> Event;
    /// After a send is recorded (e.g. applying receipts that raced ahead of it).
    async fn after_sent(&self, p: &Platform, account: &ProviderAccount, provider_message_id: &str);
}

/// Exponential backoff with jitter: 1 s, 2 s, 4 s … (±25 %), at least the provider's `Retry-After`.
pub fn backoff(tries: usize, after: Option<Duration>) -> Duration {
    let base = Duration::from_secs(1 << tries.saturating_sub(1).min(10));
    let jitter = rand::rng().random_range(0.75..1.25);
    base.mul_f64(jitter).max(after.unwrap_or_default())
}

fn attempt(
    m: &Message,
    account: &ProviderAccount,
    started: OffsetDateTime,
    outcome: AttemptOutcome,
    err: Option<&ProviderError>,
) -> Attempt {
    let (code, detail) = match err {
        Some(ProviderError::Retryable { code, message, .. } | ProviderError::Permanent { code, message }) => {
            (Some(code.clone()), Some(message.clone()))
        }
        Some(ProviderError::Unknown { message }) => (None, Some(message.clone())),
        None => (None, None),
    };
    Attempt {
        id: AttemptId::new(),
        message_id: m.id.clone(),
        tenant_id: m.tenant_id.clone(),
        account_id: account.id.clone(),
        provider: account.kind,
        started_at: started,
        latency_ms: (OffsetDateTime::now_utc() - started).whole_milliseconds() as i64,
        outcome,
        code,
        detail,
    }
}

async fn record_sent(
    p: &Platform,
    task: &TaskId,
    ch: &dyn Channel,
    (route, account): (&Route, &ProviderAccount),
    ok: Accepted,
    att: Attempt,
) -> Result<Outcome, CoreError> {
    let m = ch.message();
    let (quantity, unit) = ch.usage(&ok);
    let cost = route.cost_micros * quantity;
    let plan = p.store.get_tenant(&m.tenant_id).await?.plan;
    let price = p.policy.markup.price(plan, cost);
    let mut after = m.clone();
    after.status = if ok.status.is_final() || ok.status == DeliveryStatus::Sent {
        ok.status
    } else {
        DeliveryStatus::Sent
    };
    after.account_id = Some(account.id.clone());
    let sent = SentRecord {
        attempt: att,
        provider_message_id: ok.provider_message_id.clone(),
        status: after.status,
        price_micros: price,
        currency: route.currency.clone(),
        usage: UsageRecord {
            id: UsageId::new(),
            tenant_id: m.tenant_id.clone(),
            channel: m.channel,
            resource_id: m.id.to_string(),
            quantity,
            unit: unit.into(),
            cost_micros: cost,
            price_micros: price,
            currency: route.currency.clone(),
            created_at: OffsetDateTime::now_utc(),
        },
        event: ch.event(&after, after.status),
    };
    if p.messaging.record_sent(&m.id, &sent, task).await? {
        ch.after_sent(p, account, &sent.provider_message_id).await;
    }
    let _ = p.cache.delete(&format!("cb:fail:{}", account.id)).await;
    Ok(Outcome::Done)
}

async fn fail(
    p: &Platform,
    task: &TaskId,
    ch: &dyn Channel,
    att: Option<&Attempt>,
    code: &str,
    error: &str,
) -> Result<Outcome, CoreError> {
    let m = ch.message();
    let mut after = m.clone();
    after.error_code = Some(code.to_owned());
    let event = ch.event(&after, DeliveryStatus::Failed);
    p.messaging.record_failed(&m.id, att, code, error, &event, task).await?;
    Ok(Outcome::Done)
}

async fn breaker_open(p: &Platform, account: &ProviderAccount) -> bool {
    p.cache
        .has_flag(&format!("cb:open:{}", account.id))
        .await
        .unwrap_or(false)
}

async fn breaker_failure(p: &Platform, account: &ProviderAccount) {
    if let Ok(n) = p
        .cache
        .incr(&format!("cb:fail:{}", account.id), Duration::from_secs(60))
        .await
        && n >= BREAKER_FAILURES
    {
        tracing::warn!(account = %account.id, "provider circuit opened after repeated failures");
        let _ = p.cache.set_flag(&format!("cb:open:{}", account.id), BREAKER_OPEN).await;
    }
}

/// Loads a queued message for a send task: `Err(outcome)` when there is nothing (more) to send.
pub(crate) async fn queued_message(
    p: &Platform,
    task: &TaskId,
    id: &irisx_core::id::MessageId,
) -> Result<Result<Message, Outcome>, CoreError> {
    let m = match p.messaging.get_message_any(id).await {
        Ok(m) => m,
        Err(StoreError::NotFound(_)) => return Ok(Err(Outcome::Fail("the message no longer exists".into()))),
        Err(e) => return Err(e.into()),
    };
    if m.status != DeliveryStatus::Queued {
        p.store.complete_task(task).await?;
        return Ok(Err(Outcome::Done));
    }
    Ok(Ok(m))
}

/// Runs one send task of a queued message through the channel's routes.
pub(crate) async fn deliver(p: &Platform, task: &TaskId, ch: &dyn Channel) -> Result<Outcome, CoreError> {
    let m = ch.message();
    let routes = ch.routes(p).await?;
    if routes.is_empty() {
        return fail(
            p,
            task,
            ch,
            None,
            "no_route",
            "no provider route serves this destination",
        )
        .await;
    }
    let attempts = p.messaging.list_attempts(&m.id).await?;
    if let Some(last) = attempts.last().filter(|a| a.outcome == AttemptOutcome::Unknown)
        && let Some((route, account)) = routes.iter().find(|(_, a)| a.id == last.account_id)
    {
        return reconcile(p, task, ch, route, account).await;
    }
    let mut last_error = None;
    for (route, account) in &routes {
        let tries = attempts
            .iter()
            .filter(|a| a.account_id == account.id && a.outcome == AttemptOutcome::Retryable)
            .count();
        if tries >= TRIES_PER_PROVIDER || breaker_open(p, account).await {
            continue;
        }
        if let Some(wait) = ch.paced(p, account).await? {
            let at = OffsetDateTime::now_utc() + wait;
            return Ok(Outcome::RetryAt(
                at,
                "paced: waiting for the slot reserved in the sender's and the provider's rate".into(),
            ));
        }
        let started = OffsetDateTime::now_utc();
        match ch.send(p, account).await? {
            Ok(ok) => {
                let att = attempt(m, account, started, AttemptOutcome::Accepted, None);
                return record_sent(p, task, ch, (route, account), ok, att).await;
            }
            Err(e @ ProviderError::Permanent { .. }) => {
                let att = attempt(m, account, started, AttemptOutcome::Permanent, Some(&e));
                let ProviderError::Permanent { code, message } = &e else {
                    unreachable!()
                };
                return fail(p, task, ch, Some(&att), code, message).await;
            }
            Err(e @ ProviderError::Unknown { .. }) => {
                p.messaging
                    .record_attempt(&attempt(m, account, started, AttemptOutcome::Unknown, Some(&e)))
                    .await?;
                let at = OffsetDateTime::now_utc() + Duration::from_secs(2);
                return Ok(Outcome::RetryAt(
                    at,
                    "outcome unknown: reconciling before any resend".into(),
                ));
            }
            Err(e @ ProviderError::Retryable { after, .. }) => {
                p.messaging
                    .record_attempt(&attempt(m, account, started, AttemptOutcome::Retryable, Some(&e)))
                    .await?;
                breaker_failure(p, account).await;
                if tries + 1 < TRIES_PER_PROVIDER {
                    let at = OffsetDateTime::now_utc() + backoff(tries + 1, after);
                    return Ok(Outcome::RetryAt(at, e.to_string()));
                }
                last_error = Some(e);
            }
        }
    }
    match last_error {
        Some(e) => fail(p, task, ch, None, "all_providers_failed", &e.to_string()).await,
        None => {
            // Every candidate is out for now (tries spent earlier or circuits open): try again shortly.
            let at = OffsetDateTime::now_utc() + BREAKER_OPEN;
            if attempts.len() >= TRIES_PER_PROVIDER * routes.len() {
                return fail(p, task, ch, None, "all_providers_failed", "every provider route failed").await;
            }
            Ok(Outcome::RetryAt(at, "every provider is out for now".into()))
        }
    }
}

async fn reconcile(
    p: &Platform,
    task: &TaskId,
    ch: &dyn Channel,
    route: &Route,
    account: &ProviderAccount,
) -> Result<Outcome, CoreError> {
    let m = ch.message();
    let started = OffsetDateTime::now_utc();
    match ch.reconcile(p, account).await? {
        Ok(Some(ok)) => {
            let att = attempt(m, account, started, AttemptOutcome::Reconciled, None);
            record_sent(p, task, ch, (route, account), ok, att).await
        }
        Ok(None) => {
            // The provider never processed it: record that, and let the next run send it.
            let mut att = attempt(m, account, started, AttemptOutcome::Reconciled, None);
            att.detail = Some("the provider has no such message; it was never processed".into());
            p.messaging.record_attempt(&att).await?;
            Ok(Outcome::RetryAt(
                OffsetDateTime::now_utc(),
                "reconciled: not processed".into(),
            ))
        }
        Err(e) => Ok(Outcome::RetryAt(
            OffsetDateTime::now_utc() + backoff(2, None),
            format!("reconciliation failed: {e}"),
        )),
    }
}
