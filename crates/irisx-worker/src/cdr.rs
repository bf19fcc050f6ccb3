//! The CDR worker (`cdr.create`): rates an ended call, writes its usage record and, for a completed call,
//! `call.completed`, completing the task in the same transaction.
//!
//! Duration runs from the answer to the end, in whole seconds rounded up; billable seconds round that up to
//! the plan's increment; the cost is the answering trunk's per-minute rate for the destination; the price adds
//! the plan's markup. A call never answered costs nothing and records no usage.

use irisx_core::CoreError;
use irisx_core::calls::CallStatus;
use irisx_core::calls::rating::{billable_seconds, cost_micros};
use irisx_core::id::{TaskId, UsageId};
use irisx_core::sms::model::{Channel, UsageRecord};
use irisx_core::task::CreateCdrV1;
use irisx_core::usecase::Platform;
use time::OffsetDateTime;

use crate::Outcome;

/// Rates one call.
#[tracing::instrument(skip_all, fields(tenant_id = %t.tenant_id, call_id = %t.call_id))]
pub(crate) async fn rate(p: &Platform, id: &TaskId, t: &CreateCdrV1) -> Result<Outcome, CoreError> {
    let mut call = p.calls.get_call(&t.tenant_id, &t.call_id).await?;
    let tenant = p.store.get_tenant(&t.tenant_id).await?;
    let duration = match (call.answered_at, call.ended_at) {
        (Some(a), Some(e)) if e > a => {
            let d = e - a;
            d.whole_seconds() + i64::from(d.subsec_nanoseconds() > 0)
        }
        _ => 0,
    };
    let billable = billable_seconds(duration, p.policy.voice.increments.of(tenant.plan));
    let cost = cost_micros(call.rate_micros_per_minute.unwrap_or(0), billable);
    let price = p.policy.markup.price(tenant.plan, cost);
    let currency = call.currency.clone().unwrap_or_else(|| "USD".into());
    call.duration_secs = Some(duration);
    call.billable_secs = Some(billable);
    call.cost_micros = Some(cost);
    call.price_micros = Some(price);
    call.currency = Some(currency.clone());
    call.updated_at = OffsetDateTime::now_utc();
    let usage = (billable > 0).then(|| UsageRecord {
        id: UsageId::new(),
        tenant_id: call.tenant_id.clone(),
        channel: Channel::Voice,
        resource_id: call.id.to_string(),
        quantity: billable,
        unit: "second".into(),
        cost_micros: cost,
        price_micros: price,
        currency,
        created_at: call.updated_at,
    });
    let event = (call.status == CallStatus::Completed).then(|| call.event("completed"));
    p.calls.record_cdr(&call, usage.as_ref(), event.as_ref(), id).await?;
    Ok(Outcome::Done)
}
