//! One suite of cache behaviours, run against every backend: always in memory, and against Redis when
//! `IRISX_TEST_REDIS_URL` is set. Each Redis test uses its own key prefix and deletes its keys at the end.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use irisx_cache::{Cache, MemoryCache, Rate, RedisCache};

/// A cache under test and a second handle onto the same data: another connection, as another process has.
struct Fixture {
    cache: Arc<dyn Cache>,
    peer: Arc<dyn Cache>,
}

fn memory() -> Fixture {
    let cache: Arc<dyn Cache> = Arc::new(MemoryCache::new());
    Fixture {
        peer: cache.clone(),
        cache,
    }
}

/// Runs `behaviour` against Redis with a fresh prefix, or says plainly that it was skipped.
async fn on_redis<F, Fut>(behaviour: F)
where
    F: FnOnce(Fixture) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let Ok(url) = std::env::var("IRISX_TEST_REDIS_URL") else {
        // Written to the raw stderr handle so the line shows even though the harness captures `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: IRISX_TEST_REDIS_URL not set (redis backend not tested)"
        );
        return;
    };
    let prefix = format!("irisx-test:{}:", uuid::Uuid::now_v7());
    let a = RedisCache::connect(&url, &prefix)
        .await
        .expect("IRISX_TEST_REDIS_URL is set but redis is unreachable");
    let b = RedisCache::connect(&url, &prefix).await.expect("second connection");
    let fixture = Fixture {
        cache: Arc::new(a),
        peer: Arc::new(b),
    };
    // Run in a task so a failing behaviour still deletes its keys before the panic is passed on.
    let outcome = tokio::spawn(behaviour(fixture)).await;
    delete_prefix(&url, &prefix).await;
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn delete_prefix(url: &str, prefix: &str) {
    let client = ::redis::Client::open(url).expect("url");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connect");
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .expect("keys");
    if !keys.is_empty() {
        ::redis::cmd("DEL")
            .arg(keys)
            .query_async::<()>(&mut conn)
            .await
            .expect("del");
    }
}

