//! Email beside the messaging tables: content, routes by recipient domain, tracking events, suppressions.

/// Expands the email functions (see the [module docs](super)).
macro_rules! email_sql {
    () => {
        /// Stores an email's message row, its content, its event and its task together.
        pub(crate) async fn create_email(
            pool: &Pool<Db>,
            m: &Message,
            content: &EmailContent,
            e: &Event,
            task: &NewTask,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            insert_message(&mut tx, m, Some(&task.id)).await?;
            sqlx::query("INSERT INTO email_messages (message_id, tenant_id, content) VALUES ($1, $2, $3)")
                .bind(m.id.as_str())
                .bind(m.tenant_id.as_str())
                .bind(sqlx::types::Json(content))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            insert_event(&mut tx, e).await?;
            insert_task(&mut tx, task).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Stores a received email's message row, its content and its `email.received` event together.
        pub(crate) async fn create_inbound_email(
            pool: &Pool<Db>,
            m: &Message,
            content: &EmailContent,
            e: &Event,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            insert_message(&mut tx, m, None).await?;
            sqlx::query("INSERT INTO email_messages (message_id, tenant_id, content) VALUES ($1, $2, $3)")
                .bind(m.id.as_str())
                .bind(m.tenant_id.as_str())
                .bind(sqlx::types::Json(content))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            insert_event(&mut tx, e).await?;
            tx.commit().await.map_err(db_err)
        }

        /// An email's content.
        pub(crate) async fn get_email_content(pool: &Pool<Db>, id: &MessageId) -> StoreResult<EmailContent> {
            let row = sqlx::query("SELECT content FROM email_messages WHERE message_id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("email"))?;
            let json = row.json("content").map_err(db_err)?;
            serde_json::from_value(json).map_err(|e| db_err(sqlx::Error::Decode(Box::new(e))))
        }

        /// The tenant's usable email routes serving `domain`, or the platform's when it has none.
        pub(crate) async fn email_routes_for(
            pool: &Pool<Db>,
            tenant: &TenantId,
            domain: &str,
        ) -> StoreResult<Vec<(Route, ProviderAccount)>> {
            const SQL: &str = concat!(
                $crate::shared::accounts::usable_routes_from!(),
                "AND a.channel = 'email' AND (r.prefix = '*' OR r.prefix = CAST($2 AS TEXT) \
                 OR substr(CAST($2 AS TEXT), length(CAST($2 AS TEXT)) - length(r.prefix)) = '.' || r.prefix) \
                 ORDER BY r.cost_micros, r.priority, r.id"
            );
            own_else_platform_routes(pool, SQL, tenant, domain).await
        }

        /// Records a tracking event once, with the suppression it causes.
        pub(crate) async fn record_tracking(
            pool: &Pool<Db>,
            t: &TrackingRecord,
            suppression: Option<&Suppression>,
        ) -> StoreResult<bool> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let done = sqlx::query(
                "INSERT INTO email_tracking (id, tenant_id, message_id, recipient, kind, dedupe_key, url, reason, raw, \
                 occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (message_id, dedupe_key) DO NOTHING",
            )
            .bind(StatusChangeId::new().as_str())
            .bind(t.tenant_id.as_str())
            .bind(t.message_id.as_str())
            .bind(t.recipient.as_str())
            .bind(t.kind.as_str())
            .bind(t.dedupe_key.as_str())
            .bind(t.url.as_deref())
            .bind(t.reason.as_deref())
            .bind(sqlx::types::Json(&t.raw))
            .bind(ts(t.occurred_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            if let Some(s) = suppression {
                insert_suppression(&mut tx, s).await?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(true)
        }

        /// Tracking events counted by kind, for a message or a period.
        pub(crate) async fn tracking_counts(
            pool: &Pool<Db>,
            tenant: &TenantId,
            message: Option<&MessageId>,
            from: OffsetDateTime,
            to: OffsetDateTime,
        ) -> StoreResult<Vec<KindCount>> {
            let rows = sqlx::query(
                "SELECT kind, COUNT(*) AS n FROM email_tracking WHERE tenant_id = $1 \
                 AND (CAST($2 AS TEXT) IS NULL OR message_id = $2) AND occurred_at >= $3 AND occurred_at < $4 \
                 GROUP BY kind ORDER BY kind",
            )
            .bind(tenant.as_str())
            .bind(message.map(|m| m.as_str()))
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            rows.iter()
                .map(|r| {
                    Ok(KindCount {
                        kind: r.text("kind")?,
                        count: r.int("n")?,
                    })
                })
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)
        }

        /// A tenant's emails created in a period.
        pub(crate) async fn count_emails(
            pool: &Pool<Db>,
            tenant: &TenantId,
            from: OffsetDateTime,
            to: OffsetDateTime,
        ) -> StoreResult<i64> {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM messages WHERE tenant_id = $1 AND channel = 'email' \
                 AND created_at >= $2 AND created_at < $3",
            )
            .bind(tenant.as_str())
            .bind(ts(from))
            .bind(ts(to))
            .fetch_one(pool)
            .await
            .map_err(db_err)
        }

        /// Inserts a suppression inside `tx`; an existing one is kept.
        async fn insert_suppression(conn: &mut <Db as sqlx::Database>::Connection, s: &Suppression) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO email_suppressions (tenant_id, address, reason, message_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, address) DO NOTHING",
            )
            .bind(s.tenant_id.as_str())
            .bind(s.address.as_str())
            .bind(s.reason.as_str())
            .bind(s.message_id.as_ref().map(|m| m.as_str()))
            .bind(ts(s.created_at))
            .execute(conn)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Suppresses an address.
        pub(crate) async fn add_suppression(pool: &Pool<Db>, s: &Suppression) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            insert_suppression(&mut tx, s).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Lifts a suppression.
        pub(crate) async fn remove_suppression(pool: &Pool<Db>, tenant: &TenantId, address: &str) -> StoreResult<bool> {
            let done = sqlx::query("DELETE FROM email_suppressions WHERE tenant_id = $1 AND address = $2")
                .bind(tenant.as_str())
                .bind(address)
                .execute(pool)
                .await
                .map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        }

        /// The suppressed addresses among `addresses` (at most a send's recipients: one probe each).
        pub(crate) async fn suppressed_among(
            pool: &Pool<Db>,
            tenant: &TenantId,
            addresses: &[String],
        ) -> StoreResult<Vec<String>> {
            let mut out = Vec::new();
            for a in addresses {
                let hit: Option<String> =
                    sqlx::query_scalar("SELECT address FROM email_suppressions WHERE tenant_id = $1 AND address = $2")
                        .bind(tenant.as_str())
                        .bind(a.as_str())
                        .fetch_optional(pool)
                        .await
                        .map_err(db_err)?;
                out.extend(hit);
            }
            Ok(out)
        }

        /// A tenant's suppressions by address.
        pub(crate) async fn list_suppressions(
            pool: &Pool<Db>,
            tenant: &TenantId,
            page: &PageRequest,
        ) -> StoreResult<Page<Suppression>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                "SELECT * FROM email_suppressions WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR address > $2) \
                 ORDER BY address LIMIT $3",
            )
            .bind(tenant.as_str())
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows
                .iter()
                .map(|r| {
                    Ok(Suppression {
                        tenant_id: tenant.clone(),
                        address: r.text("address")?,
                        reason: r.text("reason")?,
                        message_id: r
                            .opt_text("message_id")?
                            .map(|m| rows::parse("message id", &m))
                            .transpose()?,
                        created_at: r.time("created_at")?,
                    })
                })
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |s| s.address.clone()))
        }
    };
}
pub(crate) use email_sql;
