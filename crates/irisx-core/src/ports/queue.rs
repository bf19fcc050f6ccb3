//! The queue port: durable work streams per [`Subject`] (NATS JetStream scaled out, in-process embedded).
//!
//! Delivery is at least once. Every message carries its task id, which is also the de-duplication id the
//! backend uses on publish; the worker is idempotent on it. The queue is never the ledger: the outbox is, and
//! a lost queue is rebuilt from it by the relay.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use crate::task::Subject;

/// A queue failure.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The broker cannot be reached or refused the operation.
    #[error("the queue is unavailable: {0}")]
    Unavailable(String),
    /// The queue has been shut down.
    #[error("the queue is closed")]
    Closed,
}

/// A message to publish.
#[derive(Debug, Clone)]
pub struct OutgoingMessage {
    /// The subject.
    pub subject: Subject,
    /// The task id: de-duplication id on publish, idempotency key in the worker.
    pub id: String,
    /// The serialized task.
    pub payload: Bytes,
}

/// The queue port.
#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Publishes a message and returns once the broker has accepted it. A message with an id published in the
    /// backend's de-duplication window is accepted and dropped.
    async fn publish(&self, message: OutgoingMessage) -> Result<(), QueueError>;
    /// A consumer of one subject. Consumers of the same subject share its messages (work-queue semantics).
    async fn subscribe(&self, subject: Subject) -> Result<Box<dyn Subscription>, QueueError>;
    /// Whether published messages survive a restart of this process. When false, the relay republishes every
    /// unfinished outbox row at start-up.
    fn survives_restart(&self) -> bool;
    /// Messages waiting in a subject, for `/metrics`.
    async fn depth(&self, subject: Subject) -> Result<u64, QueueError>;
    /// A cheap round trip, for `/ready`.
    async fn ping(&self) -> Result<(), QueueError>;
}

/// A consumer of one subject.
#[async_trait]
pub trait Subscription: Send {
    /// Up to `max` messages, waiting at most `wait` for the first one. An empty batch means none came.
    async fn next_batch(&mut self, max: usize, wait: Duration) -> Result<Vec<Box<dyn Delivery>>, QueueError>;
}

/// One delivered message. Unless acknowledged, it is delivered again after the backend's ack wait.
#[async_trait]
pub trait Delivery: Send + Sync {
    /// The task id it was published with.
    fn id(&self) -> &str;
    /// The payload.
    fn payload(&self) -> &[u8];
    /// Which delivery of this message this is, from 1.
    fn attempt(&self) -> u32;
    /// Done: never deliver again.
    async fn ack(self: Box<Self>) -> Result<(), QueueError>;
    /// Deliver again after `delay`.
    async fn retry_after(self: Box<Self>, delay: Duration) -> Result<(), QueueError>;
    /// Never deliver again: the message cannot be processed (the reason is logged by the caller).
    async fn give_up(self: Box<Self>) -> Result<(), QueueError>;
    /// Still working on it: push the redelivery deadline back.
    async fn in_progress(&self) -> Result<(), QueueError>;
}
