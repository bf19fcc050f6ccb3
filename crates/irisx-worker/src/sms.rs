//! The SMS send task: route to the cheapest healthy provider, retry a retryable failure with backoff (3 tries
//! a provider by default, honouring `Retry-After`), then fail over; fail at once on a permanent refusal; and
//! after an unknown outcome, reconcile with that same provider before anything is sent elsewhere.
//!
//! Every attempt is recorded. The schedule lives in the outbox (a retry reschedules the task), so it survives
//! restarts; the attempts recorded so far say where the message stands.

use std::time::Duration;

use irisx_core::CoreError;
use irisx_core::id::{AttemptId, TaskId, UsageId};
use irisx_core::ports::cache::Rate;
use irisx_core::ports::messaging::SentRecord;
use irisx_core::ports::store::StoreError;
use irisx_core::sms::model::{
    Attempt, AttemptOutcome, Channel, Event, Message, ProviderAccount, Route, SenderType, UsageRecord,
};
use irisx_core::sms::provider::{Accepted, OutboundSms, ProviderError};
use irisx_core::sms::{DeliveryStatus, E164};
use irisx_core::task::SendSmsV1;
use irisx_core::usecase::Platform;
use irisx_core::usecase::accounts::adapter;
use irisx_core::usecase::receipts;
use irisx_core::usecase::sms::event_data;
use rand::Rng;
use time::OffsetDateTime;

use crate::Outcome;

/// Tries of one provider before failing over.
pub const TRIES_PER_PROVIDER: usize = 3;
/// Retryable failures of one account within a minute that open its circuit.
const BREAKER_FAILURES: u64 = 5;
/// How long an open circuit keeps an account out.
const BREAKER_OPEN: Duration = Duration::from_secs(30);

fn pace(p: &Platform, sender: SenderType) -> u32 {
    let pace = p.policy.sms_pace;
    match sender {
        SenderType::LongCode => pace.long_code,
        SenderType::TollFree => pace.toll_free,
        SenderType::ShortCode | SenderType::Alphanumeric => pace.short_code,
    }
}

/// A wait for a pace slot shorter than this is slept inline; a longer one reschedules the task to its slot.
const INLINE_PACE_WAIT: Duration = Duration::from_millis(100);

/// Reserves the message's slot in its sender's pace and its provider account's pace, and returns the wait
/// until both have come when the task must be rescheduled for it. Each message reserves once: a message
/// woken at its slot carries a flag and goes straight out, so a burst from one sender is spread over exact
/// slots instead of asking again and again.
async fn paced(
    p: &Platform,
    m: &Message,
    sender: SenderType,
    account: &ProviderAccount,
) -> Result<Option<Duration>, CoreError> {
    let flag = format!("paced:{}", m.id);
    if p.cache.has_flag(&flag).await? {
        p.cache.delete(&flag).await?;
        return Ok(None);
    }
    let second = Duration::from_secs(1);
    let by_sender = Rate {
        limit: pace(p, sender),
        period: second,
    };
    let by_account = Rate {
        limit: p.policy.sms_pace.per_provider,
        period: second,
    };
    let wait = p
        .cache
        .reserve(&format!("pace:s:{}", m.from), by_sender)
        .await?
        .max(p.cache.reserve(&format!("pace:a:{}", account.id), by_account).await?);
    if wait <= INLINE_PACE_WAIT {
        tokio::time::sleep(wait).await;
        return Ok(None);
    }
    p.cache.set_flag(&flag, wait + Duration::from_secs(3600)).await?;
    Ok(Some(wait))
}

/// Exponential backoff with jitter: 1 s, 2 s, 4 s … (±25 %), at least the provider's `Retry-After`.
pub fn backoff(tries: usize, after: Option<Duration>) -> Duration {
    let base = Duration::from_secs(1 << tries.saturating_sub(1).min(10));
    let jitter = rand::rng().random_range(0.75..1.25);
    base.mul_f64(jitter).max(after.unwrap_or_default())
}

fn outbound(p: &Platform, m: &Message, account: &ProviderAccount) -> Result<OutboundSms, CoreError> {
    Ok(OutboundSms {
        message_id: m.id.to_string(),
        from: m.from.clone(),
        to: E164::parse("to", &m.to).map_err(|e| CoreError::internal(e.message))?,
        body: m.body.clone(),
        media_urls: m.media_urls.clone(),
        status_callback: Some(format!(
            "{}/v1/callbacks/sms/{}/status",
            p.public_url.trim_end_matches('/'),
            account.id
        )),
        validity_period: m.validity_period,
    })
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
    m: &Message,
    route: &Route,
    account: &ProviderAccount,
    ok: Accepted,
    att: Attempt,
) -> Result<Outcome, CoreError> {
    let segments = i64::from(ok.segments.unwrap_or(m.segments).max(1));
    let cost = route.cost_micros * segments;
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
            channel: Channel::Sms,
            resource_id: m.id.to_string(),
            quantity: segments,
            unit: "segment".into(),
            cost_micros: cost,
            price_micros: price,
            currency: route.currency.clone(),
            created_at: OffsetDateTime::now_utc(),
        },
        event: Event::now(
            &m.tenant_id,
            &format!("message.{}", after.status.as_str()),
            m.id.as_str(),
            event_data(&after),
        )
        .with_callback(m.status_callback.clone()),
    };
    if p.messaging.record_sent(&m.id, &sent, task).await? {
        // Receipts that raced ahead of this record waited for it. The send is recorded either way; a
        // receipt that cannot be applied now stays parked for the provider's next receipt to follow.
        match receipts::apply_parked(p, &account.id, &sent.provider_message_id).await {
            Ok(0) => {}
            Ok(applied) => tracing::debug!(applied, "parked receipts applied"),
            Err(e) => tracing::warn!(error = %e, "parked receipts could not be applied yet"),
        }
    }
    let _ = p.cache.delete(&format!("cb:fail:{}", account.id)).await;
    Ok(Outcome::Done)
}

