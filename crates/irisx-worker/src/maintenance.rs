//! Periodic housekeeping: forget expired idempotency records, old finished outbox rows, events past their
//! retention (with their webhook deliveries), and receipts parked for a send that never came.

use std::sync::Arc;
use std::time::Duration;

use irisx_core::usecase::Platform;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

/// How long a receipt waits for the send it answers.
const PARKED_RECEIPT_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Housekeeping settings and loop.
pub struct Maintenance {
    platform: Arc<Platform>,
    /// How often to run.
    pub interval: Duration,
    /// How long finished outbox rows are kept (they answer "was this task done?" for late redeliveries).
    pub keep_finished_tasks: Duration,
}

impl Maintenance {
    /// Housekeeping every 10 minutes, keeping finished tasks 7 days.
    pub fn new(platform: Arc<Platform>) -> Self {
        Self {
            platform,
            interval: Duration::from_secs(600),
            keep_finished_tasks: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// Runs once now, then every `interval`, until `cancel`.
    pub async fn run(self, cancel: CancellationToken) {
        loop {
            self.run_once().await;
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }

    /// One pass.
    pub async fn run_once(&self) {
        let now = OffsetDateTime::now_utc();
        match self.platform.store.prune_idempotency(now).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired idempotency records removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "idempotency pruning failed"),
        }
        match self.platform.store.prune_outbox(now - self.keep_finished_tasks).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "finished outbox rows removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "outbox pruning failed"),
        }
        match self
            .platform
            .messaging
            .prune_parked_receipts(now - PARKED_RECEIPT_LIFETIME)
            .await
        {
            Ok(n) if n > 0 => tracing::info!(removed = n, "receipts parked for unknown sends removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "parked receipt pruning failed"),
        }
    }
}
