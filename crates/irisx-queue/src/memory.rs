//! The in-process queue of the embedded shape: per-subject FIFO queues with in-flight tracking.
//!
//! Nothing survives a restart ([`Queue::survives_restart`] is false): the relay rebuilds the queue from the
//! outbox at start-up. Redelivery after the ack wait and delayed retries are applied lazily whenever a
//! consumer looks for work, so there is no background task to stop.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use irisx_core::ports::queue::{Delivery, OutgoingMessage, Queue, QueueError, Subscription};
use irisx_core::task::Subject;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Options of the in-memory queue.
#[derive(Debug, Clone, Copy)]
pub struct MemoryQueueOptions {
    /// An unacknowledged delivery is delivered again this long after it was handed out.
    pub ack_wait: Duration,
    /// A message whose id was published this recently is accepted and dropped.
    pub duplicate_window: Duration,
}

impl Default for MemoryQueueOptions {
    fn default() -> Self {
        Self {
            ack_wait: Duration::from_secs(30),
            duplicate_window: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone)]
struct Message {
    id: String,
    payload: Bytes,
    /// Deliveries so far.
    delivered: u32,
}

#[derive(Debug, Default)]
struct SubjectQueue {
    ready: VecDeque<Message>,
    /// Messages to make ready at a time (retries).
    delayed: Vec<(Instant, Message)>,
    /// Deliveries handed out and not settled, by delivery token, with their redelivery deadline.
    in_flight: HashMap<u64, (Instant, Message)>,
}

impl SubjectQueue {
    /// Makes due retries and expired deliveries ready again; returns the next time something becomes due.
    fn promote(&mut self, now: Instant) -> Option<Instant> {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.delayed = later;
        self.ready.extend(due.into_iter().map(|(_, m)| m));
        let expired: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(t, _)| *t)
            .collect();
        for token in expired {
            if let Some((_, m)) = self.in_flight.remove(&token) {
                self.ready.push_back(m);
            }
        }
        self.delayed
            .iter()
            .map(|(at, _)| *at)
            .chain(self.in_flight.values().map(|(at, _)| *at))
            .min()
    }

    fn depth(&self) -> u64 {
        (self.ready.len() + self.delayed.len() + self.in_flight.len()) as u64
    }
}

#[derive(Debug, Default)]
struct Dedupe {
    seen: HashSet<String>,
    order: VecDeque<(Instant, String)>,
}

#[derive(Debug, Default)]
struct State {
    subjects: HashMap<Subject, SubjectQueue>,
    dedupe: Dedupe,
    next_token: u64,
}

#[derive(Debug)]
struct Shared {
    options: MemoryQueueOptions,
    state: Mutex<State>,
    /// Woken on every publish, retry and release, so waiting consumers look again.
    notify: Notify,
    /// Set by [`MemoryQueue::close`].
    closed: AtomicBool,
}

