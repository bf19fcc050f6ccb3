//! The in-process cache: one mutex-protected map with expiry. Expired entries are dropped when touched and
//! swept every [`PURGE_EVERY`], so keys that are never read again do not accumulate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use irisx_core::ports::cache::{Cache, CacheError, Rate, RateDecision};
use tokio::time::Instant;

use crate::gcra;

/// How often the whole map is swept for expired entries.
pub const PURGE_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug)]
enum Value {
    /// A rate limiter's theoretical arrival time, in microseconds since the cache's epoch.
    Tat(i64),
    Flag,
    Counter(u64),
    Lock(String),
}

#[derive(Debug)]
struct Entry {
    value: Value,
    expires_at: Instant,
}

#[derive(Debug)]
struct State {
    entries: HashMap<String, Entry>,
    last_purge: Instant,
}

/// The in-memory [`Cache`]: limits and locks are per process.
#[derive(Debug)]
pub struct MemoryCache {
    epoch: Instant,
    state: Mutex<State>,
}

impl Default for MemoryCache {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        let now = Instant::now();
        Self {
            epoch: now,
            state: Mutex::new(State {
                entries: HashMap::new(),
                last_purge: now,
            }),
        }
    }

    /// How many entries are held, expired ones included until the next sweep (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every expired entry now.
    pub fn purge_expired(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        state.entries.retain(|_, e| e.expires_at > now);
        state.last_purge = now;
    }

    /// Runs `f` on the map with expired entries invisible, sweeping the map when a sweep is due.
    fn with<T>(&self, key: &str, f: impl FnOnce(&mut HashMap<String, Entry>, Instant) -> T) -> T {
        let now = Instant::now();
        let mut state = self.lock();
        if now.duration_since(state.last_purge) >= PURGE_EVERY {
            state.entries.retain(|_, e| e.expires_at > now);
            state.last_purge = now;
        } else if state.entries.get(key).is_some_and(|e| e.expires_at <= now) {
            state.entries.remove(key);
        }
        f(&mut state.entries, now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the map half-updated (every update is one insert or
        // remove), so a poisoned lock is safe to keep using.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_us(&self, now: Instant) -> i64 {
        i64::try_from(now.duration_since(self.epoch).as_micros()).unwrap_or(i64::MAX / 4)
    }
}

#[async_trait]
impl Cache for MemoryCache {
    async fn rate_limit(&self, key: &str, rate: Rate) -> Result<RateDecision, CacheError> {
        Ok(self.with(key, |map, now| {
            let now_us = self.now_us(now);
            let stored = match map.get(key) {
                Some(Entry {
                    value: Value::Tat(tat), ..
                }) => Some(*tat),
                _ => None,
            };
            let step = gcra::step(rate, stored, now_us);
            if let Some(new_tat) = step.new_tat {
                let expires_at = now + gcra::micros(new_tat - now_us);
                map.insert(
                    key.to_owned(),
                    Entry {
                        value: Value::Tat(new_tat),
                        expires_at,
                    },
                );
            }
            step.decision
        }))
    }

    async fn reserve(&self, key: &str, rate: Rate) -> Result<Duration, CacheError> {
        Ok(self.with(key, |map, now| {
            let now_us = self.now_us(now);
            let stored = match map.get(key) {
                Some(Entry {
                    value: Value::Tat(tat), ..
                }) => Some(*tat),
                _ => None,
            };
            let (new_tat, wait) = gcra::reserve(rate, stored, now_us);
            let expires_at = now + gcra::micros(new_tat - now_us);
            map.insert(
                key.to_owned(),
                Entry {
                    value: Value::Tat(new_tat),
                    expires_at,
                },
            );
            wait
        }))
    }

    async fn set_flag(&self, key: &str, ttl: Duration) -> Result<(), CacheError> {
        self.with(key, |map, now| {
            map.insert(
                key.to_owned(),
                Entry {
                    value: Value::Flag,
                    expires_at: now + ttl,
                },
            );
        });
        Ok(())
    }

    async fn has_flag(&self, key: &str) -> Result<bool, CacheError> {
        Ok(self.with(key, |map, _| map.contains_key(key)))
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<u64, CacheError> {
        Ok(self.with(key, |map, now| match map.get_mut(key) {
            Some(Entry {
                value: Value::Counter(n),
                ..
            }) => {
                *n += 1;
                *n
            }
            _ => {
                map.insert(
                    key.to_owned(),
                    Entry {
                        value: Value::Counter(1),
                        expires_at: now + ttl,
                    },
                );
                1
            }
        }))
    }

    async fn get_counter(&self, key: &str) -> Result<(u64, Option<Duration>), CacheError> {
        Ok(self.with(key, |map, now| match map.get(key) {
            Some(Entry {
                value: Value::Counter(n),
                expires_at,
            }) => (*n, Some(expires_at.duration_since(now))),
            _ => (0, None),
        }))
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        self.with(key, |map, _| map.remove(key));
        Ok(())
    }

    async fn try_lock(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, CacheError> {
        Ok(self.with(key, |map, now| {
            if map.contains_key(key) {
                return false;
            }
            map.insert(
                key.to_owned(),
                Entry {
                    value: Value::Lock(owner.to_owned()),
                    expires_at: now + ttl,
                },
            );
            true
        }))
    }

    async fn unlock(&self, key: &str, owner: &str) -> Result<(), CacheError> {
        self.with(key, |map, _| {
            if matches!(map.get(key), Some(Entry { value: Value::Lock(o), .. }) if o == owner) {
                map.remove(key);
            }
        });
        Ok(())
    }

    async fn ping(&self) -> Result<(), CacheError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn expired_entries_are_swept_even_when_never_read_again() {
        let cache = MemoryCache::new();
        for i in 0..100 {
            cache
                .set_flag(&format!("bl:{i}"), Duration::from_secs(1))
                .await
                .unwrap();
        }
        assert_eq!(cache.len(), 100);
        tokio::time::advance(PURGE_EVERY + Duration::from_secs(1)).await;
        cache.set_flag("bl:new", Duration::from_secs(60)).await.unwrap();
        assert_eq!(cache.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limiter_entry_expires_once_the_limiter_is_fully_reset() {
        let cache = MemoryCache::new();
        let rate = Rate {
            limit: 2,
            period: Duration::from_secs(1),
        };
        cache.rate_limit("rl:k", rate).await.unwrap();
        tokio::time::advance(Duration::from_millis(600)).await;
        cache.purge_expired();
        assert!(cache.is_empty());
        assert_eq!(cache.rate_limit("rl:k", rate).await.unwrap().remaining, 1);
    }
}