async fn fail(
    p: &Platform,
    task: &TaskId,
    m: &Message,
    att: Option<&Attempt>,
    code: &str,
    error: &str,
) -> Result<Outcome, CoreError> {
    let mut after = m.clone();
    after.status = DeliveryStatus::Failed;
    after.error_code = Some(code.to_owned());
    let event = Event::now(&m.tenant_id, "message.failed", m.id.as_str(), event_data(&after))
        .with_callback(m.status_callback.clone());
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

/// Runs one send task.
#[tracing::instrument(skip_all, fields(message_id = %t.message_id, tenant_id = %t.tenant_id))]
pub async fn send(p: &Platform, task: &TaskId, t: &SendSmsV1) -> Result<Outcome, CoreError> {
    let m = match p.messaging.get_message_any(&t.message_id).await {
        Ok(m) => m,
        Err(StoreError::NotFound(_)) => return Ok(Outcome::Fail("the message no longer exists".into())),
        Err(e) => return Err(e.into()),
    };
    if m.status != DeliveryStatus::Queued {
        p.store.complete_task(task).await?;
        return Ok(Outcome::Done);
    }
    let routes = p.messaging.routes_for(&m.tenant_id, &m.to).await?;
    if routes.is_empty() {
        return fail(
            p,
            task,
            &m,
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
        return reconcile(p, task, &m, route, account).await;
    }
    let sender = p
        .messaging
        .find_phone_number(&m.from)
        .await?
        .map_or(SenderType::LongCode, |n| n.sender_type);
    let mut last_error = None;
    for (route, account) in &routes {
        let tries = attempts
            .iter()
            .filter(|a| a.account_id == account.id && a.outcome == AttemptOutcome::Retryable)
            .count();
        if tries >= TRIES_PER_PROVIDER || breaker_open(p, account).await {
            continue;
        }
        if let Some(wait) = paced(p, &m, sender, account).await? {
            let at = OffsetDateTime::now_utc() + wait;
            return Ok(Outcome::RetryAt(
                at,
                "paced: waiting for the slot reserved in the sender's and the provider's rate".into(),
            ));
        }
        let provider = adapter(p, account)?;
        let sms = outbound(p, &m, account)?;
        let started = OffsetDateTime::now_utc();
        match provider.send(&sms).await {
            Ok(ok) => {
                let att = attempt(&m, account, started, AttemptOutcome::Accepted, None);
                return record_sent(p, task, &m, route, account, ok, att).await;
            }
            Err(e @ ProviderError::Permanent { .. }) => {
                let att = attempt(&m, account, started, AttemptOutcome::Permanent, Some(&e));
                let ProviderError::Permanent { code, message } = &e else {
                    unreachable!()
                };
                return fail(p, task, &m, Some(&att), code, message).await;
            }
            Err(e @ ProviderError::Unknown { .. }) => {
                p.messaging
                    .record_attempt(&attempt(&m, account, started, AttemptOutcome::Unknown, Some(&e)))
                    .await?;
                let at = OffsetDateTime::now_utc() + Duration::from_secs(2);
                return Ok(Outcome::RetryAt(
                    at,
                    "outcome unknown: reconciling before any resend".into(),
                ));
            }
            Err(e @ ProviderError::Retryable { after, .. }) => {
                p.messaging
                    .record_attempt(&attempt(&m, account, started, AttemptOutcome::Retryable, Some(&e)))
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
        Some(e) => fail(p, task, &m, None, "all_providers_failed", &e.to_string()).await,
        None => {
            // Every candidate is out for now (tries spent earlier or circuits open): try again shortly.
            let at = OffsetDateTime::now_utc() + BREAKER_OPEN;
            if attempts.len() >= TRIES_PER_PROVIDER * routes.len() {
                return fail(p, task, &m, None, "all_providers_failed", "every provider route failed").await;
            }
            Ok(Outcome::RetryAt(at, "every provider is out for now".into()))
        }
    }
}

async fn reconcile(
    p: &Platform,
    task: &TaskId,
    m: &Message,
    route: &Route,
    account: &ProviderAccount,
) -> Result<Outcome, CoreError> {
    let provider = adapter(p, account)?;
    let sms = outbound(p, m, account)?;
    let started = OffsetDateTime::now_utc();
    match provider.fetch_status(&sms, None).await {
        Ok(Some(found)) => {
            let ok = Accepted {
                provider_message_id: found.provider_message_id,
                status: found.status,
                segments: None,
                raw: found.raw,
            };
            let att = attempt(m, account, started, AttemptOutcome::Reconciled, None);
            record_sent(p, task, m, route, account, ok, att).await
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
