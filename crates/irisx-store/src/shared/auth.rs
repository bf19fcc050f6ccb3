//! Sessions, platform staff and API keys.

/// Expands the session, staff and API key functions (see the [module docs](super)).
macro_rules! auth_sql {
    () => {
        /// Stores a new session and sets the user's last login time.
        pub(crate) async fn create_session(pool: &Pool<Db>, s: &Session) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let done = sqlx::query("UPDATE users SET last_login_at = $3 WHERE tenant_id = $1 AND id = $2")
                .bind(s.tenant_id.as_str())
                .bind(s.user_id.as_str())
                .bind(ts(s.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("user"));
            }
            sqlx::query(
                "INSERT INTO sessions (id, tenant_id, user_id, token_hash, created_at, expires_at, revoked_at, ip, \
                 user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(s.id.as_str())
            .bind(s.tenant_id.as_str())
            .bind(s.user_id.as_str())
            .bind(s.token_hash.as_str())
            .bind(ts(s.created_at))
            .bind(ts(s.expires_at))
            .bind(s.revoked_at.map(ts))
            .bind(s.ip.as_deref())
            .bind(s.user_agent.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            tx.commit().await.map_err(db_err)
        }

        /// The session with its user and tenant.
        pub(crate) async fn get_session_context(pool: &Pool<Db>, id: &SessionId) -> StoreResult<SessionContext> {
            let row = sqlx::query(concat!(
                "SELECT s.*, ",
                $crate::shared::user_cols!(),
                ", ",
                $crate::shared::tenant_cols!(),
                " FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id \
                 WHERE s.id = $1"
            ))
            .bind(id.as_str())
            .fetch_optional(pool)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("session"))?;
            let ctx = (|| {
                Ok::<_, sqlx::Error>(SessionContext {
                    session: rows::session(&row, "")?,
                    user: rows::user(&row, "u_")?,
                    tenant: rows::tenant(&row, "t_")?,
                })
            })();
            ctx.map_err(db_err)
        }

        /// Revokes a session; revoking twice keeps the first time.
        pub(crate) async fn revoke_session(pool: &Pool<Db>, id: &SessionId, at: OffsetDateTime) -> StoreResult<()> {
            let done = sqlx::query("UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
                .bind(id.as_str())
                .bind(ts(at))
                .execute(pool)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("session"));
            }
            Ok(())
        }

        /// Creates a staff member.
        pub(crate) async fn create_admin_user(pool: &Pool<Db>, a: &AdminUser, audit: &AuditEntry) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            sqlx::query(
                "INSERT INTO admin_users (id, email, name, role, status, password_hash, created_at, last_login_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(a.id.as_str())
            .bind(a.email.to_lowercase())
            .bind(a.name.as_str())
            .bind(a.role.as_str())
            .bind(a.status.as_str())
            .bind(a.password_hash.as_str())
            .bind(ts(a.created_at))
            .bind(a.last_login_at.map(ts))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// A staff member by (lower-cased) email.
        pub(crate) async fn find_admin_by_email(pool: &Pool<Db>, email: &str) -> StoreResult<Option<AdminUser>> {
            let row = sqlx::query("SELECT * FROM admin_users WHERE lower(email) = $1")
                .bind(email.to_lowercase())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
            row.map(|r| rows::admin_user(&r, "")).transpose().map_err(db_err)
        }

        /// A staff member by id.
        pub(crate) async fn get_admin_user(pool: &Pool<Db>, id: &AdminUserId) -> StoreResult<AdminUser> {
            let row = sqlx::query("SELECT * FROM admin_users WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("admin user"))?;
            rows::admin_user(&row, "").map_err(db_err)
        }

        /// Stores a staff session and sets the staff member's last login time.
        pub(crate) async fn create_admin_session(pool: &Pool<Db>, s: &AdminSession) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let done = sqlx::query("UPDATE admin_users SET last_login_at = $2 WHERE id = $1")
                .bind(s.admin_id.as_str())
                .bind(ts(s.created_at))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("admin user"));
            }
            sqlx::query(
                "INSERT INTO admin_sessions (id, admin_id, token_hash, created_at, expires_at, revoked_at, ip, \
                 user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(s.id.as_str())
            .bind(s.admin_id.as_str())
            .bind(s.token_hash.as_str())
            .bind(ts(s.created_at))
            .bind(ts(s.expires_at))
            .bind(s.revoked_at.map(ts))
            .bind(s.ip.as_deref())
            .bind(s.user_agent.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            tx.commit().await.map_err(db_err)
        }

        /// A staff session by the SHA-256 of its token, with its staff member.
        pub(crate) async fn find_admin_session(
            pool: &Pool<Db>,
            token_hash: &str,
        ) -> StoreResult<Option<(AdminSession, AdminUser)>> {
            let row = sqlx::query(concat!(
                "SELECT s.*, ",
                $crate::shared::admin_cols!(),
                " FROM admin_sessions s JOIN admin_users m ON m.id = s.admin_id WHERE s.token_hash = $1"
            ))
            .bind(token_hash)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
            row.map(|r| Ok((rows::admin_session(&r, "")?, rows::admin_user(&r, "m_")?))).transpose().map_err(db_err)
        }

        /// Revokes a staff session; revoking twice keeps the first time.
        pub(crate) async fn revoke_admin_session(
            pool: &Pool<Db>,
            id: &AdminSessionId,
            at: OffsetDateTime,
        ) -> StoreResult<()> {
            let done = sqlx::query("UPDATE admin_sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
                .bind(id.as_str())
                .bind(ts(at))
                .execute(pool)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("admin session"));
            }
            Ok(())
        }

        /// Stores a new API key.
        pub(crate) async fn create_api_key(pool: &Pool<Db>, k: &ApiKey, audit: &AuditEntry) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            lock_tenant(&mut tx, &k.tenant_id).await?;
            sqlx::query(
                "INSERT INTO api_keys (id, tenant_id, name, environment, last_four, key_hash, scopes, created_by, \
                 created_at, last_used_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(k.id.as_str())
            .bind(k.tenant_id.as_str())
            .bind(k.name.as_str())
            .bind(k.environment.as_str())
            .bind(k.last_four.as_str())
            .bind(k.key_hash.as_str())
            .bind(sqlx::types::Json(rows::scopes_json(&k.scopes)))
            .bind(k.created_by.as_ref().map(|u| u.as_str()))
            .bind(ts(k.created_at))
            .bind(k.last_used_at.map(ts))
            .bind(k.revoked_at.map(ts))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// A tenant's key.
        pub(crate) async fn get_api_key(pool: &Pool<Db>, tenant: &TenantId, id: &ApiKeyId) -> StoreResult<ApiKey> {
            let row = sqlx::query("SELECT * FROM api_keys WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("API key"))?;
            rows::api_key(&row, "").map_err(db_err)
        }

        /// A tenant's keys, newest first.
        pub(crate) async fn list_api_keys(
            pool: &Pool<Db>,
            tenant: &TenantId,
            page: &PageRequest,
        ) -> StoreResult<Page<ApiKey>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                "SELECT * FROM api_keys WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
            )
            .bind(tenant.as_str())
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(|r| rows::api_key(r, "")).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |k| k.id.to_string()))
        }

        /// Revokes a tenant's key; revoking twice keeps the first time.
        pub(crate) async fn revoke_api_key(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &ApiKeyId,
            audit: &AuditEntry,
        ) -> StoreResult<ApiKey> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let row = sqlx::query(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2 RETURNING *",
            )
            .bind(tenant.as_str())
            .bind(id.as_str())
            .bind(ts(OffsetDateTime::now_utc()))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("API key"))?;
            let key = rows::api_key(&row, "").map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(key)
        }

        /// A key by the SHA-256 of its text, with its tenant.
        pub(crate) async fn find_api_key_by_hash(pool: &Pool<Db>, hash: &str) -> StoreResult<Option<ApiKeyContext>> {
            let row = sqlx::query(concat!(
                "SELECT k.*, ",
                $crate::shared::tenant_cols!(),
                " FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.key_hash = $1"
            ))
            .bind(hash)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
            row.map(|r| Ok(ApiKeyContext { key: rows::api_key(&r, "")?, tenant: rows::tenant(&r, "t_")? }))
                .transpose()
                .map_err(db_err)
        }

        /// Sets a key's last-used time when the stored one is older than `at - min_interval_secs`.
        pub(crate) async fn touch_api_key(
            pool: &Pool<Db>,
            id: &ApiKeyId,
            at: OffsetDateTime,
            min_interval_secs: i64,
        ) -> StoreResult<()> {
            let older_than = at - time::Duration::seconds(min_interval_secs);
            sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)")
                .bind(id.as_str())
                .bind(ts(at))
                .bind(ts(older_than))
                .execute(pool)
                .await
                .map_err(db_err)?;
            Ok(())
        }
    };
}
pub(crate) use auth_sql;
