//! The NATS JetStream queue of the scaled-out shape.
//!
//! One work-queue stream (file storage, `<prefix>.>`) holds every subject; each subject has one durable pull
//! consumer with explicit acks that every worker process shares. Stream and consumers are created or updated
//! idempotently, so several processes may start at once. Publishes carry `Nats-Msg-Id` = task id, so the
//! server drops a republish inside its duplicate window.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::header::NATS_MESSAGE_ID;
use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::stream::{RetentionPolicy, StorageType};
use async_nats::jetstream::{self, Context, stream};
use async_trait::async_trait;
use futures::StreamExt;
use irisx_core::ports::queue::{Delivery, OutgoingMessage, Queue, QueueError, Subscription};
use irisx_core::task::Subject;
use tokio::sync::Mutex;

use crate::{QueueOpenError, QueueOptions};

fn unavailable(e: impl std::fmt::Display) -> QueueError {
    // The port's error keeps only a message (see the crate docs); log the cause here, once.
    tracing::warn!(error = %e, "nats queue operation failed");
    QueueError::Unavailable(e.to_string())
}

/// The NATS JetStream [`Queue`]. Cloning shares the connection.
#[derive(Clone)]
pub struct NatsQueue {
    context: Context,
    options: QueueOptions,
    /// Consumers already created or updated by this process.
    consumers: Arc<Mutex<HashMap<Subject, PullConsumer>>>,
}

impl std::fmt::Debug for NatsQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsQueue")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl NatsQueue {
    /// Connects to `url` and creates or updates the stream.
    pub async fn connect(url: &str, options: &QueueOptions) -> Result<Self, QueueOpenError> {
        let client = async_nats::connect(url).await.map_err(QueueOpenError::Connect)?;
        let queue = Self {
            context: jetstream::new(client),
            options: options.clone(),
            consumers: Arc::default(),
        };
        queue
            .context
            .create_or_update_stream(queue.stream_config())
            .await
            .map_err(QueueOpenError::Stream)?;
        Ok(queue)
    }

    fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.options.stream_name.clone(),
            subjects: vec![format!("{}.>", self.options.subject_prefix)],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            duplicate_window: self.options.duplicate_window,
            ..Default::default()
        }
    }

    /// The wire subject of `subject`: `<prefix>.<subject>`.
    pub fn wire_subject(&self, subject: Subject) -> String {
        format!("{}.{}", self.options.subject_prefix, subject.as_str())
    }

    /// The durable consumer name of `subject` (consumer names may not contain dots).
    pub fn consumer_name(subject: Subject) -> String {
        subject.as_str().replace('.', "_")
    }

    /// Deletes the stream and everything in it (for tests and `irisx` maintenance commands).
    pub async fn delete_stream(&self) -> Result<(), QueueError> {
        self.consumers.lock().await.clear();
        self.context
            .delete_stream(&self.options.stream_name)
            .await
            .map(drop)
            .map_err(unavailable)
    }

    /// The subject's consumer, created or updated on first use in this process.
    async fn consumer(&self, subject: Subject) -> Result<PullConsumer, QueueError> {
        let mut consumers = self.consumers.lock().await;
        if let Some(consumer) = consumers.get(&subject) {
            return Ok(consumer.clone());
        }
        let name = Self::consumer_name(subject);
        let config = pull::Config {
            durable_name: Some(name.clone()),
            name: Some(name),
            filter_subject: self.wire_subject(subject),
            ack_policy: AckPolicy::Explicit,
            ack_wait: self.options.ack_wait,
            ..Default::default()
        };
        let stream = self
            .context
            .get_stream(&self.options.stream_name)
            .await
            .map_err(unavailable)?;
        // `create_consumer` is create-or-update on the server: the same config from several processes agrees.
        let consumer: PullConsumer = stream.create_consumer(config).await.map_err(unavailable)?;
        consumers.insert(subject, consumer.clone());
        Ok(consumer)
    }
}

#[async_trait]
impl Queue for NatsQueue {
    async fn publish(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        let mut headers = HeaderMap::new();
        headers.insert(NATS_MESSAGE_ID, message.id.as_str());
        let ack = self
            .context
            .publish_with_headers(self.wire_subject(message.subject), headers, message.payload)
            .await
            .map_err(unavailable)?;
        ack.await.map(drop).map_err(unavailable)
    }

