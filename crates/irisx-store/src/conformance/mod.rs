//! The store conformance suite: one set of cases every [`Store`] adapter must pass, run by this crate against
//! SQLite (a fresh temp file per case) and PostgreSQL (a fresh database per case, when
//! `IRISX_TEST_POSTGRES_URL` is set). Public behind the `conformance` feature so other crates can reuse the
//! harness ([`with_sqlite`], [`with_postgres`]) and the fixtures.

pub mod accounts;
pub mod auth;
pub mod calls;
pub mod email;
pub mod ledger;
pub mod messages;
pub mod msg_fixtures;
pub mod outbox;
pub mod records;
pub mod tenants;
pub mod users;
pub mod webhooks;

use std::future::Future;
use std::io::Write;
use std::sync::Arc;

use irisx_core::audit::{Actor, AuditEntry};
use irisx_core::domain::{
    ApiKey, ApiKeyEnvironment, GeneratedKey, Plan, Role, Scope, Session, Tenant, TenantStatus, User, UserStatus,
};
use irisx_core::id::{ApiKeyId, SessionId, TenantId, UserId};
use irisx_core::ports::messaging::MessagingStore;
use irisx_core::ports::store::Store;
use time::{Duration, OffsetDateTime};

use crate::{OpenOptions, Stores, open_all};

/// The environment variable naming a PostgreSQL server to run the suite against.
pub const POSTGRES_URL_VAR: &str = "IRISX_TEST_POSTGRES_URL";

/// One store as both ports, as [`crate::open_both`] returns it.
pub type Both = (Arc<dyn Store>, Arc<dyn MessagingStore>);

/// Runs `case` against a freshly migrated SQLite file that is deleted afterwards.
pub async fn with_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_sqlite_both(|(store, _)| case(store)).await;
}

/// Runs `case` against PostgreSQL as [`with_postgres_both`] does, with the [`Store`] port only.
pub async fn with_postgres<F, Fut>(name: &str, case: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_postgres_both(name, |(store, _)| case(store)).await;
}

/// Runs `case` with both ports of a freshly migrated SQLite file that is deleted afterwards.
pub async fn with_sqlite_both<F, Fut>(case: F)
where
    F: FnOnce(Both) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_sqlite_all(|s| case((s.store, s.messaging))).await;
}

/// Runs `case` with every port of a freshly migrated SQLite file that is deleted afterwards.
pub async fn with_sqlite_all<F, Fut>(case: F)
where
    F: FnOnce(Stores) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("a temp dir");
    let url = format!("sqlite://{}", dir.path().join("data").join("irisx.db").display());
    let stores = open_all(&url, &OpenOptions::default()).await.expect("SQLite opens");
    let outcome = tokio::spawn(case(stores)).await;
    drop(dir);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Runs `case` with both ports of a fresh PostgreSQL database, as [`with_postgres_all`] does.
pub async fn with_postgres_both<F, Fut>(name: &str, case: F)
where
    F: FnOnce(Both) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_postgres_all(name, |s| case((s.store, s.messaging))).await;
}

/// Runs `case` with every port of a fresh PostgreSQL database created, migrated and dropped around it; when
/// [`POSTGRES_URL_VAR`] is unset, prints a SKIPPED line (past the test output capture) and returns.
pub async fn with_postgres_all<F, Fut>(name: &str, case: F)
where
    F: FnOnce(Stores) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED postgres::{name}: {POSTGRES_URL_VAR} is not set"
        );
        return;
    };
    let admin = sqlx::PgPool::connect(&base)
        .await
        .expect("the PostgreSQL test server is reachable");
    let db = format!("irisx_t_{}", &TenantId::new().as_str()[4..]);
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&admin)
        .await
        .expect("create db");
    let options = OpenOptions {
        migrate: true,
        ..OpenOptions::default()
    };
    let outcome = match open_all(&database_url(&base, &db), &options).await {
        Ok(stores) => tokio::spawn(case(stores)).await.map_err(|e| e.into_panic()),
        Err(e) => Err(Box::new(format!("PostgreSQL did not open: {e:?}")) as Box<dyn std::any::Any + Send>),
    };
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db} WITH (FORCE)")))
        .execute(&admin)
        .await
        .expect("drop db");
    admin.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// `base` with its database replaced by `db`, its query string kept.
pub fn database_url(base: &str, db: &str) -> String {
    let (url, query) = base.split_once('?').map_or((base, None), |(u, q)| (u, Some(q)));
    let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    match query {
        Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
        None => format!("{scheme}://{authority}/{db}"),
    }
}

/// Now, as the store keeps it (UTC, microseconds).
pub fn now() -> OffsetDateTime {
    crate::rows::norm(OffsetDateTime::now_utc())
}

/// A new active tenant (not stored).
pub fn tenant() -> Tenant {
    let id = TenantId::new();
    Tenant {
        name: format!("Acme {}", &id.as_str()[24..]),
        id,
        plan: Plan::Free,
        status: TenantStatus::Active,
        created_at: now(),
        updated_at: now(),
    }
}

/// A new active user of `tenant` (not stored), with a unique email.
pub fn user(tenant: &TenantId, role: Role) -> User {
    let id = UserId::new();
    User {
        email: format!("{}@example.com", id.as_str()),
        id,
        tenant_id: tenant.clone(),
        name: "Ada".into(),
        role,
        status: UserStatus::Active,
        password_hash: "$argon2id$fake".into(),
        created_at: now(),
        updated_at: now(),
        last_login_at: None,
    }
}

/// An audit entry by the system about `tenant`.
pub fn audit(tenant: Option<&TenantId>, action: &str) -> AuditEntry {
    let mut e = AuditEntry::new(&Actor::system(), action);
    e.tenant_id = tenant.cloned();
    e.created_at = now();
    e
}

/// Stores a new tenant with its owner.
pub async fn seed(store: &Arc<dyn Store>) -> (Tenant, User) {
    let t = tenant();
    let owner = user(&t.id, Role::Owner);
    store
        .create_tenant_with_owner(&t, &owner, &audit(Some(&t.id), "tenant.created"))
        .await
        .expect("seed");
    (t, owner)
}

/// Stores a new user of `tenant`.
pub async fn add_user(store: &Arc<dyn Store>, tenant: &TenantId, role: Role) -> User {
    let u = user(tenant, role);
    store.create_user(&u, None).await.expect("create user");
    u
}

/// A new session of `user` (not stored), expiring in a day.
pub fn session(user: &User) -> Session {
    Session {
        id: SessionId::new(),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        token_hash: format!("hash-{}", SessionId::new()),
        created_at: now(),
        expires_at: now() + Duration::days(1),
        revoked_at: None,
        ip: Some("192.0.2.1".into()),
        user_agent: Some("tests".into()),
    }
}

/// A new live key of `tenant` (not stored).
pub fn api_key(tenant: &TenantId) -> ApiKey {
    let g = GeneratedKey::generate(ApiKeyEnvironment::Live);
    ApiKey {
        id: ApiKeyId::new(),
        tenant_id: tenant.clone(),
        name: "ci".into(),
        environment: ApiKeyEnvironment::Live,
        last_four: g.last_four,
        key_hash: g.hash,
        scopes: vec![Scope::SmsSend, Scope::UsersRead],
        created_by: None,
        created_at: now(),
        last_used_at: None,
        revoked_at: None,
    }
}
