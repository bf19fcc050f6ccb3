//! The store port: the system of record (SQLite embedded, PostgreSQL scaled out).
//!
//! Rules every adapter keeps, checked by the conformance suite in `irisx-store`:
//! - every tenant-owned read or write takes the tenant first and never touches another tenant's rows;
//!   a row of another tenant is reported as [`StoreError::NotFound`];
//! - a method that takes an [`AuditEntry`] or a [`NewTask`] writes it in the same transaction as its change;
//! - lists are newest first, `limit + 1` rows fetched to tell whether a next page exists (see [`Page`]);
//! - emails are compared lower-cased; a duplicate is [`StoreError::Conflict`].

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditEntry, AuditFilter};
use crate::domain::{AdminSession, AdminUser, ApiKey, Plan, Role, Session, Tenant, TenantStatus, User, UserStatus};
use crate::id::{AdminSessionId, AdminUserId, ApiKeyId, SessionId, TaskId, TenantId, UserId};
use crate::page::{Page, PageRequest};
use crate::task::{NewTask, OutboxEntry, OutboxStats, TaskState};

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such row for this tenant.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A unique constraint refused the write.
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Any other database error.
    #[error("database error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Changes to a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantPatch {
    /// New name.
    pub name: Option<String>,
    /// New plan.
    pub plan: Option<Plan>,
    /// New status (active or suspended; `deleting` goes through [`Store::begin_tenant_deletion`]).
    pub status: Option<TenantStatus>,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New status.
    pub status: Option<UserStatus>,
}

/// Which tenants to list.
#[derive(Debug, Clone, Default)]
pub struct TenantFilter {
    /// Only tenants with this status.
    pub status: Option<TenantStatus>,
    /// Only tenants whose name contains this text (case-insensitive).
    pub name_contains: Option<String>,
}

/// Which users to list across tenants (platform staff only).
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Only this tenant's users.
    pub tenant_id: Option<TenantId>,
    /// Only users whose email contains this text.
    pub email_contains: Option<String>,
}

/// Everything the per-request authentication of a session token needs, read in one query.
#[derive(Debug, Clone)]
pub struct SessionContext {
    /// The session.
    pub session: Session,
    /// Its user as it is now (role changes apply at once).
    pub user: User,
    /// Its tenant as it is now (a suspension applies at once).
    pub tenant: Tenant,
}

/// Everything the per-request authentication of an API key needs, read in one query.
#[derive(Debug, Clone)]
pub struct ApiKeyContext {
    /// The key.
    pub key: ApiKey,
    /// Its tenant as it is now.
    pub tenant: Tenant,
}

/// A stored idempotent response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Whose key: a tenant id, or `admin:<admin id>` for staff.
    pub scope: String,
    /// The client's `Idempotency-Key`.
    pub key: String,
    /// SHA-256 (hex) of method, path and body of the first request.
    pub request_hash: String,
    /// The first response's status code.
    pub status_code: u16,
    /// The first response's body.
    pub response_body: String,
    /// When it was stored.
    pub created_at: OffsetDateTime,
    /// When it may be forgotten.
    pub expires_at: OffsetDateTime,
}

