//! Tenants: creation with the first owner, reads, changes, deletion and purge.

/// Expands the tenant functions (see the [module docs](super)).
macro_rules! tenant_sql {
    () => {
        /// A trivial query.
        pub(crate) async fn ping(pool: &Pool<Db>) -> StoreResult<()> {
            sqlx::query("SELECT 1").execute(pool).await.map_err(db_err)?;
            Ok(())
        }

        /// Appends an audit entry inside `tx`.
        async fn insert_audit(conn: &mut <Db as sqlx::Database>::Connection, e: &AuditEntry) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO admin_audit_log (id, tenant_id, actor_type, actor_id, ip, user_agent, action, \
                 target_type, target_id, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(e.id.as_str())
            .bind(e.tenant_id.as_ref().map(|t| t.as_str()))
            .bind(e.actor.kind.as_str())
            .bind(e.actor.id.as_deref())
            .bind(e.actor.ip.as_deref())
            .bind(e.actor.user_agent.as_deref())
            .bind(e.action.as_str())
            .bind(e.target_type.as_deref())
            .bind(e.target_id.as_deref())
            .bind(sqlx::types::Json(&e.details))
            .bind(ts(e.created_at))
            .execute(conn)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Inserts a user inside `tx`, its email lower-cased.
        async fn insert_user(conn: &mut <Db as sqlx::Database>::Connection, u: &User) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO users (id, tenant_id, email, name, role, status, password_hash, created_at, \
                 updated_at, last_login_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(u.id.as_str())
            .bind(u.tenant_id.as_str())
            .bind(u.email.to_lowercase())
            .bind(u.name.as_str())
            .bind(u.role.as_str())
            .bind(u.status.as_str())
            .bind(u.password_hash.as_str())
            .bind(ts(u.created_at))
            .bind(ts(u.updated_at))
            .bind(u.last_login_at.map(ts))
            .execute(conn)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Takes the tenant's row lock (PostgreSQL; SQLite already holds the write lock) so that checks over
        /// its users, such as "one active owner remains", cannot race. Fails NotFound for a missing tenant.
        async fn lock_tenant(conn: &mut <Db as sqlx::Database>::Connection, id: &TenantId) -> StoreResult<()> {
            let done = sqlx::query("UPDATE tenants SET id = id WHERE id = $1")
                .bind(id.as_str())
                .execute(conn)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("tenant"));
            }
            Ok(())
        }

        /// A tenant's stored status, read inside `tx`.
        async fn tenant_status(
            conn: &mut <Db as sqlx::Database>::Connection,
            id: &TenantId,
        ) -> StoreResult<Option<String>> {
            sqlx::query_scalar("SELECT status FROM tenants WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(conn)
                .await
                .map_err(db_err)
        }

        /// Creates a tenant and its first owner together.
        pub(crate) async fn create_tenant_with_owner(
            pool: &Pool<Db>,
            t: &Tenant,
            owner: &User,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            sqlx::query(
                "INSERT INTO tenants (id, name, plan, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(t.id.as_str())
            .bind(t.name.as_str())
            .bind(t.plan.as_str())
            .bind(t.status.as_str())
            .bind(ts(t.created_at))
            .bind(ts(t.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_user(&mut tx, owner).await?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// A tenant by id.
        pub(crate) async fn get_tenant(pool: &Pool<Db>, id: &TenantId) -> StoreResult<Tenant> {
            let row = sqlx::query("SELECT * FROM tenants WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("tenant"))?;
            rows::tenant(&row, "").map_err(db_err)
        }

        /// Tenants, newest first.
        pub(crate) async fn list_tenants(
            pool: &Pool<Db>,
            filter: &TenantFilter,
            page: &PageRequest,
        ) -> StoreResult<Page<Tenant>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                r"SELECT * FROM tenants WHERE ($1 IS NULL OR status = $1)
                  AND ($2 IS NULL OR lower(name) LIKE $2 ESCAPE '\') AND ($3 IS NULL OR id < $3)
                  ORDER BY id DESC LIMIT $4",
            )
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.name_contains.as_deref().map(rows::contains_pattern))
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(|r| rows::tenant(r, "")).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |t| t.id.to_string()))
        }

        /// Changes a tenant. `deleting` is refused here: it goes through `begin_tenant_deletion`.
        pub(crate) async fn update_tenant(
            pool: &Pool<Db>,
            id: &TenantId,
            patch: &TenantPatch,
            audit: &AuditEntry,
        ) -> StoreResult<Tenant> {
            if patch.status == Some(TenantStatus::Deleting) {
                return Err(StoreError::Conflict("a tenant is deleted through tenant deletion, not a status change".into()));
            }
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let current = tenant_status(&mut tx, id).await?.ok_or(StoreError::NotFound("tenant"))?;
            if current == TenantStatus::Deleting.as_str() {
                return Err(StoreError::Conflict("the tenant is being deleted".into()));
            }
            let row = sqlx::query(
                "UPDATE tenants SET name = COALESCE($2, name), plan = COALESCE($3, plan), \
                 status = COALESCE($4, status), updated_at = $5 WHERE id = $1 RETURNING *",
            )
            .bind(id.as_str())
            .bind(patch.name.as_deref())
            .bind(patch.plan.map(|p| p.as_str()))
            .bind(patch.status.map(|s| s.as_str()))
            .bind(ts(OffsetDateTime::now_utc()))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let tenant = rows::tenant(&row, "").map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(tenant)
        }

        /// Marks a tenant `deleting` and queues its purge, in one transaction.
        pub(crate) async fn begin_tenant_deletion(
            pool: &Pool<Db>,
            id: &TenantId,
            purge: &NewTask,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let done = sqlx::query("UPDATE tenants SET status = $2, updated_at = $3 WHERE id = $1 AND status <> $2")
                .bind(id.as_str())
                .bind(TenantStatus::Deleting.as_str())
                .bind(ts(OffsetDateTime::now_utc()))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                tenant_status(&mut tx, id).await?.ok_or(StoreError::NotFound("tenant"))?;
                return Err(StoreError::Conflict("the tenant is already being deleted".into()));
            }
            insert_task(&mut tx, purge).await?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Deletes every row of a `deleting` tenant and completes `task`, in one transaction. Audit entries
        /// are kept: they are the record of what happened, and carry no foreign key to the tenant.
        pub(crate) async fn purge_tenant(
            pool: &Pool<Db>,
            id: &TenantId,
            task: &TaskId,
            audit: &AuditEntry,
        ) -> StoreResult<bool> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            // Completing the task first is the gate: a concurrent purge of the same task waits on this row and
            // then finds it completed.
            let now = ts(OffsetDateTime::now_utc());
            let gate = sqlx::query(
                "UPDATE outbox SET completed_at = $2 WHERE id = $1 AND completed_at IS NULL AND failed_at IS NULL",
            )
            .bind(task.as_str())
            .bind(&now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if gate.rows_affected() == 0 {
                return Ok(false);
            }
            let Some(status) = tenant_status(&mut tx, id).await? else {
                tx.commit().await.map_err(db_err)?;
                return Ok(false);
            };
            if status != TenantStatus::Deleting.as_str() {
                return Err(StoreError::Conflict("only a tenant being deleted can be purged".into()));
            }
            for sql in [
                "DELETE FROM sessions WHERE tenant_id = $1",
                "DELETE FROM api_keys WHERE tenant_id = $1",
                "DELETE FROM users WHERE tenant_id = $1",
                "DELETE FROM idempotency_keys WHERE scope = $1",
                "DELETE FROM tenants WHERE id = $1",
            ] {
                sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await.map_err(db_err)?;
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(true)
        }
    };
}
pub(crate) use tenant_sql;
