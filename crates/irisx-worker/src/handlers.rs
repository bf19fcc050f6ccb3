//! One handler per task variant.

use std::sync::Arc;

use irisx_core::CoreError;
use irisx_core::id::TaskId;
use irisx_core::task::Task;
use irisx_core::usecase::{Platform, tenants};

use crate::{Outcome, VoiceRuntime};

/// Runs a task. A handler whose effect is in the database completes the task in that transaction.
pub(crate) async fn run(
    platform: &Arc<Platform>,
    voice: Option<&Arc<VoiceRuntime>>,
    lanes: &crate::webhooks::Lanes,
    id: &TaskId,
    task: Task,
) -> Result<Outcome, CoreError> {
    match task {
        Task::TenantPurgeV1(t) => {
            let purged = tenants::purge(platform, id, &t.tenant_id).await?;
            tracing::info!(tenant_id = %t.tenant_id, purged, "tenant purge ran");
            Ok(Outcome::Done)
        }
        Task::SendSmsV1(t) => crate::sms::send(platform, id, &t).await,
        Task::DeliverWebhookV1(t) => crate::webhooks::deliver(platform, lanes, id, &t).await,
        Task::SendEmailV1(t) => crate::email::send(platform, id, &t).await,
        Task::CreateCallV1(t) => match voice {
            Some(rt) => crate::calls::create(platform, rt, id, &t).await,
            None => Ok(Outcome::Fail("this worker has no voice engine".into())),
        },
        Task::CreateCdrV1(t) => crate::cdr::rate(platform, id, &t).await,
    }
}