impl Shared {
    fn check_open(&self) -> Result<(), QueueError> {
        if self.closed.load(Ordering::Acquire) {
            Err(QueueError::Closed)
        } else {
            Ok(())
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update under the lock is a handful of moves between collections; a panic cannot leave a
        // message half-moved, so a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Settles a delivery: removes it from in-flight and, for a retry, schedules it again.
    fn settle(&self, subject: Subject, token: u64, retry_at: Option<Instant>) {
        let mut state = self.lock();
        let queue = state.subjects.entry(subject).or_default();
        if let Some((_, message)) = queue.in_flight.remove(&token)
            && let Some(at) = retry_at
        {
            queue.delayed.push((at, message));
        }
        drop(state);
        self.notify.notify_waiters();
    }
}

/// The in-memory [`Queue`]. Cloning shares the queue.
#[derive(Debug, Clone)]
pub struct MemoryQueue {
    shared: Arc<Shared>,
}

impl Default for MemoryQueue {
    fn default() -> Self {
        Self::new(MemoryQueueOptions::default())
    }
}

impl MemoryQueue {
    /// An empty queue.
    pub fn new(options: MemoryQueueOptions) -> Self {
        let shared = Shared {
            options,
            state: Mutex::default(),
            notify: Notify::new(),
            closed: AtomicBool::new(false),
        };
        Self {
            shared: Arc::new(shared),
        }
    }

    /// Shuts the queue down: publishing, subscribing and pulling fail with [`QueueError::Closed`] from now on,
    /// and consumers waiting for messages return at once.
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.notify.notify_waiters();
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn publish(&self, message: OutgoingMessage) -> Result<(), QueueError> {
        self.shared.check_open()?;
        let now = Instant::now();
        let window = self.shared.options.duplicate_window;
        let mut state = self.shared.lock();
        let dedupe = &mut state.dedupe;
        while let Some((at, _)) = dedupe.order.front()
            && now.duration_since(*at) >= window
        {
            if let Some((_, id)) = dedupe.order.pop_front() {
                dedupe.seen.remove(&id);
            }
        }
        if !dedupe.seen.insert(message.id.clone()) {
            return Ok(());
        }
        dedupe.order.push_back((now, message.id.clone()));
        let queue = state.subjects.entry(message.subject).or_default();
        queue.ready.push_back(Message {
            id: message.id,
            payload: message.payload,
            delivered: 0,
        });
        drop(state);
        self.shared.notify.notify_waiters();
        Ok(())
    }

    async fn subscribe(&self, subject: Subject) -> Result<Box<dyn Subscription>, QueueError> {
        self.shared.check_open()?;
        Ok(Box::new(MemorySubscription {
            shared: self.shared.clone(),
            subject,
        }))
    }

    fn survives_restart(&self) -> bool {
        false
    }

    async fn depth(&self, subject: Subject) -> Result<u64, QueueError> {
        Ok(self.shared.lock().subjects.get(&subject).map_or(0, SubjectQueue::depth))
    }

    async fn ping(&self) -> Result<(), QueueError> {
        Ok(())
    }
}

/// A consumer of one subject of a [`MemoryQueue`].
#[derive(Debug)]
struct MemorySubscription {
    shared: Arc<Shared>,
    subject: Subject,
}

impl MemorySubscription {
    /// Hands out up to `max` ready messages, or says when to look again.
    fn take(&self, max: usize, now: Instant) -> Result<Vec<Box<dyn Delivery>>, Option<Instant>> {
        let ack_wait = self.shared.options.ack_wait;
        let mut state = self.shared.lock();
        let State {
            subjects, next_token, ..
        } = &mut *state;
        let queue = subjects.entry(self.subject).or_default();
        let next_due = queue.promote(now);
        if queue.ready.is_empty() || max == 0 {
            return Err(next_due);
        }
        let mut batch: Vec<Box<dyn Delivery>> = Vec::new();
        while batch.len() < max {
            let Some(mut message) = queue.ready.pop_front() else {
                break;
            };
            message.delivered += 1;
            *next_token += 1;
            batch.push(Box::new(MemoryDelivery {
                shared: self.shared.clone(),
                subject: self.subject,
                token: *next_token,
                message: message.clone(),
            }));
            queue.in_flight.insert(*next_token, (now + ack_wait, message));
        }
        Ok(batch)
    }
}

#[async_trait]
impl Subscription for MemorySubscription {
    async fn next_batch(&mut self, max: usize, wait: Duration) -> Result<Vec<Box<dyn Delivery>>, QueueError> {
        let deadline = Instant::now() + wait;
        loop {
            // Registered before looking, so a publish between the look and the wait is not missed.
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            self.shared.check_open()?;
            let now = Instant::now();
            let next_due = match self.take(max, now) {
                Ok(batch) => return Ok(batch),
                Err(next_due) => next_due,
            };
            if now >= deadline {
                return Ok(Vec::new());
            }
            let until = next_due.map_or(deadline, |due| due.min(deadline));
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep_until(until) => {}
            }
        }
    }
}

/// One delivery from a [`MemoryQueue`].
#[derive(Debug)]
struct MemoryDelivery {
    shared: Arc<Shared>,
    subject: Subject,
    token: u64,
    message: Message,
}

#[async_trait]
impl Delivery for MemoryDelivery {
    fn id(&self) -> &str {
        &self.message.id
    }

    fn payload(&self) -> &[u8] {
        &self.message.payload
    }

    fn attempt(&self) -> u32 {
        self.message.delivered
    }

    async fn ack(self: Box<Self>) -> Result<(), QueueError> {
        self.shared.settle(self.subject, self.token, None);
        Ok(())
    }

    async fn retry_after(self: Box<Self>, delay: Duration) -> Result<(), QueueError> {
        self.shared
            .settle(self.subject, self.token, Some(Instant::now() + delay));
        Ok(())
    }

    async fn give_up(self: Box<Self>) -> Result<(), QueueError> {
        self.shared.settle(self.subject, self.token, None);
        Ok(())
    }

    async fn in_progress(&self) -> Result<(), QueueError> {
        let deadline = Instant::now() + self.shared.options.ack_wait;
        let mut state = self.shared.lock();
        if let Some(entry) = state
            .subjects
            .get_mut(&self.subject)
            .and_then(|q| q.in_flight.get_mut(&self.token))
        {
            entry.0 = deadline;
        }
        Ok(())
    }
}
