//! The audit log, the outbox (all but the claim, which is backend-specific) and idempotency records.

/// Expands the audit, outbox and idempotency functions (see the [module docs](super)).
macro_rules! audit_outbox_sql {
    () => {
        /// Inserts a task into the outbox inside `tx`.
        async fn insert_task(conn: &mut <Db as sqlx::Database>::Connection, t: &NewTask) -> StoreResult<()> {
            insert_tasks(conn, std::slice::from_ref(t)).await
        }

        /// Writes several tasks in one statement, inside `tx`.
        async fn insert_tasks(conn: &mut <Db as sqlx::Database>::Connection, tasks: &[NewTask]) -> StoreResult<()> {
            if tasks.is_empty() {
                return Ok(());
            }
            let payloads = tasks
                .iter()
                .map(|t| serde_json::to_string(&t.task))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Backend(Box::new(e)))?;
            let now = OffsetDateTime::now_utc();
            let mut q = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO outbox (id, subject, lane, payload, created_at, available_at, attempts) ",
            );
            q.push_values(tasks.iter().zip(payloads), |mut b, (t, payload)| {
                b.push_bind(t.id.as_str())
                    .push_bind(t.task.subject().as_str())
                    .push_bind(t.lane())
                    .push_bind(payload)
                    .push_bind(ts(now))
                    .push_bind(ts(t.available_at))
                    .push("0");
            });
            q.build().execute(conn).await.map_err(db_err)?;
            Ok(())
        }

        /// Appends an entry on its own.
        pub(crate) async fn append_audit(pool: &Pool<Db>, e: &AuditEntry) -> StoreResult<()> {
            let mut conn = pool.acquire().await.map_err(db_err)?;
            insert_audit(&mut conn, e).await
        }

        /// Entries, newest first; an action ending in `.` matches as a prefix.
        pub(crate) async fn list_audit(
            pool: &Pool<Db>,
            f: &AuditFilter,
            page: &PageRequest,
        ) -> StoreResult<Page<AuditEntry>> {
            let (limit, fetch) = overfetch(page);
            let (exact, prefix) = match f.action.as_deref() {
                Some(a) if a.ends_with('.') => (None, Some(format!("{}%", rows::like_escape(a)))),
                Some(a) => (Some(a), None),
                None => (None, None),
            };
            let rows = sqlx::query(
                r"SELECT * FROM admin_audit_log WHERE ($1 IS NULL OR tenant_id = $1)
                  AND ($2 IS NULL OR actor_type = $2) AND ($3 IS NULL OR actor_id = $3)
                  AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR action LIKE $5 ESCAPE '\')
                  AND ($6 IS NULL OR created_at >= $6) AND ($7 IS NULL OR created_at < $7)
                  AND ($8 IS NULL OR id < $8) ORDER BY id DESC LIMIT $9",
            )
            .bind(f.tenant_id.as_ref().map(|t| t.as_str()))
            .bind(f.actor_kind.map(|k| k.as_str()))
            .bind(f.actor_id.as_deref())
            .bind(exact)
            .bind(prefix)
            .bind(f.from.map(ts))
            .bind(f.to.map(ts))
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(rows::audit).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |e| e.id.to_string()))
        }

        /// Puts claimed rows back as unpublished.
        pub(crate) async fn release_outbox(pool: &Pool<Db>, ids: &[TaskId]) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            for id in ids {
                sqlx::query("UPDATE outbox SET published_at = NULL WHERE id = $1 AND completed_at IS NULL AND failed_at IS NULL")
                    .bind(id.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        }

        /// How many rows were published since `since` and are still pending.
        pub(crate) async fn outbox_in_flight(pool: &Pool<Db>, since: OffsetDateTime) -> StoreResult<u64> {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM outbox WHERE published_at >= $1 AND completed_at IS NULL AND failed_at IS NULL",
            )
            .bind(ts(since))
            .fetch_one(pool)
            .await
            .map_err(db_err)?;
            Ok(u64::try_from(n).unwrap_or(0))
        }

        /// Marks every pending row unpublished.
        pub(crate) async fn reset_unfinished_outbox(
            pool: &Pool<Db>,
            published_since: Option<OffsetDateTime>,
        ) -> StoreResult<u64> {
            let done = sqlx::query(
                "UPDATE outbox SET published_at = NULL \
                 WHERE published_at IS NOT NULL AND completed_at IS NULL AND failed_at IS NULL \
                 AND ($1 IS NULL OR published_at >= $1)",
            )
            .bind(published_since.map(ts))
            .execute(pool)
            .await
            .map_err(db_err)?;
            Ok(done.rows_affected())
        }

        /// Where a task stands.
        pub(crate) async fn task_state(pool: &Pool<Db>, id: &TaskId) -> StoreResult<Option<TaskState>> {
            let row = sqlx::query("SELECT completed_at, failed_at FROM outbox WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
            let Some(row) = row else { return Ok(None) };
            let finished = |col: &str| rows::Cols::opt_time(&row, col).map(|t| t.is_some());
            Ok(Some(if finished("completed_at").map_err(db_err)? {
                TaskState::Completed
            } else if finished("failed_at").map_err(db_err)? {
                TaskState::Failed
            } else {
                TaskState::Pending
            }))
        }

        /// Runs an update on one pending task; a finished task is left as it is, a missing one is NotFound.
        async fn update_pending_task(pool: &Pool<Db>, id: &TaskId, q: sqlx::query::Query<'_, Db, <Db as sqlx::Database>::Arguments>) -> StoreResult<()> {
            let done = q.execute(pool).await.map_err(db_err)?;
            if done.rows_affected() == 0 && task_state(pool, id).await?.is_none() {
                return Err(StoreError::NotFound("task"));
            }
            Ok(())
        }

        /// Marks a task completed (idempotent).
        pub(crate) async fn complete_task(pool: &Pool<Db>, id: &TaskId) -> StoreResult<()> {
            let q = sqlx::query("UPDATE outbox SET completed_at = $2 WHERE id = $1 AND completed_at IS NULL AND failed_at IS NULL")
                .bind(id.as_str())
                .bind(ts(OffsetDateTime::now_utc()));
            update_pending_task(pool, id, q).await
        }

        /// Schedules a pending task again at `at`, unpublished until then.
        pub(crate) async fn reschedule_task(pool: &Pool<Db>, id: &TaskId, at: OffsetDateTime, error: &str) -> StoreResult<()> {
            let q = sqlx::query(
                "UPDATE outbox SET available_at = $2, published_at = NULL, last_error = $3, generation = generation + 1 \
                 WHERE id = $1 AND completed_at IS NULL AND failed_at IS NULL",
            )
            .bind(id.as_str())
            .bind(ts(at))
            .bind(error.to_owned());
            update_pending_task(pool, id, q).await
        }

        /// Marks a task failed for good.
        pub(crate) async fn fail_task(pool: &Pool<Db>, id: &TaskId, error: &str) -> StoreResult<()> {
            let q = sqlx::query(
                "UPDATE outbox SET failed_at = $2, last_error = $3 WHERE id = $1 AND completed_at IS NULL AND failed_at IS NULL",
            )
            .bind(id.as_str())
            .bind(ts(OffsetDateTime::now_utc()))
            .bind(error.to_owned());
            update_pending_task(pool, id, q).await
        }

        /// Figures for `/metrics`.
        pub(crate) async fn outbox_stats(pool: &Pool<Db>) -> StoreResult<OutboxStats> {
            let now = OffsetDateTime::now_utc();
            let row = sqlx::query(
                "SELECT \
                 (SELECT COUNT(*) FROM outbox WHERE published_at IS NULL AND completed_at IS NULL \
                  AND failed_at IS NULL AND available_at <= $1) AS unpublished, \
                 (SELECT COUNT(*) FROM outbox WHERE published_at IS NOT NULL AND completed_at IS NULL \
                  AND failed_at IS NULL) AS in_flight, \
                 (SELECT MIN(available_at) FROM outbox WHERE published_at IS NULL AND completed_at IS NULL \
                  AND failed_at IS NULL AND available_at <= $1) AS oldest",
            )
            .bind(ts(now))
            .fetch_one(pool)
            .await
            .map_err(db_err)?;
            let count = |col: &str| rows::Cols::int(&row, col).map(|n| u64::try_from(n).unwrap_or(0));
            let oldest = rows::Cols::opt_time(&row, "oldest").map_err(db_err)?;
            Ok(OutboxStats {
                unpublished: count("unpublished").map_err(db_err)?,
                in_flight: count("in_flight").map_err(db_err)?,
                oldest_unpublished_secs: oldest.map_or(0.0, |t| (now - t).as_seconds_f64().max(0.0)),
            })
        }

        /// Deletes completed and failed rows finished before `before`.
        pub(crate) async fn prune_outbox(pool: &Pool<Db>, before: OffsetDateTime) -> StoreResult<u64> {
            let done = sqlx::query("DELETE FROM outbox WHERE completed_at < $1 OR failed_at < $1")
                .bind(ts(before))
                .execute(pool)
                .await
                .map_err(db_err)?;
            Ok(done.rows_affected())
        }

        /// The stored response for `(scope, key)`, if not expired.
        pub(crate) async fn get_idempotency(
            pool: &Pool<Db>,
            scope: &str,
            key: &str,
            now: OffsetDateTime,
        ) -> StoreResult<Option<IdempotencyRecord>> {
            let row = sqlx::query("SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2 AND expires_at > $3")
                .bind(scope)
                .bind(key)
                .bind(ts(now))
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
            row.map(|r| rows::idempotency(&r)).transpose().map_err(db_err)
        }

        /// Stores a response unless one is stored (and unexpired) for `(scope, key)`; returns the kept one.
        pub(crate) async fn put_idempotency(pool: &Pool<Db>, r: &IdempotencyRecord) -> StoreResult<IdempotencyRecord> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            // An expired record is replaced: `get_idempotency` no longer sees it, so it must not win.
            sqlx::query(
                "INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response_body, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (scope, key) DO UPDATE SET \
                 request_hash = excluded.request_hash, status_code = excluded.status_code, \
                 response_body = excluded.response_body, created_at = excluded.created_at, \
                 expires_at = excluded.expires_at WHERE idempotency_keys.expires_at <= excluded.created_at",
            )
            .bind(r.scope.as_str())
            .bind(r.key.as_str())
            .bind(r.request_hash.as_str())
            .bind(i32::from(r.status_code))
            .bind(r.response_body.as_str())
            .bind(ts(r.created_at))
            .bind(ts(r.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let row = sqlx::query("SELECT * FROM idempotency_keys WHERE scope = $1 AND key = $2")
                .bind(r.scope.as_str())
                .bind(r.key.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            let kept = rows::idempotency(&row).map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(kept)
        }

        /// Deletes expired records.
        pub(crate) async fn prune_idempotency(pool: &Pool<Db>, now: OffsetDateTime) -> StoreResult<u64> {
            let done = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at <= $1")
                .bind(ts(now))
                .execute(pool)
                .await
                .map_err(db_err)?;
            Ok(done.rows_affected())
        }
    };
}
pub(crate) use audit_outbox_sql;
