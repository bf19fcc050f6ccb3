//! Group commit for accepted messages. Concurrent `create_message` calls are handed to one writer task, which
//! writes everything waiting (up to [`MAX_BATCH`] messages, each with its event and send task) in one
//! transaction and answers each caller only after that commit: durability is unchanged, while the commit (an
//! fsync) and the transaction's round trips are shared by the whole group. A group that fails is written again
//! one message per transaction, so one bad message never fails the others.
//!
//! A backend whose transactions can run side by side (PostgreSQL) has more than one writer: while one group
//! waits for its commit, the next group is already being written. SQLite, with one writer at a time, has one.

use irisx_core::ports::store::{StoreError, StoreResult};
use irisx_core::sms::model::{Event, Message};
use irisx_core::task::NewTask;
use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

/// The most messages written in one transaction.
pub(crate) const MAX_BATCH: usize = 256;

/// One accepted message with its `message.queued` event and its send task.
#[derive(Debug)]
pub(crate) struct NewMessage {
    pub(crate) message: Message,
    pub(crate) event: Event,
    pub(crate) task: NewTask,
}

/// How a backend writes a group, and one message alone.
#[async_trait::async_trait]
pub(crate) trait WriteMessages: Send + Sync + 'static {
    /// Writes every message of `batch` in one transaction.
    async fn write_batch(&self, batch: &[NewMessage]) -> StoreResult<()>;
    /// Writes one message in its own transaction.
    async fn write_one(&self, one: &NewMessage) -> StoreResult<()>;
}

type Job = (NewMessage, oneshot::Sender<StoreResult<()>>);

/// The handle callers write through; cloning it shares the writer.
#[derive(Debug, Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::UnboundedSender<Job>,
}

impl GroupCommit {
    /// Starts `writers` writer tasks on the current runtime; they end when the last handle is dropped.
    pub(crate) fn spawn(writer: impl WriteMessages + Clone, writers: usize) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            tokio::spawn(run(writer.clone(), rx.clone()));
        }
        Self { jobs }
    }

    /// Writes one message (with its event and task) and returns once it is committed.
    pub(crate) async fn write(&self, m: &Message, e: &Event, task: &NewTask) -> StoreResult<()> {
        let one = NewMessage {
            message: m.clone(),
            event: e.clone(),
            task: task.clone(),
        };
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the message writer has stopped".into());
        self.jobs.send((one, reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// The waiting jobs, up to [`MAX_BATCH`], once there is one; `None` when every handle is gone.
async fn next_group(rx: &Mutex<mpsc::UnboundedReceiver<Job>>) -> Option<Vec<Job>> {
    let mut rx = rx.lock().await;
    let mut jobs = vec![rx.recv().await?];
    while jobs.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
    Some(jobs)
}

async fn run(writer: impl WriteMessages, rx: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>) {
    while let Some(jobs) = next_group(&rx).await {
        let (batch, replies): (Vec<_>, Vec<_>) = jobs.into_iter().unzip();
        let result = writer.write_batch(&batch).await;
        match result {
            Ok(()) => {
                for r in replies {
                    let _ = r.send(Ok(()));
                }
            }
            Err(e) if batch.len() == 1 => {
                if let Some(r) = replies.into_iter().next() {
                    let _ = r.send(Err(e));
                }
            }
            Err(e) => {
                let messages = batch.len();
                tracing::warn!(error = %e, messages, "a group commit failed; writing its messages one by one");
                for (one, r) in batch.iter().zip(replies) {
                    let _ = r.send(writer.write_one(one).await);
                }
            }
        }
    }
}
