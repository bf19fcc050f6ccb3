//! A tenant's users: reads, lists, changes with last-owner protection, password changes.

/// Expands the user functions (see the [module docs](super)).
macro_rules! user_sql {
    () => {
        /// Whether the user is an active owner.
        fn is_active_owner(u: &User) -> bool {
            u.role == Role::Owner && u.status == UserStatus::Active
        }

        /// Fails with Conflict when the tenant has no active owner left (checked before commit).
        async fn ensure_an_owner_remains(
            conn: &mut <Db as sqlx::Database>::Connection,
            tenant: &TenantId,
        ) -> StoreResult<()> {
            let owners: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND role = $2 AND status = $3")
                    .bind(tenant.as_str())
                    .bind(Role::Owner.as_str())
                    .bind(UserStatus::Active.as_str())
                    .fetch_one(conn)
                    .await
                    .map_err(db_err)?;
            if owners == 0 {
                return Err(StoreError::Conflict(
                    "a tenant must keep at least one active owner".into(),
                ));
            }
            Ok(())
        }

        /// A tenant's user, read inside `tx`.
        async fn user_in(
            conn: &mut <Db as sqlx::Database>::Connection,
            tenant: &TenantId,
            id: &UserId,
        ) -> StoreResult<User> {
            let row = sqlx::query("SELECT * FROM users WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_optional(conn)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("user"))?;
            rows::user(&row, "").map_err(db_err)
        }

        /// Creates a user in an existing tenant.
        pub(crate) async fn create_user(pool: &Pool<Db>, u: &User, audit: Option<&AuditEntry>) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            lock_tenant(&mut tx, &u.tenant_id).await?;
            insert_user(&mut tx, u).await?;
            if let Some(audit) = audit {
                insert_audit(&mut tx, audit).await?;
            }
            tx.commit().await.map_err(db_err)
        }

        /// A tenant's user.
        pub(crate) async fn get_user(pool: &Pool<Db>, tenant: &TenantId, id: &UserId) -> StoreResult<User> {
            let mut conn = pool.acquire().await.map_err(db_err)?;
            user_in(&mut conn, tenant, id).await
        }

        /// Any user by id (platform staff only).
        pub(crate) async fn get_any_user(pool: &Pool<Db>, id: &UserId) -> StoreResult<User> {
            let row = sqlx::query("SELECT * FROM users WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("user"))?;
            rows::user(&row, "").map_err(db_err)
        }

        /// A user by (lower-cased) email, with its tenant.
        pub(crate) async fn find_user_by_email(pool: &Pool<Db>, email: &str) -> StoreResult<Option<(User, Tenant)>> {
            let row = sqlx::query(concat!(
                "SELECT ",
                $crate::shared::user_cols!(),
                ", ",
                $crate::shared::tenant_cols!(),
                " FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE lower(u.email) = $1"
            ))
            .bind(email.to_lowercase())
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
            row.map(|r| Ok((rows::user(&r, "u_")?, rows::tenant(&r, "t_")?)))
                .transpose()
                .map_err(db_err)
        }

        /// A tenant's users, newest first.
        pub(crate) async fn list_users(
            pool: &Pool<Db>,
            tenant: &TenantId,
            page: &PageRequest,
        ) -> StoreResult<Page<User>> {
            list_all_users(
                pool,
                &UserFilter {
                    tenant_id: Some(tenant.clone()),
                    email_contains: None,
                },
                page,
            )
            .await
        }

        /// Users across tenants, newest first.
        pub(crate) async fn list_all_users(
            pool: &Pool<Db>,
            filter: &UserFilter,
            page: &PageRequest,
        ) -> StoreResult<Page<User>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                r"SELECT * FROM users WHERE ($1 IS NULL OR tenant_id = $1)
                  AND ($2 IS NULL OR lower(email) LIKE $2 ESCAPE '\') AND ($3 IS NULL OR id < $3)
                  ORDER BY id DESC LIMIT $4",
            )
            .bind(filter.tenant_id.as_ref().map(|t| t.as_str()))
            .bind(filter.email_contains.as_deref().map(rows::contains_pattern))
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows
                .iter()
                .map(|r| rows::user(r, ""))
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |u| u.id.to_string()))
        }

        /// Changes a tenant's user, keeping at least one active owner.
        pub(crate) async fn update_user(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &UserId,
            patch: &UserPatch,
            audit: &AuditEntry,
        ) -> StoreResult<User> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            lock_tenant(&mut tx, tenant)
                .await
                .map_err(|_| StoreError::NotFound("user"))?;
            let before = user_in(&mut tx, tenant, id).await?;
            let row = sqlx::query(
                "UPDATE users SET name = COALESCE($3, name), role = COALESCE($4, role), \
                 status = COALESCE($5, status), updated_at = $6 WHERE tenant_id = $1 AND id = $2 RETURNING *",
            )
            .bind(tenant.as_str())
            .bind(id.as_str())
            .bind(patch.name.as_deref())
            .bind(patch.role.map(|r| r.as_str()))
            .bind(patch.status.map(|s| s.as_str()))
            .bind(ts(OffsetDateTime::now_utc()))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let after = rows::user(&row, "").map_err(db_err)?;
            if is_active_owner(&before) && !is_active_owner(&after) {
                ensure_an_owner_remains(&mut tx, tenant).await?;
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(after)
        }

        /// Deletes a tenant's user and its sessions, keeping at least one active owner.
        pub(crate) async fn delete_user(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &UserId,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            lock_tenant(&mut tx, tenant)
                .await
                .map_err(|_| StoreError::NotFound("user"))?;
            let before = user_in(&mut tx, tenant, id).await?;
            for sql in [
                "DELETE FROM sessions WHERE tenant_id = $1 AND user_id = $2",
                "DELETE FROM users WHERE tenant_id = $1 AND id = $2",
            ] {
                sqlx::query(sql)
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            if is_active_owner(&before) {
                ensure_an_owner_remains(&mut tx, tenant).await?;
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Sets a user's password hash and revokes all its sessions except `keep`.
        pub(crate) async fn set_user_password(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &UserId,
            password_hash: &str,
            keep: Option<&SessionId>,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let now = ts(OffsetDateTime::now_utc());
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let done =
                sqlx::query("UPDATE users SET password_hash = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .bind(password_hash)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("user"));
            }
            sqlx::query(
                "UPDATE sessions SET revoked_at = $3 WHERE tenant_id = $1 AND user_id = $2 \
                 AND revoked_at IS NULL AND ($4 IS NULL OR id <> $4)",
            )
            .bind(tenant.as_str())
            .bind(id.as_str())
            .bind(&now)
            .bind(keep.map(|k| k.as_str()))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }
    };
}
pub(crate) use user_sql;