/// Declares each behaviour as a test per backend: `memory::<behaviour>` and `redis::<behaviour>`.
macro_rules! on_every_backend {
    ($($behaviour:ident),* $(,)?) => {
        mod memory { $(#[tokio::test] async fn $behaviour() { super::$behaviour(super::memory()).await })* }
        mod redis { $(#[tokio::test] async fn $behaviour() { super::on_redis(super::$behaviour).await })* }
    };
}

on_every_backend!(
    a_limit_of_n_allows_exactly_n_then_refuses_with_a_retry_after,
    a_refused_client_is_allowed_again_after_its_retry_after,
    two_processes_share_one_limit,
    concurrent_requests_never_exceed_the_limit,
    separate_keys_have_separate_limits,
    reservations_from_two_processes_take_distinct_consecutive_slots,
    a_flag_is_set_until_its_ttl_passes_or_it_is_deleted,
    a_counter_counts_and_expires_ttl_after_its_first_increment,
    a_lock_is_exclusive_until_its_owner_unlocks_it,
    a_lock_frees_itself_after_its_ttl,
    the_backend_answers_a_ping,
);

fn rate(limit: u32, period: Duration) -> Rate {
    Rate { limit, period }
}

async fn a_limit_of_n_allows_exactly_n_then_refuses_with_a_retry_after(f: Fixture) {
    let r = rate(5, Duration::from_secs(10));
    for expected_remaining in (0..5).rev() {
        let d = f.cache.rate_limit("rl:exact", r).await.unwrap();
        assert!(d.allowed, "{d:?}");
        assert_eq!(
            (d.limit, d.remaining, d.retry_after),
            (5, expected_remaining, Duration::ZERO),
            "{d:?}"
        );
        assert!(
            d.reset_after <= Duration::from_secs(10) && d.reset_after > Duration::ZERO,
            "{d:?}"
        );
    }
    let d = f.cache.rate_limit("rl:exact", r).await.unwrap();
    assert!(!d.allowed, "{d:?}");
    assert_eq!((d.limit, d.remaining), (5, 0));
    assert!(
        d.retry_after > Duration::ZERO && d.retry_after <= Duration::from_secs(2),
        "{d:?}"
    );
    assert!(
        d.reset_after > Duration::from_secs(9) && d.reset_after <= Duration::from_secs(10),
        "{d:?}"
    );
}

async fn a_refused_client_is_allowed_again_after_its_retry_after(f: Fixture) {
    let r = rate(2, Duration::from_millis(400));
    assert!(f.cache.rate_limit("rl:refill", r).await.unwrap().allowed);
    assert!(f.cache.rate_limit("rl:refill", r).await.unwrap().allowed);
    let refused = f.cache.rate_limit("rl:refill", r).await.unwrap();
    assert!(!refused.allowed);
    tokio::time::sleep(refused.retry_after + Duration::from_millis(20)).await;
    let d = f.cache.rate_limit("rl:refill", r).await.unwrap();
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.remaining, 0);
}

async fn two_processes_share_one_limit(f: Fixture) {
    let r = rate(4, Duration::from_secs(10));
    for i in 0..4 {
        let who = if i % 2 == 0 { &f.cache } else { &f.peer };
        assert!(who.rate_limit("rl:shared", r).await.unwrap().allowed, "request {i}");
    }
    assert!(!f.cache.rate_limit("rl:shared", r).await.unwrap().allowed);
    assert!(!f.peer.rate_limit("rl:shared", r).await.unwrap().allowed);
}

async fn concurrent_requests_never_exceed_the_limit(f: Fixture) {
    let r = rate(10, Duration::from_secs(30));
    let calls = (0..25).map(|i| {
        let c = if i % 2 == 0 { f.cache.clone() } else { f.peer.clone() };
        tokio::spawn(async move { c.rate_limit("rl:race", r).await.unwrap().allowed })
    });
    let mut allowed = 0;
    for call in calls.collect::<Vec<_>>() {
        allowed += usize::from(call.await.unwrap());
    }
    assert_eq!(allowed, 10);
}

async fn separate_keys_have_separate_limits(f: Fixture) {
    let r = rate(1, Duration::from_secs(10));
    assert!(f.cache.rate_limit("rl:key-a", r).await.unwrap().allowed);
    assert!(f.cache.rate_limit("rl:key-b", r).await.unwrap().allowed);
    assert!(!f.cache.rate_limit("rl:key-a", r).await.unwrap().allowed);
}

async fn reservations_from_two_processes_take_distinct_consecutive_slots(f: Fixture) {
    let r = rate(10, Duration::from_secs(1));
    let calls = (0..30).map(|i| {
        let c = if i % 2 == 0 { f.cache.clone() } else { f.peer.clone() };
        tokio::spawn(async move { c.reserve("pace:slots", r).await.unwrap() })
    });
    let mut waits = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        waits.push(call.await.unwrap());
    }
    waits.sort();
    // Ten slots are free now; the other twenty are 100 ms apart over the next two seconds.
    assert!(waits[..10].iter().all(|w| *w < Duration::from_millis(100)), "{waits:?}");
    for (i, w) in waits[10..].iter().enumerate() {
        let expected = Duration::from_millis(100 * (i as u64 + 1));
        let drift = w.abs_diff(expected);
        assert!(
            drift < Duration::from_millis(60),
            "slot {i}: {w:?} vs {expected:?} in {waits:?}"
        );
    }
}

async fn a_flag_is_set_until_its_ttl_passes_or_it_is_deleted(f: Fixture) {
    assert!(!f.cache.has_flag("bl:tok").await.unwrap());
    f.cache.set_flag("bl:tok", Duration::from_millis(150)).await.unwrap();
    f.cache.set_flag("bl:kept", Duration::from_secs(10)).await.unwrap();
    assert!(f.peer.has_flag("bl:tok").await.unwrap());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!f.cache.has_flag("bl:tok").await.unwrap());
    assert!(f.cache.has_flag("bl:kept").await.unwrap());
    f.cache.delete("bl:kept").await.unwrap();
    assert!(!f.peer.has_flag("bl:kept").await.unwrap());
}

async fn a_counter_counts_and_expires_ttl_after_its_first_increment(f: Fixture) {
    assert_eq!(f.cache.get_counter("lf:n").await.unwrap(), (0, None));
    assert_eq!(f.cache.incr("lf:n", Duration::from_millis(400)).await.unwrap(), 1);
    assert_eq!(f.peer.incr("lf:n", Duration::from_secs(60)).await.unwrap(), 2);
    assert_eq!(f.cache.incr("lf:n", Duration::from_secs(60)).await.unwrap(), 3);
    let (value, left) = f.cache.get_counter("lf:n").await.unwrap();
    assert_eq!(value, 3);
    let left = left.expect("a ttl");
    assert!(
        left <= Duration::from_millis(400) && left > Duration::ZERO,
        "later increments kept the first ttl: {left:?}"
    );
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(f.cache.get_counter("lf:n").await.unwrap(), (0, None));
    assert_eq!(f.cache.incr("lf:n", Duration::from_secs(60)).await.unwrap(), 1);
    f.cache.delete("lf:n").await.unwrap();
    assert_eq!(f.cache.get_counter("lf:n").await.unwrap(), (0, None));
}

async fn a_lock_is_exclusive_until_its_owner_unlocks_it(f: Fixture) {
    let ttl = Duration::from_secs(10);
    assert!(f.cache.try_lock("lock:job", "alice", ttl).await.unwrap());
    assert!(!f.peer.try_lock("lock:job", "bob", ttl).await.unwrap());
    assert!(
        !f.cache.try_lock("lock:job", "alice", ttl).await.unwrap(),
        "a lock is not re-entrant"
    );
    f.peer.unlock("lock:job", "bob").await.unwrap();
    assert!(
        !f.peer.try_lock("lock:job", "bob", ttl).await.unwrap(),
        "only the owner may unlock"
    );
    f.cache.unlock("lock:job", "alice").await.unwrap();
    assert!(f.peer.try_lock("lock:job", "bob", ttl).await.unwrap());
}

async fn a_lock_frees_itself_after_its_ttl(f: Fixture) {
    assert!(
        f.cache
            .try_lock("lock:short", "alice", Duration::from_millis(150))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        f.peer
            .try_lock("lock:short", "bob", Duration::from_secs(10))
            .await
            .unwrap()
    );
    f.cache.unlock("lock:short", "alice").await.unwrap();
    assert!(
        !f.cache
            .try_lock("lock:short", "alice", Duration::from_secs(10))
            .await
            .unwrap(),
        "bob still holds it"
    );
}

async fn the_backend_answers_a_ping(f: Fixture) {
    f.cache.ping().await.unwrap();
    f.peer.ping().await.unwrap();
}
