//! The SMS send task on the shared send loop ([`crate::dispatch`]): routes by number prefix, pacing per sender
//! and per provider account, reconciliation through the provider's status API, billing per segment, and the
//! receipts that raced ahead of the send's record.

use std::time::Duration;

use async_trait::async_trait;
use irisx_core::CoreError;
use irisx_core::id::TaskId;
use irisx_core::ports::cache::Rate;
use irisx_core::sms::model::{Event, Message, ProviderAccount, Route, SenderType};
use irisx_core::sms::provider::{Accepted, OutboundSms, ProviderError};
use irisx_core::sms::{DeliveryStatus, E164};
use irisx_core::task::SendSmsV1;
use irisx_core::usecase::Platform;
use irisx_core::usecase::accounts::adapter;
use irisx_core::usecase::receipts;
use irisx_core::usecase::sms::event_data;

use crate::Outcome;
use crate::dispatch::{Channel, deliver, queued_message};

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

/// One SMS on the send loop.
struct Sms {
    message: Message,
    sender: SenderType,
}

#[async_trait]
impl Channel for Sms {
    fn message(&self) -> &Message {
        &self.message
    }

    async fn routes(&self, p: &Platform) -> Result<Vec<(Route, ProviderAccount)>, CoreError> {
        Ok(p.messaging
            .routes_for(&self.message.tenant_id, &self.message.to)
            .await?)
    }

    async fn paced(&self, p: &Platform, account: &ProviderAccount) -> Result<Option<Duration>, CoreError> {
        paced(p, &self.message, self.sender, account).await
    }

    async fn send(
        &self,
        p: &Platform,
        account: &ProviderAccount,
    ) -> Result<Result<Accepted, ProviderError>, CoreError> {
        let provider = adapter(p, account)?;
        Ok(provider.send(&outbound(p, &self.message, account)?).await)
    }

    async fn reconcile(
        &self,
        p: &Platform,
        account: &ProviderAccount,
    ) -> Result<Result<Option<Accepted>, ProviderError>, CoreError> {
        let provider = adapter(p, account)?;
        let sms = outbound(p, &self.message, account)?;
        Ok(provider.fetch_status(&sms, None).await.map(|found| {
            found.map(|f| Accepted {
                provider_message_id: f.provider_message_id,
                status: f.status,
                segments: None,
                raw: f.raw,
            })
        }))
    }

    fn usage(&self, accepted: &Accepted) -> (i64, &'static str) {
        (
            i64::from(accepted.segments.unwrap_or(self.message.segments).max(1)),
            "segment",
        )
    }

    fn event(&self, m: &Message, status: DeliveryStatus) -> Event {
        let mut after = m.clone();
        after.status = status;
        Event::now(
            &m.tenant_id,
            &format!("message.{}", status.as_str()),
            m.id.as_str(),
            event_data(&after),
        )
        .with_callback(m.status_callback.clone())
    }

    async fn after_sent(&self, p: &Platform, account: &ProviderAccount, provider_message_id: &str) {
        // Receipts that raced ahead of this record waited for it. The send is recorded either way; a
        // receipt that cannot be applied now stays parked for the provider's next receipt to follow.
        match receipts::apply_parked(p, &account.id, provider_message_id).await {
            Ok(0) => {}
            Ok(applied) => tracing::debug!(applied, "parked receipts applied"),
            Err(e) => tracing::warn!(error = %e, "parked receipts could not be applied yet"),
        }
    }
}

/// Runs one send task.
#[tracing::instrument(skip_all, fields(message_id = %t.message_id, tenant_id = %t.tenant_id))]
pub async fn send(p: &Platform, task: &TaskId, t: &SendSmsV1) -> Result<Outcome, CoreError> {
    let message = match queued_message(p, task, &t.message_id).await? {
        Ok(m) => m,
        Err(done) => return Ok(done),
    };
    let sender = p
        .messaging
        .find_phone_number(&message.from)
        .await?
        .map_or(SenderType::LongCode, |n| n.sender_type);
    deliver(p, task, &Sms { message, sender }).await
}
