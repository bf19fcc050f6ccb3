//! The outbox relay: moves committed outbox rows onto the queue.
//!
//! Rows are claimed in batches (marked published, so concurrent relays never take the same row), published
//! with the task id as de-duplication id, and released again if the publish fails. Rows published long ago
//! and still pending are claimed again after `republish_after`, so a lost queue costs nothing; with a queue
//! that does not survive restarts every pending row is reset once at start-up.
//!
//! Fairness: the relay keeps at most `max_in_flight` rows published and not yet finished. A burst therefore
//! waits in the outbox, where the claim takes rows round-robin across lanes (subject and tenant), not in the
//! queue's first-in first-out order: another tenant's task is at most about `max_in_flight` tasks behind.
//! Workers wake the relay when they finish tasks, so the window refills at once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use irisx_core::id::TaskId;
use irisx_core::ports::queue::{OutgoingMessage, Queue, QueueError};
use irisx_core::ports::store::{Store, StoreError};
use irisx_core::task::OutboxEntry;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Publishes in flight at once within a batch.
const PUBLISH_CONCURRENCY: usize = 32;

/// How the relay paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayOptions {
    /// Rows claimed per round trip to the store. Default 256.
    pub batch_size: u32,
    /// How long the relay sleeps when nobody wakes it. Default 1 s.
    pub poll_interval: Duration,
    /// A row published this long ago and still pending is published again (its message may be lost).
    /// Keep it well above the queue's ack wait times the retries a worker makes. Default 10 min.
    pub republish_after: Duration,
    /// The longest pause after a failure; pauses double from 100 ms up to this. Default 30 s.
    pub max_backoff: Duration,
    /// With a durable queue, rows published this recently and still pending are published again at start-up:
    /// a crash may have cut their publish off, and the queue's de-duplication drops the ones that did arrive.
    /// Keep it below the queue's de-duplication window. Default 100 s.
    pub restart_republish_window: Duration,
    /// Rows published and not yet finished at most; the rest wait in the outbox, where the claim is fair
    /// across tenants. Default 512.
    pub max_in_flight: u32,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            batch_size: 256,
            poll_interval: Duration::from_secs(1),
            republish_after: Duration::from_secs(600),
            max_backoff: Duration::from_secs(30),
            restart_republish_window: Duration::from_secs(100),
            max_in_flight: 512,
        }
    }
}

/// Why a relay round stopped.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The store failed to claim, release or reset rows.
    #[error("the outbox store failed")]
    Store(#[from] StoreError),
    /// Some publishes failed; their rows were released for a later round.
    #[error("{failed} outbox publishes failed and were released")]
    Publish {
        /// How many rows failed.
        failed: usize,
        /// The first failure.
        #[source]
        source: QueueError,
    },
}

/// The outbox relay. Create it, hand [`OutboxRelay::wake`] to whoever commits outbox rows, then spawn
/// [`OutboxRelay::run`].
pub struct OutboxRelay {
    store: Arc<dyn Store>,
    queue: Arc<dyn Queue>,
    options: RelayOptions,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for OutboxRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxRelay")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl OutboxRelay {
    /// A relay from `store` to `queue`.
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn Queue>, options: RelayOptions) -> Self {
        Self {
            store,
            queue,
            options,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The handle that wakes the relay: call `notify_one()` after committing outbox rows. A wake-up sent
    /// while the relay is busy is kept, so none is lost.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Relays until `cancel` fires. A round in progress is finished before it returns.
    pub async fn run(self, cancel: CancellationToken) {
        if !self.reset_on_start(&cancel).await {
            return;
        }
        let mut backoff = Duration::from_millis(100);
        while !cancel.is_cancelled() {
            let pause = match self.drain_once().await {
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    self.options.poll_interval
                }
                Err(e) => {
                    tracing::warn!(error = &e as &dyn std::error::Error, "outbox relay round failed");
                    let pause = backoff;
                    backoff = (backoff * 2).min(self.options.max_backoff);
                    pause
                }
            };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::debug!("outbox relay stopped");
    }

    /// Marks pending rows unpublished (all of them for a queue that does not survive restarts, the recently
    /// published ones otherwise), retrying until it works; false when cancelled first.
    async fn reset_on_start(&self, cancel: &CancellationToken) -> bool {
        let mut backoff = Duration::from_millis(100);
        let since = self
            .queue
            .survives_restart()
            .then(|| time::OffsetDateTime::now_utc() - self.options.restart_republish_window);
        loop {
            match self.store.reset_unfinished_outbox(since).await {
                Ok(n) => {
                    tracing::info!(
                        rows = n,
                        durable_queue = since.is_some(),
                        "outbox rows to publish again at start-up"
                    );
                    return true;
                }
                Err(e) => {
                    tracing::warn!(error = &e as &dyn std::error::Error, "outbox reset failed")
                }
            }
            tokio::select! {
                () = cancel.cancelled() => return false,
                () = tokio::time::sleep(backoff) => backoff = (backoff * 2).min(self.options.max_backoff),
            }
        }
    }

    /// Publishes every row due now and returns how many were published. Stops at the first batch with a
    /// failed publish, after releasing its failed rows.
    pub async fn drain_once(&self) -> Result<usize, RelayError> {
        let mut published = 0;
        // Keyed by delivery id (task and generation): a task rescheduled while this pass runs (a fast worker
        // put it back with a short delay) is claimed again as a new generation and must be published, or its
        // row would stay marked published with no message until `republish_after`.
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            let republish_before = OffsetDateTime::now_utc() - self.options.republish_after;
            let in_flight = self.store.outbox_in_flight(republish_before).await?;
            let room = u64::from(self.options.max_in_flight).saturating_sub(in_flight);
            let limit = u32::try_from(room).unwrap_or(u32::MAX).min(self.options.batch_size);
            if limit == 0 {
                metrics::counter!("irisx_outbox_relay_full_total").increment(1);
                return Ok(published);
            }
            let batch = self.store.claim_outbox(limit, republish_before).await?;
            let claimed = batch.len();
            // With a tiny `republish_after` the rows just published are due again at once; one pass is enough.
            let fresh: Vec<OutboxEntry> = batch.into_iter().filter(|e| seen.insert(e.delivery_id())).collect();
            let repeated = fresh.len() < claimed;
            published += self.publish_batch(fresh).await?;
            if claimed < limit as usize || repeated {
                return Ok(published);
            }
        }
    }

    /// Publishes claimed rows concurrently; releases those that failed.
    async fn publish_batch(&self, entries: Vec<OutboxEntry>) -> Result<usize, RelayError> {
        let results: Vec<(TaskId, Result<(), QueueError>)> = futures::stream::iter(entries)
            .map(|entry| async move {
                let message = OutgoingMessage {
                    subject: entry.subject,
                    id: entry.delivery_id(),
                    payload: Bytes::from(entry.payload),
                };
                (entry.id, self.queue.publish(message).await)
            })
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .collect()
            .await;
        let mut ok = 0;
        let mut failed = Vec::new();
        let mut first_error = None;
        for (id, result) in results {
            match result {
                Ok(()) => ok += 1,
                Err(e) => {
                    failed.push(id);
                    first_error.get_or_insert(e);
                }
            }
        }
        metrics::counter!("irisx_outbox_published_total").increment(ok as u64);
        let Some(source) = first_error else {
            return Ok(ok);
        };
        metrics::counter!("irisx_outbox_publish_errors_total").increment(failed.len() as u64);
        self.store.release_outbox(&failed).await?;
        Err(RelayError::Publish {
            failed: failed.len(),
            source,
        })
    }
}
