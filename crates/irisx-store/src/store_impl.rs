//! The [`Store`](irisx_core::ports::store::Store) implementation, written once: each method hands its
//! arguments to the function of the same name in the backend module that invokes [`impl_store!`].

/// Implements `Store` for `$store` (a struct with a `pool` field) by delegating to the functions of the
/// invoking module: the shared ones from `shared_sql!` and the backend's own (`claim_outbox`).
macro_rules! impl_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl irisx_core::ports::store::Store for $store {
            async fn ping(&self) -> StoreResult<()> {
                ping(&self.pool).await
            }
            async fn create_tenant_with_owner(&self, t: &Tenant, owner: &User, a: &AuditEntry) -> StoreResult<()> {
                create_tenant_with_owner(&self.pool, t, owner, a).await
            }
            async fn get_tenant(&self, id: &TenantId) -> StoreResult<Tenant> {
                get_tenant(&self.pool, id).await
            }
            async fn list_tenants(&self, f: &TenantFilter, p: &PageRequest) -> StoreResult<Page<Tenant>> {
                list_tenants(&self.pool, f, p).await
            }
            async fn update_tenant(&self, id: &TenantId, patch: &TenantPatch, a: &AuditEntry) -> StoreResult<Tenant> {
                update_tenant(&self.pool, id, patch, a).await
            }
            async fn begin_tenant_deletion(&self, id: &TenantId, purge: &NewTask, a: &AuditEntry) -> StoreResult<()> {
                begin_tenant_deletion(&self.pool, id, purge, a).await
            }
            async fn purge_tenant(&self, id: &TenantId, task: &TaskId, a: &AuditEntry) -> StoreResult<bool> {
                purge_tenant(&self.pool, id, task, a).await
            }
            async fn create_user(&self, u: &User, a: Option<&AuditEntry>) -> StoreResult<()> {
                create_user(&self.pool, u, a).await
            }
            async fn get_user(&self, t: &TenantId, id: &UserId) -> StoreResult<User> {
                get_user(&self.pool, t, id).await
            }
            async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<(User, Tenant)>> {
                find_user_by_email(&self.pool, email).await
            }
            async fn list_users(&self, t: &TenantId, p: &PageRequest) -> StoreResult<Page<User>> {
                list_users(&self.pool, t, p).await
            }
            async fn list_all_users(&self, f: &UserFilter, p: &PageRequest) -> StoreResult<Page<User>> {
                list_all_users(&self.pool, f, p).await
            }
            async fn get_any_user(&self, id: &UserId) -> StoreResult<User> {
                get_any_user(&self.pool, id).await
            }
            async fn update_user(&self, t: &TenantId, id: &UserId, p: &UserPatch, a: &AuditEntry) -> StoreResult<User> {
                update_user(&self.pool, t, id, p, a).await
            }
            async fn delete_user(&self, t: &TenantId, id: &UserId, a: &AuditEntry) -> StoreResult<()> {
                delete_user(&self.pool, t, id, a).await
            }
            async fn set_user_password(
                &self,
                t: &TenantId,
                id: &UserId,
                hash: &str,
                keep: Option<&SessionId>,
                a: &AuditEntry,
            ) -> StoreResult<()> {
                set_user_password(&self.pool, t, id, hash, keep, a).await
            }
            async fn create_session(&self, s: &Session) -> StoreResult<()> {
                create_session(&self.pool, s).await
            }
            async fn get_session_context(&self, id: &SessionId) -> StoreResult<SessionContext> {
                get_session_context(&self.pool, id).await
            }
            async fn revoke_session(&self, id: &SessionId, at: OffsetDateTime) -> StoreResult<()> {
                revoke_session(&self.pool, id, at).await
            }
            async fn create_admin_user(&self, admin: &AdminUser, a: &AuditEntry) -> StoreResult<()> {
                create_admin_user(&self.pool, admin, a).await
            }
            async fn find_admin_by_email(&self, email: &str) -> StoreResult<Option<AdminUser>> {
                find_admin_by_email(&self.pool, email).await
            }
            async fn create_admin_session(&self, s: &AdminSession) -> StoreResult<()> {
                create_admin_session(&self.pool, s).await
            }
            async fn find_admin_session(&self, hash: &str) -> StoreResult<Option<(AdminSession, AdminUser)>> {
                find_admin_session(&self.pool, hash).await
            }
            async fn revoke_admin_session(&self, id: &AdminSessionId, at: OffsetDateTime) -> StoreResult<()> {
                revoke_admin_session(&self.pool, id, at).await
            }
            async fn get_admin_user(&self, id: &AdminUserId) -> StoreResult<AdminUser> {
                get_admin_user(&self.pool, id).await
            }
            async fn create_api_key(&self, k: &ApiKey, a: &AuditEntry) -> StoreResult<()> {
                create_api_key(&self.pool, k, a).await
            }
            async fn get_api_key(&self, t: &TenantId, id: &ApiKeyId) -> StoreResult<ApiKey> {
                get_api_key(&self.pool, t, id).await
            }
            async fn list_api_keys(&self, t: &TenantId, p: &PageRequest) -> StoreResult<Page<ApiKey>> {
                list_api_keys(&self.pool, t, p).await
            }
            async fn revoke_api_key(&self, t: &TenantId, id: &ApiKeyId, a: &AuditEntry) -> StoreResult<ApiKey> {
                revoke_api_key(&self.pool, t, id, a).await
            }
            async fn find_api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKeyContext>> {
                find_api_key_by_hash(&self.pool, hash).await
            }
            async fn touch_api_key(&self, id: &ApiKeyId, at: OffsetDateTime, min_secs: i64) -> StoreResult<()> {
                touch_api_key(&self.pool, id, at, min_secs).await
            }
            async fn append_audit(&self, e: &AuditEntry) -> StoreResult<()> {
                append_audit(&self.pool, e).await
            }
            async fn list_audit(&self, f: &AuditFilter, p: &PageRequest) -> StoreResult<Page<AuditEntry>> {
                list_audit(&self.pool, f, p).await
            }
            async fn claim_outbox(
                &self,
                limit: u32,
                republish_before: OffsetDateTime,
            ) -> StoreResult<Vec<irisx_core::task::OutboxEntry>> {
                claim_outbox(&self.pool, limit, republish_before).await
            }
            async fn outbox_in_flight(&self, since: OffsetDateTime) -> StoreResult<u64> {
                outbox_in_flight(&self.pool, since).await
            }
            async fn release_outbox(&self, ids: &[TaskId]) -> StoreResult<()> {
                release_outbox(&self.pool, ids).await
            }
            async fn reset_unfinished_outbox(&self, published_since: Option<OffsetDateTime>) -> StoreResult<u64> {
                reset_unfinished_outbox(&self.pool, published_since).await
            }
            async fn task_state(&self, id: &TaskId) -> StoreResult<Option<TaskState>> {
                task_state(&self.pool, id).await
            }
            async fn complete_task(&self, id: &TaskId) -> StoreResult<()> {
                complete_task(&self.pool, id).await
            }
            async fn reschedule_task(&self, id: &TaskId, at: OffsetDateTime, error: &str) -> StoreResult<()> {
                reschedule_task(&self.pool, id, at, error).await
            }
            async fn fail_task(&self, id: &TaskId, error: &str) -> StoreResult<()> {
                fail_task(&self.pool, id, error).await
            }
            async fn outbox_stats(&self) -> StoreResult<OutboxStats> {
                outbox_stats(&self.pool).await
            }
            async fn prune_outbox(&self, before: OffsetDateTime) -> StoreResult<u64> {
                prune_outbox(&self.pool, before).await
            }
            async fn get_idempotency(
                &self,
                scope: &str,
                key: &str,
                now: OffsetDateTime,
            ) -> StoreResult<Option<IdempotencyRecord>> {
                get_idempotency(&self.pool, scope, key, now).await
            }
            async fn put_idempotency(&self, r: &IdempotencyRecord) -> StoreResult<IdempotencyRecord> {
                put_idempotency(&self.pool, r).await
            }
            async fn prune_idempotency(&self, now: OffsetDateTime) -> StoreResult<u64> {
                prune_idempotency(&self.pool, now).await
            }
        }
    };
}
pub(crate) use impl_store;
