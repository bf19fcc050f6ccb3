//! Messages: creation (with their event and send task), reads, lists, cancellation, attempts and history.

/// Expands the message functions (see the [module docs](super)).
macro_rules! message_sql {
    () => {
        /// Inserts a message inside `tx`, remembering the task that sends it.
        async fn insert_message(
            conn: &mut <Db as sqlx::Database>::Connection,
            m: &Message,
            task: Option<&TaskId>,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO messages (id, tenant_id, channel, direction, from_addr, to_addr, body, media_urls, \
                 segments, encoding, status, status_callback, validity_period, send_at, tags, tags_search, metadata, \
                 account_id, provider_message_id, error_code, error_message, price_micros, currency, task_id, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                 $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)",
            )
            .bind(m.id.as_str())
            .bind(m.tenant_id.as_str())
            .bind(m.channel.as_str())
            .bind(m.direction.as_str())
            .bind(m.from.as_str())
            .bind(m.to.as_str())
            .bind(m.body.as_str())
            .bind(sqlx::types::Json(msg_rows::list_json(&m.media_urls)))
            .bind(i64::from(m.segments))
            .bind(m.encoding.as_ref().map(msg_rows::wire))
            .bind(m.status.as_str())
            .bind(m.status_callback.as_deref())
            .bind(m.validity_period.map(i64::from))
            .bind(m.send_at.map(ts))
            .bind(sqlx::types::Json(msg_rows::list_json(&m.tags)))
            .bind(msg_rows::tags_search(&m.tags))
            .bind(sqlx::types::Json(&m.metadata))
            .bind(m.account_id.as_ref().map(|a| a.as_str()))
            .bind(m.provider_message_id.as_deref())
            .bind(m.error_code.as_deref())
            .bind(m.error_message.as_deref())
            .bind(m.price_micros)
            .bind(m.currency.as_deref())
            .bind(task.map(|t| t.as_str()))
            .bind(ts(m.created_at))
            .bind(ts(m.updated_at))
            .execute(conn)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Appends an event inside `tx`.
        async fn insert_event(conn: &mut <Db as sqlx::Database>::Connection, e: &Event) -> StoreResult<()> {
            insert_event_row(conn, e).await?;
            fan_out(conn, e).await
        }

        /// Appends an event without fanning it out.
        async fn insert_event_row(conn: &mut <Db as sqlx::Database>::Connection, e: &Event) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO events (id, tenant_id, event_type, resource_id, data, occurred_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(e.id.as_str())
            .bind(e.tenant_id.as_str())
            .bind(e.event_type.as_str())
            .bind(e.resource_id.as_str())
            .bind(sqlx::types::Json(&e.data))
            .bind(ts(e.occurred_at))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Stores an outbound message, its event and its send task together.
        pub(crate) async fn create_message(pool: &Pool<Db>, m: &Message, e: &Event, task: &NewTask) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            insert_message(&mut tx, m, Some(&task.id)).await?;
            insert_event(&mut tx, e).await?;
            insert_task(&mut tx, task).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Stores several outbound messages, each with its event and send task, in one transaction of three
        /// multi-row inserts (the group commit of [`crate::group_commit`]).
        pub(crate) async fn create_messages(
            pool: &Pool<Db>,
            batch: &[crate::group_commit::NewMessage],
        ) -> StoreResult<()> {
            if let [n] = batch {
                return create_message(pool, &n.message, &n.event, &n.task).await;
            }
            let payloads = batch
                .iter()
                .map(|n| serde_json::to_string(&n.task.task))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StoreError::Backend(Box::new(e)))?;
            let now = OffsetDateTime::now_utc();
            let mut messages = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO messages (id, tenant_id, channel, direction, from_addr, to_addr, body, media_urls, \
                 segments, encoding, status, status_callback, validity_period, send_at, tags, tags_search, metadata, \
                 account_id, provider_message_id, error_code, error_message, price_micros, currency, task_id, \
                 created_at, updated_at) ",
            );
            messages.push_values(batch, |mut b, n| {
                let m = &n.message;
                b.push_bind(m.id.as_str())
                    .push_bind(m.tenant_id.as_str())
                    .push_bind(m.channel.as_str())
                    .push_bind(m.direction.as_str())
                    .push_bind(m.from.as_str())
                    .push_bind(m.to.as_str())
                    .push_bind(m.body.as_str())
                    .push_bind(sqlx::types::Json(msg_rows::list_json(&m.media_urls)))
                    .push_bind(i64::from(m.segments))
                    .push_bind(m.encoding.as_ref().map(msg_rows::wire))
                    .push_bind(m.status.as_str())
                    .push_bind(m.status_callback.as_deref())
                    .push_bind(m.validity_period.map(i64::from))
                    .push_bind(m.send_at.map(ts))
                    .push_bind(sqlx::types::Json(msg_rows::list_json(&m.tags)))
                    .push_bind(msg_rows::tags_search(&m.tags))
                    .push_bind(sqlx::types::Json(&m.metadata))
                    .push_bind(m.account_id.as_ref().map(|a| a.as_str()))
                    .push_bind(m.provider_message_id.as_deref())
                    .push_bind(m.error_code.as_deref())
                    .push_bind(m.error_message.as_deref())
                    .push_bind(m.price_micros)
                    .push_bind(m.currency.as_deref())
                    .push_bind(n.task.id.as_str())
                    .push_bind(ts(m.created_at))
                    .push_bind(ts(m.updated_at));
            });
            let mut events = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO events (id, tenant_id, event_type, resource_id, data, occurred_at) ",
            );
            events.push_values(batch, |mut b, n| {
                let e = &n.event;
                b.push_bind(e.id.as_str())
                    .push_bind(e.tenant_id.as_str())
                    .push_bind(e.event_type.as_str())
                    .push_bind(e.resource_id.as_str())
                    .push_bind(sqlx::types::Json(&e.data))
                    .push_bind(ts(e.occurred_at));
            });
            let mut tasks = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO outbox (id, subject, lane, payload, created_at, available_at, attempts) ",
            );
            tasks.push_values(batch.iter().zip(payloads), |mut b, (n, payload)| {
                let t = &n.task;
                b.push_bind(t.id.as_str())
                    .push_bind(t.task.subject().as_str())
                    .push_bind(t.lane())
                    .push_bind(payload)
                    .push_bind(ts(now))
                    .push_bind(ts(t.available_at))
                    .push("0");
            });
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            messages.build().execute(&mut *tx).await.map_err(db_err)?;
            events.build().execute(&mut *tx).await.map_err(db_err)?;
            tasks.build().execute(&mut *tx).await.map_err(db_err)?;
            for n in batch {
                fan_out(&mut tx, &n.event).await?;
            }
            tx.commit().await.map_err(db_err)
        }

        #[async_trait::async_trait]
        impl crate::group_commit::WriteMessages for Pool<Db> {
            async fn write_batch(&self, batch: &[crate::group_commit::NewMessage]) -> StoreResult<()> {
                create_messages(self, batch).await
            }
            async fn write_one(&self, n: &crate::group_commit::NewMessage) -> StoreResult<()> {
                create_message(self, &n.message, &n.event, &n.task).await
            }
        }

        /// Stores an inbound message and its event together.
        pub(crate) async fn create_inbound_message(pool: &Pool<Db>, m: &Message, e: &Event) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            insert_message(&mut tx, m, None).await?;
            insert_event(&mut tx, e).await?;
            tx.commit().await.map_err(db_err)
        }

        /// A tenant's message.
        pub(crate) async fn get_message(pool: &Pool<Db>, tenant: &TenantId, id: &MessageId) -> StoreResult<Message> {
            let row = sqlx::query("SELECT * FROM messages WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("message"))?;
            msg_rows::message(&row).map_err(db_err)
        }

        /// Any message by id.
        pub(crate) async fn get_message_any(pool: &Pool<Db>, id: &MessageId) -> StoreResult<Message> {
            let row = sqlx::query("SELECT * FROM messages WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("message"))?;
            msg_rows::message(&row).map_err(db_err)
        }

        /// A tenant's messages, newest first, filtered.
        pub(crate) async fn list_messages(
            pool: &Pool<Db>,
            tenant: &TenantId,
            f: &MessageFilter,
            page: &PageRequest,
        ) -> StoreResult<Page<Message>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                r"SELECT * FROM messages WHERE tenant_id = $1 AND ($2 IS NULL OR channel = $2)
                  AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR to_addr = $4) AND ($5 IS NULL OR from_addr = $5)
                  AND ($6 IS NULL OR tags_search LIKE $6 ESCAPE '\') AND ($7 IS NULL OR created_at >= $7)
                  AND ($8 IS NULL OR created_at < $8) AND ($9 IS NULL OR id < $9) AND ($11 IS NULL OR direction = $11)
                  ORDER BY id DESC LIMIT $10",
            )
            .bind(tenant.as_str())
            .bind(f.channel.map(|c| c.as_str()))
            .bind(f.status.map(|s| s.as_str()))
            .bind(f.to.as_deref())
            .bind(f.from.as_deref())
            .bind(f.tag.as_deref().map(msg_rows::tag_pattern))
            .bind(f.created_from.map(ts))
            .bind(f.created_to.map(ts))
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .bind(f.direction.map(|d| d.as_str()))
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(msg_rows::message).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |m| m.id.to_string()))
        }

        /// The message an account sent under a provider id.
        pub(crate) async fn find_message_by_provider_id(
            pool: &Pool<Db>,
            account: &ProviderAccountId,
            provider_message_id: &str,
        ) -> StoreResult<Option<Message>> {
            let row = sqlx::query("SELECT * FROM messages WHERE account_id = $1 AND provider_message_id = $2")
                .bind(account.as_str())
                .bind(provider_message_id)
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
            row.map(|r| msg_rows::message(&r)).transpose().map_err(db_err)
        }

        /// Cancels a queued message scheduled for later, with its event, failing its task, together. The task
        /// row is locked before the message row, the order `record_sent` and `record_failed` take them in.
        pub(crate) async fn cancel_message(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &MessageId,
            e: &Event,
        ) -> StoreResult<Message> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let task: Option<Option<String>> =
                sqlx::query_scalar("SELECT task_id FROM messages WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?;
            let task = task.ok_or(StoreError::NotFound("message"))?;
            let now = ts(OffsetDateTime::now_utc());
            if let Some(task) = task {
                sqlx::query(
                    "UPDATE outbox SET failed_at = $2, last_error = $3 \
                     WHERE id = $1 AND completed_at IS NULL AND failed_at IS NULL",
                )
                .bind(task)
                .bind(&now)
                .bind("the message was canceled")
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            }
            let row = sqlx::query(
                "UPDATE messages SET status = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2 \
                 AND status = $5 AND send_at > $4 RETURNING *",
            )
            .bind(tenant.as_str())
            .bind(id.as_str())
            .bind(DeliveryStatus::Canceled.as_str())
            .bind(&now)
            .bind(DeliveryStatus::Queued.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
            // Dropping the transaction rolls back the task's failure.
            let row = row.ok_or_else(|| {
                StoreError::Conflict("only a queued message scheduled for later can be canceled".into())
            })?;
            let message = msg_rows::message(&row).map_err(db_err)?;
            insert_event(&mut tx, e).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(message)
        }

        /// A message's attempts, oldest first.
        pub(crate) async fn list_attempts(pool: &Pool<Db>, message: &MessageId) -> StoreResult<Vec<Attempt>> {
            let rows = sqlx::query("SELECT * FROM message_attempts WHERE message_id = $1 ORDER BY started_at, id")
                .bind(message.as_str())
                .fetch_all(pool)
                .await
                .map_err(db_err)?;
            rows.iter().map(msg_rows::attempt).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)
        }

        /// A message's status history, oldest first.
        pub(crate) async fn list_status_changes(pool: &Pool<Db>, message: &MessageId) -> StoreResult<Vec<StatusChange>> {
            let rows = sqlx::query("SELECT * FROM message_status_history WHERE message_id = $1 ORDER BY occurred_at, id")
                .bind(message.as_str())
                .fetch_all(pool)
                .await
                .map_err(db_err)?;
            rows.iter().map(msg_rows::status_change).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)
        }
    };
}
pub(crate) use message_sql;
