//! The cache port: rate limits, the token blacklist, counters and short locks (in memory embedded, Redis
//! scaled out). Everything here may be lost without harm beyond a reset limit; nothing here is a ledger.

use std::time::Duration;

use async_trait::async_trait;

/// A cache failure.
#[derive(Debug, thiserror::Error)]
#[error("the cache is unavailable: {0}")]
pub struct CacheError(pub String);

/// A rate: `limit` requests per `period`, with bursts up to `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per period.
    pub limit: u32,
    /// The period.
    pub period: Duration,
}

/// The answer of a rate limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether this request may go on.
    pub allowed: bool,
    /// The limit per period.
    pub limit: u32,
    /// Requests still allowed right now.
    pub remaining: u32,
    /// Time until the limiter is fully reset.
    pub reset_after: Duration,
    /// When refused, time until one request is allowed again.
    pub retry_after: Duration,
}

/// The cache port. Keys are namespaced by the caller (`rl:`, `bl:`, `lf:`, `lock:`).
#[async_trait]
pub trait Cache: Send + Sync + 'static {
    /// Counts one request against `key` with the generic cell rate algorithm and says whether it may go on.
    /// Every process sharing the backend shares the limit.
    async fn rate_limit(&self, key: &str, rate: Rate) -> Result<RateDecision, CacheError>;
    /// Takes the next free slot of `rate` on `key`, even one in the future, and returns how long until it
    /// comes (zero when it is free now). Unlike [`Cache::rate_limit`] it never refuses: callers that must
    /// keep a pace (SMS senders) wait for their slot instead of asking again and again.
    async fn reserve(&self, key: &str, rate: Rate) -> Result<Duration, CacheError>;
    /// Sets a flag that disappears after `ttl`.
    async fn set_flag(&self, key: &str, ttl: Duration) -> Result<(), CacheError>;
    /// Whether a flag is set.
    async fn has_flag(&self, key: &str) -> Result<bool, CacheError>;
    /// Adds one to a counter and returns the new value; the counter disappears `ttl` after its first increment.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, CacheError>;
    /// A counter's value (0 when absent) and the time it has left.
    async fn get_counter(&self, key: &str) -> Result<(u64, Option<Duration>), CacheError>;
    /// Deletes a flag or counter.
    async fn delete(&self, key: &str) -> Result<(), CacheError>;
    /// Takes a lock held by `owner` for at most `ttl`; false when another owner holds it.
    async fn try_lock(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, CacheError>;
    /// Releases a lock if `owner` still holds it.
    async fn unlock(&self, key: &str, owner: &str) -> Result<(), CacheError>;
    /// A cheap round trip, for `/ready`.
    async fn ping(&self) -> Result<(), CacheError>;
}
