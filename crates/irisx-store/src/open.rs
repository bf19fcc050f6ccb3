//! Choosing and opening the store from a URL, and migrating it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use irisx_core::ports::calls::CallStore;
use irisx_core::ports::email::EmailStore;
use irisx_core::ports::messaging::MessagingStore;
use irisx_core::ports::objects::ObjectIndex;
use irisx_core::ports::store::Store;

use crate::{PgStore, SqliteStore};

/// How to open the store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The largest number of pooled connections (PostgreSQL: the pool size; SQLite: concurrent readers).
    pub max_connections: u32,
    /// How long a query waits for a free connection before the store reports itself unavailable.
    pub acquire_timeout: Duration,
    /// PostgreSQL only: apply pending migrations on open (`irisx serve --migrate`). SQLite always migrates.
    pub migrate: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            migrate: false,
        }
    }
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names no supported database.
    #[error("unsupported database URL `{0}`: expected sqlite://, postgres:// or postgresql://")]
    UnsupportedUrl(String),
    /// The URL could not be parsed.
    #[error("invalid database URL `{url}`")]
    InvalidUrl {
        /// The URL, its password removed.
        url: String,
        /// The parser's error.
        #[source]
        source: sqlx::Error,
    },
    /// An in-memory SQLite URL: each pooled connection would get its own empty database.
    #[error("an in-memory SQLite database cannot back the store (each connection would see its own); use a file")]
    InMemorySqlite,
    /// The SQLite file's directory could not be created.
    #[error("cannot create the database directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The database could not be reached.
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("cannot migrate the database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The PostgreSQL schema lacks migrations this binary needs.
    #[error(
        "the database schema is behind this version of IRISX (latest applied: {applied:?}, missing: {missing:?}); \
         run `irisx migrate` or start with `irisx serve --migrate`"
    )]
    SchemaBehind {
        /// The newest applied migration version, if any.
        applied: Option<i64>,
        /// The versions this binary has and the database lacks.
        missing: Vec<i64>,
    },
}

enum Backend {
    Sqlite,
    Postgres,
}

fn backend(url: &str) -> Result<Backend, OpenError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(OpenError::UnsupportedUrl(redact(url)))
    }
}

/// Removes the password from a URL before it reaches an error message or a log.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let slash = if rest.contains('/') { "/" } else { "" };
            format!("{scheme}://{user}:***@{host}{slash}{path}")
        }
        _ => url.to_owned(),
    }
}

/// Opens the store named by `url` (`sqlite://...`, `postgres://...` or `postgresql://...`).
///
/// SQLite is created if missing and migrated; PostgreSQL is migrated only when `options.migrate` is set and
/// otherwise refused with [`OpenError::SchemaBehind`] when its schema is behind.
pub async fn open(url: &str, options: &OpenOptions) -> Result<Arc<dyn Store>, OpenError> {
    Ok(match backend(url)? {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url, options).await?),
        Backend::Postgres => Arc::new(PgStore::connect(url, options).await?),
    })
}

/// Opens the store named by `url` as [`open`] does, and returns it as both ports: one store, one pool.
pub async fn open_both(
    url: &str,
    options: &OpenOptions,
) -> Result<(Arc<dyn Store>, Arc<dyn MessagingStore>), OpenError> {
    Ok(match backend(url)? {
        Backend::Sqlite => {
            let store = Arc::new(SqliteStore::connect(url, options).await?);
            (store.clone(), store)
        }
        Backend::Postgres => {
            let store = Arc::new(PgStore::connect(url, options).await?);
            (store.clone(), store)
        }
    })
}

/// One store (one pool) as each of its ports.
pub struct Stores {
    /// Tenants, users, keys, audit, outbox.
    pub store: Arc<dyn Store>,
    /// Accounts, routes, numbers, messages.
    pub messaging: Arc<dyn MessagingStore>,
    /// Email content, tracking and suppressions.
    pub email: Arc<dyn EmailStore>,
    /// The records of stored objects.
    pub objects: Arc<dyn ObjectIndex>,
    /// Trunks, agents, calls and recordings.
    pub calls: Arc<dyn CallStore>,
}

/// Opens the store at `url` (as [`open_both`]) and returns it as every port it implements.
pub async fn open_all(url: &str, options: &OpenOptions) -> Result<Stores, OpenError> {
    Ok(match backend(url)? {
        Backend::Sqlite => {
            let s = Arc::new(SqliteStore::connect(url, options).await?);
            Stores {
                store: s.clone(),
                messaging: s.clone(),
                email: s.clone(),
                objects: s.clone(),
                calls: s,
            }
        }
        Backend::Postgres => {
            let s = Arc::new(PgStore::connect(url, options).await?);
            Stores {
                store: s.clone(),
                messaging: s.clone(),
                email: s.clone(),
                objects: s.clone(),
                calls: s,
            }
        }
    })
}

/// Applies every pending migration to the database at `url` (`irisx migrate`).
pub async fn migrate(url: &str) -> Result<(), OpenError> {
    let options = OpenOptions {
        max_connections: 1,
        migrate: true,
        ..OpenOptions::default()
    };
    match backend(url)? {
        Backend::Sqlite => SqliteStore::connect(url, &options).await.map(drop),
        Backend::Postgres => PgStore::connect(url, &options).await.map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_password_never_reaches_an_error_message() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/irisx.db"), "sqlite://data/irisx.db");
    }
}
