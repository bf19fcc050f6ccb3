//! Tests of opening and migrating: URL choice, SQLite file creation, the PostgreSQL schema check.

use std::io::Write;

use crate::conformance::{POSTGRES_URL_VAR, database_url};
use crate::{OpenError, OpenOptions, migrate, open};

#[tokio::test]
async fn an_unknown_url_scheme_is_refused_with_the_supported_ones_named() {
    let err = open("mysql://u:pw@h/db", &OpenOptions::default())
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, OpenError::UnsupportedUrl(_)));
    let msg = err.to_string();
    assert!(msg.contains("sqlite://") && !msg.contains("pw"), "{msg}");
}

#[tokio::test]
async fn an_in_memory_sqlite_url_is_refused() {
    let err = open("sqlite::memory:", &OpenOptions::default())
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, OpenError::InMemorySqlite), "{err:?}");
}

#[tokio::test]
async fn sqlite_creates_its_file_and_directories_and_keeps_data_across_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a/b/irisx.db").display());
    let store = open(&url, &OpenOptions::default()).await.unwrap();
    let (t, _) = crate::conformance::seed(&store).await;
    drop(store);
    migrate(&url).await.unwrap();
    let store = open(&url, &OpenOptions::default()).await.unwrap();
    assert_eq!(store.get_tenant(&t.id).await.unwrap(), t);
}

#[tokio::test]
async fn postgres_behind_its_schema_is_refused_until_migrated() {
    let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED postgres schema check: {POSTGRES_URL_VAR} is not set"
        );
        return;
    };
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    let db = format!("irisx_t_{}", &irisx_core::id::TenantId::new().as_str()[4..]);
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .unwrap();
    let url = database_url(&base, &db);
    let behind = open(&url, &OpenOptions::default()).await.err();
    let migrated = migrate(&url).await;
    let reopened = open(&url, &OpenOptions::default()).await.map(drop);
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)")))
        .execute(&admin)
        .await
        .unwrap();
    let behind = behind.expect("a fresh database is behind");
    assert!(
        matches!(behind, OpenError::SchemaBehind { applied: None, .. }),
        "{behind:?}"
    );
    assert!(behind.to_string().contains("irisx migrate"), "{behind}");
    migrated.unwrap();
    reopened.unwrap();
}

#[tokio::test]
async fn an_unreachable_postgres_fails_to_open_with_its_cause_kept() {
    let options = OpenOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..OpenOptions::default()
    };
    let err = open("postgres://postgres@127.0.0.1:1/postgres", &options)
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, OpenError::Connect(_)), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
}
