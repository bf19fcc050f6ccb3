//! Webhook deliveries at work: what the worker reads and records, redelivery, test events, the status
//! callback secret, and event retention.

/// Expands the webhook delivery functions (see the [module docs](super)).
macro_rules! webhook_ops_sql {
    () => {
        /// A delivery with its event and, for endpoint deliveries, its endpoint.
        pub(crate) async fn webhook_delivery(
            pool: &Pool<Db>,
            id: &WebhookDeliveryId,
        ) -> StoreResult<(WebhookDelivery, Event, Option<WebhookEndpoint>)> {
            let row = sqlx::query("SELECT * FROM webhook_deliveries WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("webhook delivery"))?;
            let delivery = webhook_rows::delivery(&row).map_err(db_err)?;
            let event = sqlx::query("SELECT * FROM events WHERE id = $1")
                .bind(delivery.event_id.as_str())
                .fetch_one(pool)
                .await
                .map_err(db_err)?;
            let event = msg_rows::event(&event).map_err(db_err)?;
            let endpoint = match &delivery.endpoint_id {
                Some(ep) => Some(get_webhook_endpoint(pool, &delivery.tenant_id, ep).await?),
                None => None,
            };
            Ok((delivery, event, endpoint))
        }

        /// Records an attempt with the delivery's new state, the endpoint's health and an event; completes
        /// the task when the delivery is settled.
        pub(crate) async fn record_webhook_attempt(pool: &Pool<Db>, r: &AttemptRecord, task: &TaskId) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let a = &r.log;
            sqlx::query(
                "INSERT INTO webhook_attempts (id, tenant_id, delivery_id, endpoint_id, event_id, attempt, url, \
                 started_at, status_code, latency_ms, result, request_headers, response_body, error) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(a.id.as_str())
            .bind(a.tenant_id.as_str())
            .bind(a.delivery_id.as_str())
            .bind(a.endpoint_id.as_ref().map(|e| e.as_str()))
            .bind(a.event_id.as_str())
            .bind(i64::from(a.attempt))
            .bind(&a.url)
            .bind(ts(a.started_at))
            .bind(a.status_code.map(i64::from))
            .bind(a.latency_ms)
            .bind(a.result.as_str())
            .bind(sqlx::types::Json(&a.request_headers))
            .bind(a.response_body.as_deref())
            .bind(a.error.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let now = ts(OffsetDateTime::now_utc());
            sqlx::query("UPDATE webhook_deliveries SET state = $2, attempts = $3, updated_at = $4 WHERE id = $1")
                .bind(a.delivery_id.as_str())
                .bind(r.state.as_str())
                .bind(i64::from(a.attempt))
                .bind(now.clone())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            let health = match (&a.endpoint_id, &r.health) {
                (Some(ep), EndpointHealth::Healthy) => Some(
                    sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL")
                        .bind(ep.as_str()),
                ),
                (Some(ep), EndpointHealth::Failing) => Some(
                    sqlx::query("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1")
                        .bind(ep.as_str())
                        .bind(now.clone()),
                ),
                (Some(ep), EndpointHealth::Disabled(why)) => Some(
                    sqlx::query(
                        "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $3, updated_at = $2 WHERE id = $1",
                    )
                    .bind(ep.as_str())
                    .bind(now.clone())
                    .bind(why.clone()),
                ),
                _ => None,
            };
            if let Some(q) = health {
                q.execute(&mut *tx).await.map_err(db_err)?;
            }
            if let Some(e) = &r.event {
                insert_event(&mut tx, e).await?;
            }
            if r.state != DeliveryState::Pending {
                complete_pending(&mut tx, task).await?;
            }
            tx.commit().await.map_err(db_err)
        }

        /// An endpoint's attempts, newest first.
        pub(crate) async fn list_webhook_attempts(
            pool: &Pool<Db>,
            tenant: &TenantId,
            endpoint: &WebhookEndpointId,
            page: &PageRequest,
        ) -> StoreResult<Page<WebhookAttemptLog>> {
            get_webhook_endpoint(pool, tenant, endpoint).await?;
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                "SELECT * FROM webhook_attempts WHERE endpoint_id = $1 AND tenant_id = $2 \
                 AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4",
            )
            .bind(endpoint.as_str())
            .bind(tenant.as_str())
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(webhook_rows::attempt).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |a| a.id.to_string()))
        }

        /// Delivers one event again to an endpoint, or every failed delivery since a time.
        pub(crate) async fn redeliver(
            pool: &Pool<Db>,
            tenant: &TenantId,
            endpoint: &WebhookEndpointId,
            event: Option<&EventId>,
            failed_since: Option<OffsetDateTime>,
        ) -> StoreResult<u64> {
            get_webhook_endpoint(pool, tenant, endpoint).await?;
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND tenant_id = $2 \
                 AND ($3 IS NULL OR event_id = $3) \
                 AND ($4 IS NULL OR (state = 'failed' AND created_at >= $4)) ORDER BY id",
            )
            .bind(endpoint.as_str())
            .bind(tenant.as_str())
            .bind(event.map(|e| e.as_str()))
            .bind(failed_since.map(ts))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            if ids.is_empty() && let Some(event) = event {
                let row = sqlx::query("SELECT * FROM events WHERE id = $1 AND tenant_id = $2")
                    .bind(event.as_str())
                    .bind(tenant.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound("event"))?;
                let event = msg_rows::event(&row).map_err(db_err)?;
                insert_delivery(&mut tx, &event, Some(endpoint.as_str()), None).await?;
                tx.commit().await.map_err(db_err)?;
                return Ok(1);
            }
            let now = ts(OffsetDateTime::now_utc());
            for id in &ids {
                sqlx::query("UPDATE webhook_deliveries SET state = 'pending', attempts = 0, updated_at = $2 WHERE id = $1")
                    .bind(id)
                    .bind(now.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let id: WebhookDeliveryId = rows::parse("delivery id", id).map_err(db_err)?;
                queue_delivery(&mut tx, tenant, &id).await?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(ids.len() as u64)
        }

        /// A test event for one endpoint: the event (not fanned out), its delivery and task.
        pub(crate) async fn create_test_delivery(
            pool: &Pool<Db>,
            w: &WebhookEndpoint,
            e: &Event,
        ) -> StoreResult<WebhookDeliveryId> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            insert_event_row(&mut tx, e).await?;
            let id = insert_delivery(&mut tx, e, Some(w.id.as_str()), None).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(id)
        }

        /// The tenant's status-callback secret, made from `candidate` on first use.
        pub(crate) async fn callback_secret(pool: &Pool<Db>, tenant: &TenantId, candidate: &str) -> StoreResult<String> {
            sqlx::query(
                "INSERT INTO webhook_callback_secrets (tenant_id, sealed_secret, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id) DO NOTHING",
            )
            .bind(tenant.as_str())
            .bind(candidate)
            .bind(ts(OffsetDateTime::now_utc()))
            .execute(pool)
            .await
            .map_err(db_err)?;
            sqlx::query_scalar("SELECT sealed_secret FROM webhook_callback_secrets WHERE tenant_id = $1")
                .bind(tenant.as_str())
                .fetch_one(pool)
                .await
                .map_err(db_err)
        }

        /// Deletes events older than `before`; their deliveries and attempts go with them.
        pub(crate) async fn prune_events(pool: &Pool<Db>, before: OffsetDateTime) -> StoreResult<u64> {
            let done = sqlx::query("DELETE FROM events WHERE occurred_at < $1")
                .bind(ts(before))
                .execute(pool)
                .await
                .map_err(db_err)?;
            Ok(done.rows_affected())
        }
    };
}
pub(crate) use webhook_ops_sql;