    async fn subscribe(&self, subject: Subject) -> Result<Box<dyn Subscription>, QueueError> {
        Ok(Box::new(NatsSubscription {
            consumer: self.consumer(subject).await?,
        }))
    }

    fn survives_restart(&self) -> bool {
        true
    }

    /// Messages not yet acknowledged: waiting for delivery (`num_pending`) plus delivered and not yet
    /// settled (`num_ack_pending`), which matches the memory backend's count.
    async fn depth(&self, subject: Subject) -> Result<u64, QueueError> {
        let mut consumer = self.consumer(subject).await?;
        let info = consumer.info().await.map_err(unavailable)?;
        Ok(info.num_pending + info.num_ack_pending as u64)
    }

    /// Asks the server for the stream's info: a round trip that also proves the stream is there.
    async fn ping(&self) -> Result<(), QueueError> {
        self.context
            .get_stream(&self.options.stream_name)
            .await
            .map(drop)
            .map_err(unavailable)
    }
}

/// A pull subscription on one subject's durable consumer.
struct NatsSubscription {
    consumer: PullConsumer,
}

impl NatsSubscription {
    async fn pull(&self, max: usize, wait: Option<Duration>) -> Result<Vec<Box<dyn Delivery>>, QueueError> {
        let mut batch = match wait {
            None => self
                .consumer
                .fetch()
                .max_messages(max)
                .messages()
                .await
                .map_err(unavailable)?,
            Some(wait) => self
                .consumer
                .batch()
                .max_messages(max)
                .expires(wait)
                .messages()
                .await
                .map_err(unavailable)?,
        };
        let mut out: Vec<Box<dyn Delivery>> = Vec::new();
        while let Some(message) = batch.next().await {
            out.push(Box::new(NatsDelivery::new(message.map_err(unavailable)?)));
        }
        Ok(out)
    }
}

#[async_trait]
impl Subscription for NatsSubscription {
    async fn next_batch(&mut self, max: usize, wait: Duration) -> Result<Vec<Box<dyn Delivery>>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let ready = self.pull(max, None).await?;
        if !ready.is_empty() || wait.is_zero() {
            return Ok(ready);
        }
        // Wait for one message only: a pull request for more would hold the server's later messages for this
        // consumer until it expired. Whatever else is ready then comes without waiting.
        let mut first = self.pull(1, Some(wait)).await?;
        if !first.is_empty() && max > 1 {
            first.extend(self.pull(max - 1, None).await?);
        }
        Ok(first)
    }
}

/// One JetStream message.
struct NatsDelivery {
    message: jetstream::Message,
    id: String,
    attempt: u32,
}

impl NatsDelivery {
    fn new(message: jetstream::Message) -> Self {
        let id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(NATS_MESSAGE_ID))
            .map(ToString::to_string);
        let attempt = message
            .info()
            .map_or(1, |i| u32::try_from(i.delivered).unwrap_or(u32::MAX).max(1));
        Self {
            id: id.unwrap_or_default(),
            attempt,
            message,
        }
    }

    /// Sends an acknowledgement and waits for the server to confirm it.
    async fn settle(&self, kind: AckKind) -> Result<(), QueueError> {
        self.message.double_ack_with(kind).await.map_err(unavailable)
    }
}

#[async_trait]
impl Delivery for NatsDelivery {
    fn id(&self) -> &str {
        &self.id
    }

    fn payload(&self) -> &[u8] {
        &self.message.payload
    }

    fn attempt(&self) -> u32 {
        self.attempt
    }

    async fn ack(self: Box<Self>) -> Result<(), QueueError> {
        self.settle(AckKind::Ack).await
    }

    async fn retry_after(self: Box<Self>, delay: Duration) -> Result<(), QueueError> {
        self.settle(AckKind::Nak(Some(delay))).await
    }

    async fn give_up(self: Box<Self>) -> Result<(), QueueError> {
        self.settle(AckKind::Term).await
    }

    async fn in_progress(&self) -> Result<(), QueueError> {
        self.message.ack_with(AckKind::Progress).await.map_err(unavailable)
    }
}
