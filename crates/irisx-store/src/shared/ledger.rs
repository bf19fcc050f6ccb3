//! Opt-outs, usage records and the event log.

/// Expands the opt-out, usage and event functions (see the [module docs](super)).
macro_rules! ledger_sql {
    () => {
        /// Appends a usage record inside `tx`.
        async fn insert_usage(conn: &mut <Db as sqlx::Database>::Connection, u: &UsageRecord) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO usage_records (id, tenant_id, channel, resource_id, quantity, unit, cost_micros, \
                 price_micros, currency, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(u.id.as_str())
            .bind(u.tenant_id.as_str())
            .bind(u.channel.as_str())
            .bind(u.resource_id.as_str())
            .bind(u.quantity)
            .bind(u.unit.as_str())
            .bind(u.cost_micros)
            .bind(u.price_micros)
            .bind(u.currency.as_str())
            .bind(ts(u.created_at))
            .execute(conn)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Opts a number out (idempotent: the first opt-out is kept).
        pub(crate) async fn add_opt_out(pool: &Pool<Db>, o: &OptOut) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO opt_outs (tenant_id, number, source, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tenant_id, number) DO NOTHING",
            )
            .bind(o.tenant_id.as_str())
            .bind(o.number.as_str())
            .bind(o.source.as_str())
            .bind(ts(o.created_at))
            .execute(pool)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Opts a number back in; whether it was opted out.
        pub(crate) async fn remove_opt_out(pool: &Pool<Db>, tenant: &TenantId, number: &str) -> StoreResult<bool> {
            let done = sqlx::query("DELETE FROM opt_outs WHERE tenant_id = $1 AND number = $2")
                .bind(tenant.as_str())
                .bind(number)
                .execute(pool)
                .await
                .map_err(db_err)?;
            Ok(done.rows_affected() > 0)
        }

        /// Whether a number opted out of a tenant's messages.
        pub(crate) async fn is_opted_out(pool: &Pool<Db>, tenant: &TenantId, number: &str) -> StoreResult<bool> {
            let found: Option<String> = sqlx::query_scalar("SELECT number FROM opt_outs WHERE tenant_id = $1 AND number = $2")
                .bind(tenant.as_str())
                .bind(number)
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
            Ok(found.is_some())
        }

        /// A tenant's opt-outs by number; the cursor is the last number without its `+`.
        pub(crate) async fn list_opt_outs(pool: &Pool<Db>, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<OptOut>> {
            let (limit, fetch) = overfetch(page);
            let after = page.cursor.as_deref().map(|c| format!("+{}", c.trim_start_matches('+')));
            let rows = sqlx::query(
                "SELECT * FROM opt_outs WHERE tenant_id = $1 AND ($2 IS NULL OR number > $2) ORDER BY number LIMIT $3",
            )
            .bind(tenant.as_str())
            .bind(after)
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(msg_rows::opt_out).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |o| o.number.trim_start_matches('+').to_owned()))
        }

        /// A tenant's usage in `[from, to)`, summed per channel, unit and currency.
        pub(crate) async fn usage_totals(
            pool: &Pool<Db>,
            tenant: &TenantId,
            from: OffsetDateTime,
            to: OffsetDateTime,
            channel: Option<Channel>,
        ) -> StoreResult<Vec<UsageTotal>> {
            let rows = sqlx::query(
                "SELECT channel, unit, currency, CAST(SUM(quantity) AS BIGINT) AS quantity, \
                 CAST(SUM(price_micros) AS BIGINT) AS price_micros, COUNT(*) AS records FROM usage_records \
                 WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3 AND ($4 IS NULL OR channel = $4) \
                 GROUP BY channel, unit, currency ORDER BY channel, unit, currency",
            )
            .bind(tenant.as_str())
            .bind(ts(from))
            .bind(ts(to))
            .bind(channel.map(|c| c.as_str()))
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            rows.iter().map(msg_rows::usage_total).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)
        }

        /// A tenant's events, newest first; a type ending in `*` matches as a prefix.
        pub(crate) async fn search_events(
            pool: &Pool<Db>,
            tenant: &TenantId,
            f: &EventFilter,
            page: &PageRequest,
        ) -> StoreResult<Page<Event>> {
            let (limit, fetch) = overfetch(page);
            let (exact, prefix) = match f.event_type.as_deref() {
                Some(t) if t.ends_with('*') => (None, Some(format!("{}%", rows::like_escape(t.trim_end_matches('*'))))),
                Some(t) => (Some(t), None),
                None => (None, None),
            };
            let rows = sqlx::query(
                r"SELECT * FROM events WHERE tenant_id = $1 AND ($2 IS NULL OR event_type = $2)
                  AND ($3 IS NULL OR event_type LIKE $3 ESCAPE '\') AND ($4 IS NULL OR resource_id = $4)
                  AND ($5 IS NULL OR id < $5) AND ($7 IS NULL OR occurred_at >= $7)
                  AND ($8 IS NULL OR occurred_at < $8) ORDER BY id DESC LIMIT $6",
            )
            .bind(tenant.as_str())
            .bind(exact)
            .bind(prefix)
            .bind(f.resource_id.as_deref())
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .bind(f.from.map(ts))
            .bind(f.to.map(ts))
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(msg_rows::event).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |e| e.id.to_string()))
        }
    };
}
pub(crate) use ledger_sql;