/// The store port.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A trivial query, for `/ready`.
    async fn ping(&self) -> StoreResult<()>;

    // ---- tenants ----

    /// Creates a tenant and its first owner together.
    async fn create_tenant_with_owner(&self, tenant: &Tenant, owner: &User, audit: &AuditEntry) -> StoreResult<()>;
    /// A tenant by id.
    async fn get_tenant(&self, id: &TenantId) -> StoreResult<Tenant>;
    /// Tenants, newest first.
    async fn list_tenants(&self, filter: &TenantFilter, page: &PageRequest) -> StoreResult<Page<Tenant>>;
    /// Changes a tenant and returns it as it now is.
    async fn update_tenant(&self, id: &TenantId, patch: &TenantPatch, audit: &AuditEntry) -> StoreResult<Tenant>;
    /// Marks a tenant `deleting` and queues its purge, in one transaction.
    async fn begin_tenant_deletion(&self, id: &TenantId, purge: &NewTask, audit: &AuditEntry) -> StoreResult<()>;
    /// Deletes every row of a `deleting` tenant and completes `task` in the same transaction. Returns whether
    /// anything was purged (false when the task was already completed or the tenant is gone).
    async fn purge_tenant(&self, id: &TenantId, task: &TaskId, audit: &AuditEntry) -> StoreResult<bool>;

    // ---- users ----

    /// Creates a user in an existing tenant.
    async fn create_user(&self, user: &User, audit: Option<&AuditEntry>) -> StoreResult<()>;
    /// A tenant's user.
    async fn get_user(&self, tenant: &TenantId, id: &UserId) -> StoreResult<User>;
    /// A user by (lower-cased) email, with its tenant, across tenants: for login only.
    async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<(User, Tenant)>>;
    /// A tenant's users, newest first.
    async fn list_users(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<User>>;
    /// Users across tenants, newest first (platform staff only).
    async fn list_all_users(&self, filter: &UserFilter, page: &PageRequest) -> StoreResult<Page<User>>;
    /// Any user by id (platform staff only).
    async fn get_any_user(&self, id: &UserId) -> StoreResult<User>;
    /// Changes a tenant's user. Refuses with [`StoreError::Conflict`] a change that would leave the tenant
    /// without an active owner.
    async fn update_user(
        &self,
        tenant: &TenantId,
        id: &UserId,
        patch: &UserPatch,
        audit: &AuditEntry,
    ) -> StoreResult<User>;
    /// Deletes a tenant's user and its sessions. Refuses to delete the last active owner.
    async fn delete_user(&self, tenant: &TenantId, id: &UserId, audit: &AuditEntry) -> StoreResult<()>;
    /// Sets a user's password hash and revokes all its sessions except `keep`.
    async fn set_user_password(
        &self,
        tenant: &TenantId,
        id: &UserId,
        password_hash: &str,
        keep: Option<&SessionId>,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    // ---- sessions ----

    /// Stores a new session and sets the user's last login time.
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// The session with its user and tenant, whether or not revoked or expired (the caller decides).
    async fn get_session_context(&self, id: &SessionId) -> StoreResult<SessionContext>;
    /// Revokes a session (idempotent).
    async fn revoke_session(&self, id: &SessionId, at: OffsetDateTime) -> StoreResult<()>;

    // ---- platform staff ----

    /// Creates a staff member (email unique).
    async fn create_admin_user(&self, admin: &AdminUser, audit: &AuditEntry) -> StoreResult<()>;
    /// A staff member by (lower-cased) email.
    async fn find_admin_by_email(&self, email: &str) -> StoreResult<Option<AdminUser>>;
    /// Stores a staff session and sets the staff member's last login time.
    async fn create_admin_session(&self, session: &AdminSession) -> StoreResult<()>;
    /// A staff session by the SHA-256 of its token, with its staff member.
    async fn find_admin_session(&self, token_hash: &str) -> StoreResult<Option<(AdminSession, AdminUser)>>;
    /// Revokes a staff session (idempotent).
    async fn revoke_admin_session(&self, id: &AdminSessionId, at: OffsetDateTime) -> StoreResult<()>;
    /// A staff member by id.
    async fn get_admin_user(&self, id: &AdminUserId) -> StoreResult<AdminUser>;

    // ---- API keys ----

    /// Stores a new key.
    async fn create_api_key(&self, key: &ApiKey, audit: &AuditEntry) -> StoreResult<()>;
    /// A tenant's key.
    async fn get_api_key(&self, tenant: &TenantId, id: &ApiKeyId) -> StoreResult<ApiKey>;
    /// A tenant's keys, newest first, revoked ones included.
    async fn list_api_keys(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<ApiKey>>;
    /// Revokes a tenant's key (idempotent: revoking twice keeps the first time).
    async fn revoke_api_key(&self, tenant: &TenantId, id: &ApiKeyId, audit: &AuditEntry) -> StoreResult<ApiKey>;
    /// A key by the SHA-256 of its text, with its tenant, revoked or not (the caller decides).
    async fn find_api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKeyContext>>;
    /// Sets a key's last-used time when the stored one is older than `at - min_interval_secs`.
    async fn touch_api_key(&self, id: &ApiKeyId, at: OffsetDateTime, min_interval_secs: i64) -> StoreResult<()>;

    // ---- audit ----

    /// Appends an entry on its own (for events with no other change, e.g. a failed login).
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Entries, newest first.
    async fn list_audit(&self, filter: &AuditFilter, page: &PageRequest) -> StoreResult<Page<AuditEntry>>;

    // ---- outbox ----

    /// Claims up to `limit` due rows for publishing: rows published before `republish_before` and still
    /// pending (their queue message may be lost) first, then rows never published whose `available_at` has
    /// come, taken round-robin across lanes (`NewTask::lane`: subject and tenant) so no tenant's backlog
    /// holds up another's, and returned in that order. Marks them published now and counts the attempt.
    /// Concurrent relays never claim the same row.
    async fn claim_outbox(&self, limit: u32, republish_before: OffsetDateTime) -> StoreResult<Vec<OutboxEntry>>;
    /// How many rows were published since `since` and are still pending (the relay's backpressure).
    async fn outbox_in_flight(&self, since: OffsetDateTime) -> StoreResult<u64>;
    /// Puts claimed rows back as unpublished (the publish failed).
    async fn release_outbox(&self, ids: &[TaskId]) -> StoreResult<()>;
    /// Marks pending published rows unpublished so the relay publishes them again: all of them at start-up
    /// with a queue that does not survive restarts (`published_since: None`), or those published since the
    /// given time with a durable queue, whose de-duplication window makes the repeat harmless while it
    /// recovers a publish that a crash cut off.
    async fn reset_unfinished_outbox(&self, published_since: Option<OffsetDateTime>) -> StoreResult<u64>;
    /// Where a task stands; `None` when no such task exists.
    async fn task_state(&self, id: &TaskId) -> StoreResult<Option<TaskState>>;
    /// Marks a task completed (idempotent). Handlers whose effect is in the database complete the task in the
    /// effect's own transaction instead.
    async fn complete_task(&self, id: &TaskId) -> StoreResult<()>;
    /// Schedules a pending task again at `at` (unpublished until then), recording why.
    async fn reschedule_task(&self, id: &TaskId, at: OffsetDateTime, error: &str) -> StoreResult<()>;
    /// Marks a task failed for good, recording why.
    async fn fail_task(&self, id: &TaskId, error: &str) -> StoreResult<()>;
    /// Figures for `/metrics`.
    async fn outbox_stats(&self) -> StoreResult<OutboxStats>;
    /// Deletes completed and failed rows finished before `before`; returns how many.
    async fn prune_outbox(&self, before: OffsetDateTime) -> StoreResult<u64>;

    // ---- idempotency ----

    /// The stored response for `(scope, key)`, if any and not expired.
    async fn get_idempotency(
        &self,
        scope: &str,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<IdempotencyRecord>>;
    /// Stores a response; when one is already stored for `(scope, key)` it is kept and returned instead.
    async fn put_idempotency(&self, record: &IdempotencyRecord) -> StoreResult<IdempotencyRecord>;
    /// Deletes expired records; returns how many.
    async fn prune_idempotency(&self, now: OffsetDateTime) -> StoreResult<u64>;
}
