//! IRISX cache port adapters: [`MemoryCache`] for the embedded shape and [`RedisCache`] when scaled out.
//!
//! The backend is chosen once at start-up with [`open`]; the rest of the code holds an `Arc<dyn Cache>`.
//! Both backends use the same GCRA maths (see `gcra`), so a limit behaves the same on either.

mod gcra;
mod memory;
mod redis;

use std::sync::Arc;

pub use irisx_core::ports::cache::{Cache, CacheError, Rate, RateDecision};

pub use crate::memory::{MemoryCache, PURGE_EVERY};
pub use crate::redis::RedisCache;

/// Why [`open`] could not build a cache.
#[derive(Debug, thiserror::Error)]
pub enum CacheOpenError {
    /// The URL names no known backend.
    #[error("unsupported cache URL {0:?}: expected `memory`, `redis://...` or `rediss://...`")]
    UnsupportedUrl(String),
    /// Redis refused the URL or could not be reached.
    #[error("cannot connect to redis")]
    Redis(#[source] ::redis::RedisError),
}

/// Opens the cache named by `url`: `memory` (or `memory://`), `redis://...` or `rediss://...`.
/// With Redis, every key is stored under `key_prefix` (e.g. `irisx:`), so several deployments or tests can
/// share one server; the memory backend ignores it.
pub async fn open(url: &str, key_prefix: &str) -> Result<Arc<dyn Cache>, CacheOpenError> {
    if url == "memory" || url == "memory://" {
        return Ok(Arc::new(MemoryCache::new()));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        let cache = RedisCache::connect(url, key_prefix)
            .await
            .map_err(CacheOpenError::Redis)?;
        return Ok(Arc::new(cache));
    }
    Err(CacheOpenError::UnsupportedUrl(redact(url)))
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
        let err = open("memcached://user:secret@host", "p:").await.err().expect("refused");
        assert!(
            matches!(err, CacheOpenError::UnsupportedUrl(ref u) if !u.contains("secret")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn memory_opens_without_any_server() {
        open("memory", "").await.expect("memory").ping().await.expect("ping");
    }
}
