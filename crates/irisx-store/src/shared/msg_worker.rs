//! What the worker and receipts write (attempts, sends, failures, status changes), opt-outs, usage and events.

/// Expands the worker, receipt, opt-out, usage and event functions (see the [module docs](super)).
macro_rules! msg_worker_sql {
    () => {
        /// Appends an attempt inside `tx`.
        async fn insert_attempt(conn: &mut <Db as sqlx::Database>::Connection, a: &Attempt) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO message_attempts (id, message_id, tenant_id, account_id, provider, started_at, \
                 latency_ms, outcome, code, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(a.id.as_str())
            .bind(a.message_id.as_str())
            .bind(a.tenant_id.as_str())
            .bind(a.account_id.as_str())
            .bind(msg_rows::wire(&a.provider))
            .bind(ts(a.started_at))
            .bind(a.latency_ms)
            .bind(a.outcome.as_str())
            .bind(a.code.as_deref())
            .bind(a.detail.as_deref())
            .execute(conn)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Completes a pending task inside `tx`: false when it is already finished, NotFound when missing.
        /// Completing first is the gate: a concurrent redelivery waits on the row, then finds it finished.
        async fn complete_pending(conn: &mut <Db as sqlx::Database>::Connection, task: &TaskId) -> StoreResult<bool> {
            let done = sqlx::query(
                "UPDATE outbox SET completed_at = $2 WHERE id = $1 AND completed_at IS NULL AND failed_at IS NULL",
            )
            .bind(task.as_str())
            .bind(ts(OffsetDateTime::now_utc()))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            if done.rows_affected() > 0 {
                return Ok(true);
            }
            let exists: Option<String> = sqlx::query_scalar("SELECT id FROM outbox WHERE id = $1")
                .bind(task.as_str())
                .fetch_optional(conn)
                .await
                .map_err(db_err)?;
            exists.map(|_| false).ok_or(StoreError::NotFound("task"))
        }

        /// Locks a message's row (PostgreSQL; SQLite holds the write lock) and reads its status; with a
        /// tenant, another tenant's message is NotFound.
        async fn lock_message(
            conn: &mut <Db as sqlx::Database>::Connection,
            id: &MessageId,
            tenant: Option<&TenantId>,
        ) -> StoreResult<DeliveryStatus> {
            let status: String = sqlx::query_scalar(
                "UPDATE messages SET id = id WHERE id = $1 AND (CAST($2 AS TEXT) IS NULL OR tenant_id = $2) \
                 RETURNING status",
            )
            .bind(id.as_str())
            .bind(tenant.map(|t| t.as_str()))
            .fetch_optional(conn)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("message"))?;
            msg_rows::unwire("status", &status).map_err(db_err)
        }

        /// Records an attempt that did not end the message.
        pub(crate) async fn record_attempt(pool: &Pool<Db>, a: &Attempt) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            insert_attempt(&mut tx, a).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Records an accepted send with the task's completion; false when the task was already finished.
        pub(crate) async fn record_sent(
            pool: &Pool<Db>,
            id: &MessageId,
            s: &SentRecord,
            task: &TaskId,
        ) -> StoreResult<bool> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            if !complete_pending(&mut tx, task).await? {
                return Ok(false);
            }
            let current = lock_message(&mut tx, id, None).await?;
            // A receipt may already have moved the message further (it never goes backwards).
            let status = if current.may_become(s.status) {
                s.status
            } else {
                current
            };
            sqlx::query(
                "UPDATE messages SET account_id = $2, provider_message_id = $3, status = $4, price_micros = $5, \
                 currency = $6, updated_at = $7 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(s.attempt.account_id.as_str())
            .bind(s.provider_message_id.as_str())
            .bind(status.as_str())
            .bind(s.price_micros)
            .bind(s.currency.as_str())
            .bind(ts(OffsetDateTime::now_utc()))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_attempt(&mut tx, &s.attempt).await?;
            insert_usage(&mut tx, &s.usage).await?;
            insert_event(&mut tx, &s.event).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(true)
        }

        /// Records a final failure with the task's completion; false when the task was already finished.
        pub(crate) async fn record_failed(
            pool: &Pool<Db>,
            id: &MessageId,
            attempt: Option<&Attempt>,
            code: &str,
            error: &str,
            e: &Event,
            task: &TaskId,
        ) -> StoreResult<bool> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            if !complete_pending(&mut tx, task).await? {
                return Ok(false);
            }
            lock_message(&mut tx, id, None).await?;
            sqlx::query(
                "UPDATE messages SET status = $2, error_code = $3, error_message = $4, updated_at = $5 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(DeliveryStatus::Failed.as_str())
            .bind(code)
            .bind(error)
            .bind(ts(OffsetDateTime::now_utc()))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if let Some(a) = attempt {
                insert_attempt(&mut tx, a).await?;
            }
            insert_event(&mut tx, e).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(true)
        }

        /// Appends a status change, applying it when asked and still allowed by the locked row.
        pub(crate) async fn apply_status_change(
            pool: &Pool<Db>,
            c: &StatusChange,
            e: Option<&Event>,
        ) -> StoreResult<bool> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let current = lock_message(&mut tx, &c.message_id, Some(&c.tenant_id)).await?;
            let applied = c.applied && current.may_become(c.status);
            sqlx::query(
                "INSERT INTO message_status_history (id, message_id, tenant_id, status, provider_status, error_code, \
                 applied, raw, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(c.id.as_str())
            .bind(c.message_id.as_str())
            .bind(c.tenant_id.as_str())
            .bind(c.status.as_str())
            .bind(c.provider_status.as_deref())
            .bind(c.error_code.as_deref())
            .bind(applied)
            .bind(sqlx::types::Json(&c.raw))
            .bind(ts(c.occurred_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if applied {
                sqlx::query(
                    "UPDATE messages SET status = $2, error_code = COALESCE($3, error_code), updated_at = $4 \
                     WHERE id = $1",
                )
                .bind(c.message_id.as_str())
                .bind(c.status.as_str())
                .bind(c.error_code.as_deref())
                .bind(ts(OffsetDateTime::now_utc()))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if let Some(e) = e {
                    insert_event(&mut tx, e).await?;
                }
            }
            tx.commit().await.map_err(db_err)?;
            Ok(applied)
        }

        /// Keeps a receipt for a send not recorded yet.
        pub(crate) async fn park_receipt(
            pool: &Pool<Db>,
            account: &ProviderAccountId,
            u: &StatusUpdate,
            received_at: OffsetDateTime,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO parked_receipts (id, account_id, provider_message_id, status, provider_status, \
                 error_code, occurred_at, raw, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(StatusChangeId::new().as_str())
            .bind(account.as_str())
            .bind(&u.provider_message_id)
            .bind(u.status.as_str())
            .bind(&u.provider_status)
            .bind(u.error_code.as_deref())
            .bind(u.occurred_at.map(ts))
            .bind(sqlx::types::Json(&u.raw))
            .bind(ts(received_at))
            .execute(pool)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Removes and returns the receipts parked for a send, oldest first, with when each arrived.
        pub(crate) async fn take_parked_receipts(
            pool: &Pool<Db>,
            account: &ProviderAccountId,
            provider_message_id: &str,
        ) -> StoreResult<Vec<(StatusUpdate, OffsetDateTime)>> {
            let rows = sqlx::query(
                "DELETE FROM parked_receipts WHERE account_id = $1 AND provider_message_id = $2 RETURNING *",
            )
            .bind(account.as_str())
            .bind(provider_message_id)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let mut parked = rows
                .iter()
                .map(|r| Ok((msg_rows::parked_receipt(r)?, r.time("received_at")?)))
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)?;
            parked.sort_by_key(|(_, at)| *at);
            Ok(parked)
        }

        /// Deletes receipts parked before `before` (their send never came).
        pub(crate) async fn prune_parked_receipts(pool: &Pool<Db>, before: OffsetDateTime) -> StoreResult<u64> {
            let done = sqlx::query("DELETE FROM parked_receipts WHERE received_at < $1")
                .bind(ts(before))
                .execute(pool)
                .await
                .map_err(db_err)?;
            Ok(done.rows_affected())
        }
    };
}
pub(crate) use msg_worker_sql;
