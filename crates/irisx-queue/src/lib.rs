//! IRISX queue port adapters and the outbox relay.
//!
//! [`MemoryQueue`] serves the embedded shape and [`NatsQueue`] (JetStream) the scaled-out one; [`open`] picks
//! one once at start-up and the rest of the code holds an `Arc<dyn Queue>`. The [`OutboxRelay`] moves
//! committed outbox rows onto the queue: the database is the ledger, the queue can always be rebuilt from it.
//!
//! The port's [`QueueError`] carries only a message, so adapters log the underlying cause once, where it
//! happens, before converting it.

mod memory;
mod nats;
pub mod relay;

use std::sync::Arc;
use std::time::Duration;

pub use irisx_core::ports::queue::{Delivery, OutgoingMessage, Queue, QueueError, Subscription};

pub use crate::memory::{MemoryQueue, MemoryQueueOptions};
pub use crate::nats::NatsQueue;
pub use crate::relay::{OutboxRelay, RelayError, RelayOptions};

/// How the queue is set up. The memory backend uses only `ack_wait` and `duplicate_window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOptions {
    /// The JetStream stream holding every subject. Default `IRISX`.
    pub stream_name: String,
    /// The prefix of every wire subject (`<prefix>.sms.send`); the stream takes `<prefix>.>`. Default `irisx`.
    pub subject_prefix: String,
    /// How long a delivery may stay unacknowledged before it is delivered again. Default 30 s.
    pub ack_wait: Duration,
    /// How long a published id is remembered for de-duplication. Default 2 min.
    pub duplicate_window: Duration,
}

impl Default for QueueOptions {
    fn default() -> Self {
        Self {
            stream_name: "IRISX".to_owned(),
            subject_prefix: "irisx".to_owned(),
            ack_wait: Duration::from_secs(30),
            duplicate_window: Duration::from_secs(120),
        }
    }
}

/// Why [`open`] could not build a queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueOpenError {
    /// The URL names no known backend.
    #[error("unsupported queue URL {0:?}: expected `memory` or `nats://...`")]
    UnsupportedUrl(String),
    /// The NATS server could not be reached.
    #[error("cannot connect to nats")]
    Connect(#[source] async_nats::ConnectError),
    /// The stream could not be created or updated (e.g. another stream already takes its subjects).
    #[error("cannot create or update the jetstream stream")]
    Stream(#[source] async_nats::jetstream::context::CreateStreamError),
}

/// Opens the queue named by `url`: `memory` (or `memory://`) or `nats://...`.
pub async fn open(url: &str, options: &QueueOptions) -> Result<Arc<dyn Queue>, QueueOpenError> {
    if url == "memory" || url == "memory://" {
        let memory = MemoryQueueOptions {
            ack_wait: options.ack_wait,
            duplicate_window: options.duplicate_window,
        };
        return Ok(Arc::new(MemoryQueue::new(memory)));
    }
    if url.starts_with("nats://") || url.starts_with("tls://") {
        return Ok(Arc::new(NatsQueue::connect(url, options).await?));
    }
    Err(QueueOpenError::UnsupportedUrl(redact(url)))
}

/// The URL without its credentials, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unknown_scheme_is_refused_without_echoing_credentials() {
        let err = open("amqp://user:secret@host", &QueueOptions::default())
            .await
            .err()
            .expect("refused");
        assert!(
            matches!(err, QueueOpenError::UnsupportedUrl(ref u) if !u.contains("secret")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn memory_opens_without_any_server_and_does_not_survive_restarts() {
        let queue = open("memory", &QueueOptions::default()).await.expect("memory");
        assert!(!queue.survives_restart());
        queue.ping().await.expect("ping");
    }
}
