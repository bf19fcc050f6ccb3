//! The Redis cache: every process sharing the server shares limits, flags, counters and locks.
//!
//! Every operation that reads and then writes runs as one Lua script, so it is atomic on the server. The rate
//! limiter reads the server's `TIME`, never the caller's clock, so processes with skewed clocks still agree.

use std::time::Duration;

use async_trait::async_trait;
use irisx_core::ports::cache::{Cache, CacheError, Rate, RateDecision};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

use crate::gcra;

/// GCRA, mirroring [`gcra::step`]. KEYS[1] the key; ARGV[1] period (µs); ARGV[2] interval (µs).
/// Returns `{allowed, remaining, reset_after_us, retry_after_us}`.
const RATE_LIMIT_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - period
if now < allow_at then
  return {0, 0, tat - now, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
return {1, math.floor((period - (new_tat - now)) / interval), new_tat - now, 0}
";

/// A GCRA reservation, mirroring [`gcra::reserve`]. KEYS[1] the key; ARGV[1] period (µs); ARGV[2] interval
/// (µs). Returns the wait until the reserved slot, in µs.
const RESERVE_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local period = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.max(1, math.ceil((new_tat - now) / 1000)))
return math.max(0, new_tat - period - now)
";

/// INCR, with the TTL set by the first increment only. KEYS[1] the key; ARGV[1] TTL (ms).
const INCR_LUA: &str = r"
local v = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1], 'NX')
return v
";

/// Compare-and-delete. KEYS[1] the lock; ARGV[1] the owner.
const UNLOCK_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// The Redis [`Cache`]. Cloning shares the connection.
#[derive(Clone)]
pub struct RedisCache {
    conn: ConnectionManager,
    prefix: String,
    rate_limit: Script,
    reserve: Script,
    incr: Script,
    unlock: Script,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisCache {
    /// Connects to `url` (`redis://` or `rediss://`); every key is stored as `key_prefix` + key.
    /// The connection manager reconnects by itself after a failure.
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let conn = ConnectionManager::new(client).await?;
        Ok(Self::with_connection(conn, key_prefix))
    }

    /// A cache over an existing connection.
    pub fn with_connection(conn: ConnectionManager, key_prefix: &str) -> Self {
        Self {
            conn,
            prefix: key_prefix.to_owned(),
            rate_limit: Script::new(RATE_LIMIT_LUA),
            reserve: Script::new(RESERVE_LUA),
            incr: Script::new(INCR_LUA),
            unlock: Script::new(UNLOCK_LUA),
        }
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

/// A TTL in whole milliseconds, rounded up and at least 1 (Redis refuses 0).
fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000))
        .unwrap_or(u64::MAX)
        .max(1)
}

fn unavailable(e: redis::RedisError) -> CacheError {
    // The port's error keeps only a message; the cause chain is logged here, once.
    tracing::warn!(error = %e, "redis cache operation failed");
    CacheError(e.to_string())
}

#[async_trait]
impl Cache for RedisCache {
    async fn rate_limit(&self, key: &str, rate: Rate) -> Result<RateDecision, CacheError> {
        if rate.limit == 0 {
            return Ok(gcra::refused(rate, rate.period, rate.period));
        }
        let (allowed, remaining, reset_us, retry_us): (i64, i64, i64, i64) = self
            .rate_limit
            .key(self.key(key))
            .arg(gcra::period_us(rate))
            .arg(gcra::interval_us(rate))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(RateDecision {
            allowed: allowed == 1,
            limit: rate.limit,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX).min(rate.limit),
            reset_after: gcra::micros(reset_us),
            retry_after: gcra::micros(retry_us),
        })
    }

    async fn reserve(&self, key: &str, rate: Rate) -> Result<Duration, CacheError> {
        let wait_us: i64 = self
            .reserve
            .key(self.key(key))
            .arg(gcra::period_us(rate))
            .arg(gcra::interval_us(rate))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(gcra::micros(wait_us))
    }

    async fn set_flag(&self, key: &str, ttl: Duration) -> Result<(), CacheError> {
        redis::cmd("SET")
            .arg(self.key(key))
            .arg(1)
            .arg("PX")
            .arg(ttl_ms(ttl))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    async fn has_flag(&self, key: &str) -> Result<bool, CacheError> {
        self.conn.clone().exists(self.key(key)).await.map_err(unavailable)
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, CacheError> {
        self.incr
            .key(self.key(key))
            .arg(ttl_ms(ttl))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)
    }

    async fn get_counter(&self, key: &str) -> Result<(u64, Option<Duration>), CacheError> {
        let key = self.key(key);
        let (value, pttl): (Option<u64>, i64) = redis::pipe()
            .get(&key)
            .cmd("PTTL")
            .arg(&key)
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        // PTTL is -2 when the key is absent and -1 when it has no expiry.
        let left = u64::try_from(pttl).ok().map(Duration::from_millis);
        Ok((value.unwrap_or(0), value.and(left)))
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.conn.clone().del::<_, ()>(self.key(key)).await.map_err(unavailable)
    }

    async fn try_lock(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, CacheError> {
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key(key))
            .arg(owner)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms(ttl))
            .query_async(&mut self.conn.clone())
            .await
            .map_err(unavailable)?;
        Ok(set.is_some())
    }

    async fn unlock(&self, key: &str, owner: &str) -> Result<(), CacheError> {
        self.unlock
            .key(self.key(key))
            .arg(owner)
            .invoke_async::<i64>(&mut self.conn.clone())
            .await
            .map(drop)
            .map_err(unavailable)
    }

    async fn ping(&self) -> Result<(), CacheError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(drop)
            .map_err(unavailable)
    }
}
