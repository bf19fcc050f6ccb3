//! The IRISX worker: one consume loop per subject, one handler per task, and periodic maintenance.
//!
//! Exactly-once in effect over at-least-once delivery: before running a task the worker reads its outbox
//! state and acknowledges without effect a task already completed or failed; a handler whose effect is in the
//! database completes the task in that effect's own transaction, so a crash between the effect and the queue
//! acknowledgement leaves a task that is completed, and its redelivery does nothing.

mod call_docs;
mod calls;
mod cdr;
mod dispatch;
mod email;
mod handlers;
mod maintenance;
mod sms;
mod voice;
pub mod voice_nodes;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use irisx_core::CoreError;
use irisx_core::id::TaskId;
use irisx_core::ports::queue::{Delivery, Queue};
use irisx_core::ports::store::StoreError;
use irisx_core::task::{Subject, Task, TaskState};
use irisx_core::usecase::Platform;
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use maintenance::Maintenance;
pub use voice::VoiceRuntime;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Messages fetched at once per subject; they are processed concurrently (one provider call each at most).
    pub batch_size: usize,
    /// How long one fetch waits for the first message.
    pub fetch_wait: Duration,
    /// How long to wait before redelivery when the database is unavailable.
    pub unavailable_backoff: Duration,
    /// Crash testing only: stop (hang) at this point of the first task that reaches it, so a test can kill
    /// the process there. Never set in production.
    pub failpoint: Option<Failpoint>,
}

/// Where crash tests stop the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// After the task was received and checked, before its effect.
    BeforeEffect,
    /// After the task's effect was committed, before the queue acknowledgement.
    AfterEffect,
}

impl std::str::FromStr for Failpoint {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "worker-before-effect" => Ok(Failpoint::BeforeEffect),
            "worker-after-effect" => Ok(Failpoint::AfterEffect),
            other => Err(format!(
                "unknown failpoint `{other}`; expected worker-before-effect or worker-after-effect"
            )),
        }
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            batch_size: 32,
            fetch_wait: Duration::from_secs(1),
            unavailable_backoff: Duration::from_secs(5),
            failpoint: None,
        }
    }
}

/// What a handler decided.
#[derive(Debug)]
pub enum Outcome {
    /// The effect is recorded and the task completed.
    Done,
    /// Try again at this time (the outbox row is rescheduled, so the schedule survives restarts).
    RetryAt(OffsetDateTime, String),
    /// Give up for good, with the reason.
    Fail(String),
}

/// The subjects a worker consumes.
pub const SUBJECTS: &[Subject] = &[
    Subject::SmsSend,
    Subject::EmailSend,
    Subject::WebhookTrigger,
    Subject::CdrCreate,
    Subject::PlatformMaintenance,
];

/// Consumes tasks and runs their handlers.
#[derive(Clone)]
pub struct Worker {
    platform: Arc<Platform>,
    queue: Arc<dyn Queue>,
    options: WorkerOptions,
    subjects: Vec<Subject>,
    voice: Option<Arc<VoiceRuntime>>,
    lanes: Arc<webhooks::Lanes>,
}

impl Worker {
    /// A worker over the platform's ports and a queue.
    pub fn new(platform: Arc<Platform>, queue: Arc<dyn Queue>, options: WorkerOptions) -> Self {
        Self {
            platform,
            queue,
            options,
            subjects: SUBJECTS.to_vec(),
            voice: None,
            lanes: Arc::default(),
        }
    }

    /// Also places calls (`call.create`) through a voice runtime; with `only`, places calls and nothing else
    /// (the `voice` role).
    pub fn with_voice(mut self, voice: Arc<VoiceRuntime>, only: bool) -> Self {
        if only {
            self.subjects.clear();
        }
        self.subjects.push(Subject::CallCreate);
        self.voice = Some(voice);
        self
    }

    /// Runs one consume loop per subject until `cancel`; in-flight tasks finish before it returns.
    pub async fn run(self, cancel: CancellationToken) {
        let mut loops = JoinSet::new();
        for subject in &self.subjects {
            let (w, c, s) = (self.clone(), cancel.clone(), *subject);
            loops.spawn(async move { w.consume(s, c).await });
        }
        while loops.join_next().await.is_some() {}
    }

