//! One suite of queue behaviours, run against every backend: always in memory, and against NATS JetStream
//! when `IRISX_TEST_NATS_URL` is set. Each NATS test uses its own stream and subject prefix and deletes the
//! stream at the end.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use irisx_core::task::Subject;
use irisx_queue::{MemoryQueue, MemoryQueueOptions, NatsQueue, OutgoingMessage, Queue, QueueOptions};
use tokio::time::Instant;

const ACK_WAIT: Duration = Duration::from_secs(1);

/// The options every test uses: a unique stream and prefix, and a short ack wait.
fn options() -> QueueOptions {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    QueueOptions {
        stream_name: format!("IRISX_TEST_{unique}"),
        subject_prefix: format!("irisxtest{unique}"),
        ack_wait: ACK_WAIT,
        ..QueueOptions::default()
    }
}

async fn on_memory<F, Fut>(behaviour: F)
where
    F: FnOnce(Arc<dyn Queue>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let o = options();
    behaviour(Arc::new(MemoryQueue::new(MemoryQueueOptions {
        ack_wait: o.ack_wait,
        duplicate_window: o.duplicate_window,
    })))
    .await;
}

/// The NATS URL, or `None` after saying plainly that the NATS backend is not tested.
pub fn nats_url() -> Option<String> {
    let url = std::env::var("IRISX_TEST_NATS_URL").ok();
    if url.is_none() {
        // Written to the raw stderr handle so the line shows even though the harness captures `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: IRISX_TEST_NATS_URL not set (nats backend not tested)"
        );
    }
    url
}

