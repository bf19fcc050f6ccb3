//! Webhook endpoints, the fan-out of events to them, deliveries and their attempts.

/// Expands the webhook functions (see the [module docs](super)).
macro_rules! webhook_sql {
    () => {
        /// The outbox task of a delivery's next attempt, inside `tx`.
        async fn queue_delivery(
            conn: &mut <Db as sqlx::Database>::Connection,
            tenant: &TenantId,
            delivery: &WebhookDeliveryId,
        ) -> StoreResult<()> {
            let task = NewTask::now(Task::DeliverWebhookV1(DeliverWebhookV1 {
                tenant_id: tenant.clone(),
                delivery_id: delivery.clone(),
            }));
            insert_task(conn, &task).await
        }

        /// A new pending delivery of `event` with its task, inside `tx`.
        async fn insert_delivery(
            conn: &mut <Db as sqlx::Database>::Connection,
            event: &Event,
            endpoint: Option<&str>,
            url: Option<&str>,
        ) -> StoreResult<WebhookDeliveryId> {
            let mut ids = insert_deliveries(conn, &[(event, endpoint, url)]).await?;
            Ok(ids.remove(0))
        }

        /// Fans a just-written event out, inside its transaction (see [`fan_out_all`]).
        async fn fan_out(conn: &mut <Db as sqlx::Database>::Connection, e: &Event) -> StoreResult<()> {
            fan_out_all(conn, &[e]).await
        }

        /// Fans just-written events out, inside their transaction: one delivery (and task) per enabled
        /// endpoint whose filters match an event's type, and one to an event's status callback URL. One query
        /// reads the endpoints of every tenant in the batch (a tenant without endpoints costs one index probe
        /// for the whole batch), and the deliveries and their tasks are written in one statement each.
        async fn fan_out_all(conn: &mut <Db as sqlx::Database>::Connection, events: &[&Event]) -> StoreResult<()> {
            let mut tenants: Vec<&str> = events.iter().map(|e| e.tenant_id.as_str()).collect();
            tenants.sort_unstable();
            tenants.dedup();
            let mut q = sqlx::QueryBuilder::<Db>::new(
                "SELECT w.id, w.tenant_id, f.pattern, f.is_prefix FROM webhook_endpoints w \
                 JOIN webhook_endpoint_filters f ON f.endpoint_id = w.id WHERE w.enabled = TRUE AND w.tenant_id IN (",
            );
            let mut list = q.separated(", ");
            for t in &tenants {
                list.push_bind(*t);
            }
            q.push(") ORDER BY w.id");
            let filters: Vec<(String, String, String, bool)> =
                q.build_query_as().fetch_all(&mut *conn).await.map_err(db_err)?;
            let mut deliveries: Vec<(&Event, Option<&str>, Option<&str>)> = Vec::new();
            for e in events {
                let mut last: Option<&str> = None;
                for (endpoint, tenant, pattern, is_prefix) in &filters {
                    let hit = tenant == e.tenant_id.as_str()
                        && if *is_prefix { e.event_type.starts_with(pattern.as_str()) } else { e.event_type == *pattern };
                    // Rows come ordered by endpoint: one delivery per endpoint however many filters match.
                    if hit && last != Some(endpoint.as_str()) {
                        deliveries.push((e, Some(endpoint.as_str()), None));
                        last = Some(endpoint.as_str());
                    }
                }
                if let Some(url) = &e.callback_url {
                    deliveries.push((e, None, Some(url.as_str())));
                }
            }
            insert_deliveries(conn, &deliveries).await.map(drop)
        }

        /// New pending deliveries `(event, endpoint, url)` with their tasks, inside `tx`; their ids in order.
        async fn insert_deliveries(
            conn: &mut <Db as sqlx::Database>::Connection,
            deliveries: &[(&Event, Option<&str>, Option<&str>)],
        ) -> StoreResult<Vec<WebhookDeliveryId>> {
            if deliveries.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<WebhookDeliveryId> = deliveries.iter().map(|_| WebhookDeliveryId::new()).collect();
            let now = OffsetDateTime::now_utc();
            let mut q = sqlx::QueryBuilder::<Db>::new(
                "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, url, event_id, state, attempts, \
                 created_at, updated_at) ",
            );
            q.push_values(deliveries.iter().zip(&ids), |mut b, ((e, endpoint, url), id)| {
                b.push_bind(id.as_str())
                    .push_bind(e.tenant_id.as_str())
                    .push_bind(*endpoint)
                    .push_bind(*url)
                    .push_bind(e.id.as_str())
                    .push("'pending'")
                    .push("0")
                    .push_bind(ts(now))
                    .push_bind(ts(now));
            });
            q.build().execute(&mut *conn).await.map_err(db_err)?;
            let tasks: Vec<NewTask> = deliveries
                .iter()
                .zip(&ids)
                .map(|((e, ..), delivery_id)| {
                    NewTask::now(Task::DeliverWebhookV1(DeliverWebhookV1 {
                        tenant_id: e.tenant_id.clone(),
                        delivery_id: delivery_id.clone(),
                    }))
                })
                .collect();
            insert_tasks(conn, &tasks).await?;
            Ok(ids)
        }

        /// Writes an endpoint's filter rows, inside `tx`.
        async fn insert_filters(conn: &mut <Db as sqlx::Database>::Connection, w: &WebhookEndpoint) -> StoreResult<()> {
            let mut seen = std::collections::HashSet::new();
            for pattern in &w.event_types {
                let (text, is_prefix) = pattern.stored();
                if !seen.insert((text, is_prefix)) {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO webhook_endpoint_filters (endpoint_id, tenant_id, pattern, is_prefix) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(w.id.as_str())
                .bind(w.tenant_id.as_str())
                .bind(text)
                .bind(is_prefix)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            }
            Ok(())
        }

        fn patterns_json(w: &WebhookEndpoint) -> serde_json::Value {
            serde_json::Value::Array(w.event_types.iter().map(|p| p.as_str().into()).collect())
        }

        /// Stores an endpoint with its filters.
        pub(crate) async fn create_webhook_endpoint(pool: &Pool<Db>, w: &WebhookEndpoint) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, tenant_id, url, description, event_types, enabled, \
                 sealed_headers, rate_limit_per_second, sealed_secret, previous_sealed_secret, \
                 previous_secret_until, disabled_reason, failing_since, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(w.id.as_str())
            .bind(w.tenant_id.as_str())
            .bind(w.url.as_str())
            .bind(w.description.as_deref())
            .bind(sqlx::types::Json(patterns_json(w)))
            .bind(w.enabled)
            .bind(w.sealed_headers.as_deref())
            .bind(w.rate_limit_per_second.map(i64::from))
            .bind(&w.sealed_secret)
            .bind(w.previous_secret.as_ref().map(|(s, _)| s.clone()))
            .bind(w.previous_secret.as_ref().map(|(_, t)| ts(*t)))
            .bind(w.disabled_reason.as_deref())
            .bind(w.failing_since.map(ts))
            .bind(ts(w.created_at))
            .bind(ts(w.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_filters(&mut tx, w).await?;
            tx.commit().await.map_err(db_err)
        }

        /// A tenant's endpoint.
        pub(crate) async fn get_webhook_endpoint(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &WebhookEndpointId,
        ) -> StoreResult<WebhookEndpoint> {
            let row = sqlx::query("SELECT * FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2")
                .bind(id.as_str())
                .bind(tenant.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("webhook endpoint"))?;
            webhook_rows::endpoint(&row).map_err(db_err)
        }

        /// A tenant's endpoints, newest first.
        pub(crate) async fn list_webhook_endpoints(
            pool: &Pool<Db>,
            tenant: &TenantId,
            page: &PageRequest,
        ) -> StoreResult<Page<WebhookEndpoint>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                "SELECT * FROM webhook_endpoints WHERE tenant_id = $1 AND ($2 IS NULL OR id < $2) \
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(tenant.as_str())
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows
                .iter()
                .map(webhook_rows::endpoint)
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |w| w.id.to_string()))
        }

        /// Replaces an endpoint's changeable fields and its filters.
        pub(crate) async fn update_webhook_endpoint(pool: &Pool<Db>, w: &WebhookEndpoint) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let done = sqlx::query(
                "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, enabled = $6, \
                 sealed_headers = $7, rate_limit_per_second = $8, sealed_secret = $9, \
                 previous_sealed_secret = $10, previous_secret_until = $11, disabled_reason = $12, \
                 failing_since = $13, updated_at = $14 WHERE id = $1 AND tenant_id = $2",
            )
            .bind(w.id.as_str())
            .bind(w.tenant_id.as_str())
            .bind(w.url.as_str())
            .bind(w.description.as_deref())
            .bind(sqlx::types::Json(patterns_json(w)))
            .bind(w.enabled)
            .bind(w.sealed_headers.as_deref())
            .bind(w.rate_limit_per_second.map(i64::from))
            .bind(&w.sealed_secret)
            .bind(w.previous_secret.as_ref().map(|(s, _)| s.clone()))
            .bind(w.previous_secret.as_ref().map(|(_, t)| ts(*t)))
            .bind(w.disabled_reason.as_deref())
            .bind(w.failing_since.map(ts))
            .bind(ts(w.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("webhook endpoint"));
            }
            sqlx::query("DELETE FROM webhook_endpoint_filters WHERE endpoint_id = $1")
                .bind(w.id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            insert_filters(&mut tx, w).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Deletes an endpoint (its filters, deliveries and attempts go with it).
        pub(crate) async fn delete_webhook_endpoint(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &WebhookEndpointId,
        ) -> StoreResult<()> {
            let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND tenant_id = $2")
                .bind(id.as_str())
                .bind(tenant.as_str())
                .execute(pool)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("webhook endpoint"));
            }
            Ok(())
        }
    };
}
pub(crate) use webhook_sql;