    async fn consume(&self, subject: Subject, cancel: CancellationToken) {
        let mut sub = loop {
            match self.queue.subscribe(subject).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(subject = subject.as_str(), error = %e, "cannot subscribe; retrying");
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        };
        while !cancel.is_cancelled() {
            let batch = tokio::select! {
                () = cancel.cancelled() => return,
                b = sub.next_batch(self.options.batch_size, self.options.fetch_wait) => b,
            };
            match batch {
                Ok(batch) => self.process_all(batch).await,
                Err(e) => {
                    tracing::warn!(subject = subject.as_str(), error = %e, "fetch failed");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }

    /// Fetches and processes every message of every subject until a fetch comes back empty; returns how many
    /// were processed. For tests and one-shot runs.
    pub async fn run_until_idle(&self) -> Result<usize, CoreError> {
        let mut total = 0;
        for subject in &self.subjects {
            let mut sub = self.queue.subscribe(*subject).await?;
            loop {
                let batch = sub
                    .next_batch(self.options.batch_size, Duration::from_millis(200))
                    .await?;
                if batch.is_empty() {
                    break;
                }
                total += batch.len();
                self.process_all(batch).await;
            }
        }
        Ok(total)
    }

    /// Processes a batch concurrently: tasks of one subject are independent (each is idempotent on its id).
    /// Then wakes the relay: the finished tasks made room in its in-flight window.
    async fn process_all(&self, batch: Vec<Box<dyn Delivery>>) {
        futures::future::join_all(batch.into_iter().map(|d| self.process(d))).await;
        self.platform.outbox_wake.notify_one();
    }

    #[tracing::instrument(skip_all, fields(task_id = delivery.id(), attempt = delivery.attempt()))]
    async fn process(&self, delivery: Box<dyn Delivery>) {
        let store = &self.platform.store;
        let Ok(id) = irisx_core::task::task_of_delivery(delivery.id()) else {
            tracing::error!("message without a task id; dropping it");
            settle(delivery.give_up().await);
            return;
        };
        match store.task_state(&id).await {
            Ok(Some(TaskState::Pending)) => {}
            Ok(Some(_)) => {
                tracing::debug!("task already settled; acknowledging the redelivery");
                settle(delivery.ack().await);
                return;
            }
            Ok(None) => {
                tracing::warn!("no outbox row for this task; acknowledging it");
                settle(delivery.ack().await);
                return;
            }
            Err(e) => return self.later(delivery, &e).await,
        }
        let task: Task = match serde_json::from_slice(delivery.payload()) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "undecodable task; failing it");
                if let Err(e) = store.fail_task(&id, &format!("undecodable task: {e}")).await {
                    return self.later(delivery, &e).await;
                }
                settle(delivery.ack().await);
                return;
            }
        };
        self.failpoint(Failpoint::BeforeEffect, &id).await;
        let outcome = handlers::run(&self.platform, self.voice.as_ref(), &self.lanes, &id, task).await;
        let recorded = match outcome {
            Ok(Outcome::Done) => Ok(()),
            Ok(Outcome::RetryAt(at, why)) => store.reschedule_task(&id, at, &why).await,
            Ok(Outcome::Fail(why)) => store.fail_task(&id, &why).await,
            Err(CoreError::Unavailable(e)) => {
                tracing::warn!(error = %e, "a backing service is unavailable; will retry");
                settle(delivery.retry_after(self.options.unavailable_backoff).await);
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "task handler failed; retrying later");
                let at = OffsetDateTime::now_utc() + Duration::from_secs(60);
                store.reschedule_task(&id, at, &e.to_string()).await
            }
        };
        match recorded {
            Ok(()) => {
                self.failpoint(Failpoint::AfterEffect, &id).await;
                settle(delivery.ack().await);
            }
            Err(e) => self.later(delivery, &e).await,
        }
    }

    async fn failpoint(&self, at: Failpoint, id: &TaskId) {
        if self.options.failpoint == Some(at) {
            tracing::warn!(task_id = %id, failpoint = ?at, "failpoint reached; the worker stops here");
            eprintln!("FAILPOINT REACHED {at:?} {id}");
            std::future::pending::<()>().await;
        }
    }

    async fn later(&self, delivery: Box<dyn Delivery>, e: &StoreError) {
        tracing::warn!(error = %e, "cannot record the task's state; it will be redelivered");
        settle(delivery.retry_after(self.options.unavailable_backoff).await);
    }
}

fn settle(r: Result<(), irisx_core::ports::queue::QueueError>) {
    if let Err(e) = r {
        tracing::warn!(error = %e, "queue acknowledgement failed; the message will be redelivered");
    }
}