async fn on_nats<F, Fut>(behaviour: F)
where
    F: FnOnce(Arc<dyn Queue>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Some(url) = nats_url() else { return };
    let queue = NatsQueue::connect(&url, &options())
        .await
        .expect("IRISX_TEST_NATS_URL is set but nats is unusable");
    // Run in a task so a failing behaviour still deletes its stream before the panic is passed on.
    let outcome = tokio::spawn(behaviour(Arc::new(queue.clone()))).await;
    queue.delete_stream().await.expect("delete the test stream");
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Declares each behaviour as a test per backend: `memory::<behaviour>` and `nats::<behaviour>`.
macro_rules! on_every_backend {
    ($($behaviour:ident),* $(,)?) => {
        mod memory { $(#[tokio::test] async fn $behaviour() { super::on_memory(super::$behaviour).await })* }
        mod nats { $(#[tokio::test] async fn $behaviour() { super::on_nats(super::$behaviour).await })* }
    };
}

on_every_backend!(
    a_published_message_is_delivered_and_gone_once_acknowledged,
    a_message_published_twice_with_one_id_is_delivered_once,
    an_unacknowledged_delivery_comes_back_after_the_ack_wait,
    a_retry_comes_back_after_its_delay_and_not_before,
    a_message_given_up_is_never_delivered_again,
    in_progress_pushes_the_redelivery_deadline_back,
    next_batch_waits_for_the_first_message_and_no_longer_than_asked,
    subjects_are_separate_and_depth_counts_unfinished_messages,
    consumers_of_one_subject_share_its_messages_between_them,
    the_backend_answers_a_ping,
);

fn message(subject: Subject, id: &str) -> OutgoingMessage {
    OutgoingMessage {
        subject,
        id: id.to_owned(),
        payload: Bytes::from(format!("payload of {id}")),
    }
}

async fn a_published_message_is_delivered_and_gone_once_acknowledged(q: Arc<dyn Queue>) {
    let mut sub = q.subscribe(Subject::SmsSend).await.unwrap();
    q.publish(message(Subject::SmsSend, "task_1")).await.unwrap();
    let mut batch = sub.next_batch(10, Duration::from_secs(2)).await.unwrap();
    assert_eq!(batch.len(), 1);
    let d = batch.pop().unwrap();
    assert_eq!(
        (d.id(), d.payload(), d.attempt()),
        ("task_1", &b"payload of task_1"[..], 1)
    );
    d.ack().await.unwrap();
    assert!(
        sub.next_batch(10, ACK_WAIT + Duration::from_millis(300))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(q.depth(Subject::SmsSend).await.unwrap(), 0);
}

async fn a_message_published_twice_with_one_id_is_delivered_once(q: Arc<dyn Queue>) {
    q.publish(message(Subject::EmailSend, "task_dup")).await.unwrap();
    q.publish(message(Subject::EmailSend, "task_dup")).await.unwrap();
    q.publish(message(Subject::EmailSend, "task_other")).await.unwrap();
    assert_eq!(q.depth(Subject::EmailSend).await.unwrap(), 2);
    let mut sub = q.subscribe(Subject::EmailSend).await.unwrap();
    let batch = sub.next_batch(10, Duration::from_secs(1)).await.unwrap();
    let ids: Vec<&str> = batch.iter().map(|d| d.id()).collect();
    assert_eq!(ids, ["task_dup", "task_other"]);
}

async fn an_unacknowledged_delivery_comes_back_after_the_ack_wait(q: Arc<dyn Queue>) {
    let mut sub = q.subscribe(Subject::WebhookTrigger).await.unwrap();
    q.publish(message(Subject::WebhookTrigger, "task_slow")).await.unwrap();
    let first = sub.next_batch(1, Duration::from_secs(1)).await.unwrap();
    assert_eq!(first.len(), 1);
    let handed_out = Instant::now();
    drop(first);
    assert!(
        sub.next_batch(1, Duration::from_millis(300)).await.unwrap().is_empty(),
        "not before the ack wait"
    );
    let again = sub.next_batch(1, ACK_WAIT * 3).await.unwrap();
    assert!(handed_out.elapsed() >= ACK_WAIT - Duration::from_millis(50));
    assert_eq!((again[0].id(), again[0].attempt()), ("task_slow", 2));
}

async fn a_retry_comes_back_after_its_delay_and_not_before(q: Arc<dyn Queue>) {
    let mut sub = q.subscribe(Subject::SmsSend).await.unwrap();
    q.publish(message(Subject::SmsSend, "task_retry")).await.unwrap();
    let d = sub.next_batch(1, Duration::from_secs(1)).await.unwrap().pop().unwrap();
    let retried = Instant::now();
    d.retry_after(Duration::from_millis(600)).await.unwrap();
    assert!(sub.next_batch(1, Duration::from_millis(200)).await.unwrap().is_empty());
    let again = sub
        .next_batch(1, Duration::from_secs(3))
        .await
        .unwrap()
        .pop()
        .expect("redelivered");
    assert!(
        retried.elapsed() >= Duration::from_millis(550),
        "came back after {:?}",
        retried.elapsed()
    );
    assert_eq!((again.id(), again.attempt()), ("task_retry", 2));
    again.ack().await.unwrap();
}

async fn a_message_given_up_is_never_delivered_again(q: Arc<dyn Queue>) {
    let mut sub = q.subscribe(Subject::CallCreate).await.unwrap();
    q.publish(message(Subject::CallCreate, "task_bad")).await.unwrap();
    sub.next_batch(1, Duration::from_secs(1))
        .await
        .unwrap()
        .pop()
        .unwrap()
        .give_up()
        .await
        .unwrap();
    assert!(
        sub.next_batch(1, ACK_WAIT + Duration::from_millis(500))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(q.depth(Subject::CallCreate).await.unwrap(), 0);
}

async fn in_progress_pushes_the_redelivery_deadline_back(q: Arc<dyn Queue>) {
    let mut sub = q.subscribe(Subject::CdrCreate).await.unwrap();
    q.publish(message(Subject::CdrCreate, "task_long")).await.unwrap();
    let d = sub.next_batch(1, Duration::from_secs(1)).await.unwrap().pop().unwrap();
    tokio::time::sleep(ACK_WAIT * 6 / 10).await;
    d.in_progress().await.unwrap();
    tokio::time::sleep(ACK_WAIT * 6 / 10).await;
    assert!(
        sub.next_batch(1, ACK_WAIT / 5).await.unwrap().is_empty(),
        "the first deadline has passed, unused"
    );
    d.ack().await.unwrap();
    assert!(sub.next_batch(1, ACK_WAIT).await.unwrap().is_empty());
}

async fn next_batch_waits_for_the_first_message_and_no_longer_than_asked(q: Arc<dyn Queue>) {
    let mut sub = q.subscribe(Subject::SocialSend).await.unwrap();
    let started = Instant::now();
    assert!(sub.next_batch(5, Duration::from_millis(300)).await.unwrap().is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "waited {waited:?}"
    );
    let publisher = q.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        publisher
            .publish(message(Subject::SocialSend, "task_late"))
            .await
            .unwrap();
    });
    let started = Instant::now();
    let batch = sub.next_batch(5, Duration::from_secs(10)).await.unwrap();
    assert_eq!(batch.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "returned once the first message came"
    );
}

async fn subjects_are_separate_and_depth_counts_unfinished_messages(q: Arc<dyn Queue>) {
    for i in 0..3 {
        q.publish(message(Subject::SmsSend, &format!("task_sms_{i}")))
            .await
            .unwrap();
    }
    q.publish(message(Subject::EmailSend, "task_email")).await.unwrap();
    assert_eq!(q.depth(Subject::SmsSend).await.unwrap(), 3);
    assert_eq!(q.depth(Subject::EmailSend).await.unwrap(), 1);
    let mut sub = q.subscribe(Subject::SmsSend).await.unwrap();
    let batch = sub.next_batch(2, Duration::from_secs(1)).await.unwrap();
    assert_eq!(batch.len(), 2, "a batch holds at most `max`");
    assert!(batch.iter().all(|d| d.id().starts_with("task_sms_")));
    assert_eq!(
        q.depth(Subject::SmsSend).await.unwrap(),
        3,
        "delivered but unacknowledged still counts"
    );
    for d in batch {
        d.ack().await.unwrap();
    }
    assert_eq!(q.depth(Subject::SmsSend).await.unwrap(), 1);
    assert_eq!(q.depth(Subject::EmailSend).await.unwrap(), 1);
}

async fn consumers_of_one_subject_share_its_messages_between_them(q: Arc<dyn Queue>) {
    let mut a = q.subscribe(Subject::WhatsappSend).await.unwrap();
    let mut b = q.subscribe(Subject::WhatsappSend).await.unwrap();
    for i in 0..10 {
        q.publish(message(Subject::WhatsappSend, &format!("task_{i}")))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..10 {
        for sub in [&mut a, &mut b] {
            for d in sub.next_batch(3, Duration::from_millis(100)).await.unwrap() {
                seen.push(d.id().to_owned());
                d.ack().await.unwrap();
            }
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (10, 10), "{seen:?}");
}

async fn the_backend_answers_a_ping(q: Arc<dyn Queue>) {
    q.ping().await.unwrap();
}

#[tokio::test]
async fn several_processes_opening_one_stream_and_consumer_at_once_all_succeed() {
    let Some(url) = nats_url() else { return };
    let o = options();
    let opened = futures::future::join_all((0..4).map(|_| NatsQueue::connect(&url, &o))).await;
    let queues: Vec<NatsQueue> = opened.into_iter().map(|q| q.expect("every process opens")).collect();
    let subscribed = futures::future::join_all(queues.iter().map(|q| q.subscribe(Subject::SmsSend))).await;
    assert!(subscribed.iter().all(Result::is_ok));
    queues[0]
        .publish(message(Subject::SmsSend, "task_shared"))
        .await
        .unwrap();
    assert_eq!(queues[3].depth(Subject::SmsSend).await.unwrap(), 1);
    queues[0].delete_stream().await.unwrap();
}

#[tokio::test]
async fn a_closed_memory_queue_refuses_publishes_and_wakes_its_consumers() {
    let queue = MemoryQueue::default();
    let mut sub = queue.subscribe(Subject::SmsSend).await.unwrap();
    let closer = queue.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        closer.close();
    });
    assert!(matches!(
        sub.next_batch(1, Duration::from_secs(10)).await,
        Err(irisx_queue::QueueError::Closed)
    ));
    assert!(matches!(
        queue.publish(message(Subject::SmsSend, "t")).await,
        Err(irisx_queue::QueueError::Closed)
    ));
}
