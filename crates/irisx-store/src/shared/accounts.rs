//! Provider accounts, routes and phone numbers: owned by a tenant or, with a NULL `tenant_id`, by the platform.

/// The owner condition on `tenant_id` for the owner bound at `$1` (NULL selects the platform's rows).
macro_rules! owner_is_1 {
    () => {
        "((CAST($1 AS TEXT) IS NULL AND tenant_id IS NULL) OR tenant_id = $1)"
    };
}
pub(crate) use owner_is_1;

/// A route joined with its account, columns aliased `r_*` and `a_*`, for the usable routes of the owner bound at
/// `$1` over enabled routes and accounts; the caller appends its channel and destination conditions.
macro_rules! usable_routes_from {
    () => {
        "SELECT r.id AS r_id, r.tenant_id AS r_tenant_id, r.prefix AS r_prefix, r.account_id AS r_account_id, \
         r.cost_micros AS r_cost_micros, r.currency AS r_currency, r.priority AS r_priority, \
         r.enabled AS r_enabled, r.created_at AS r_created_at, a.id AS a_id, a.tenant_id AS a_tenant_id, \
         a.kind AS a_kind, a.channel AS a_channel, a.name AS a_name, a.sealed_credentials AS a_sealed_credentials, \
         a.base_url AS a_base_url, a.enabled AS a_enabled, a.created_at AS a_created_at \
         FROM routes r JOIN provider_accounts a ON a.id = r.account_id \
         WHERE ((CAST($1 AS TEXT) IS NULL AND r.tenant_id IS NULL) OR r.tenant_id = $1) AND r.enabled AND a.enabled "
    };
}
pub(crate) use usable_routes_from;

/// Expands the account, route and number functions (see the [module docs](super)).
#[rustfmt::skip]
macro_rules! account_sql {
    () => {
        /// Stores an account.
        pub(crate) async fn create_provider_account(
            pool: &Pool<Db>,
            a: &ProviderAccount,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            sqlx::query(
                "INSERT INTO provider_accounts (id, tenant_id, kind, name, sealed_credentials, base_url, enabled, \
                 created_at, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(a.id.as_str())
            .bind(a.tenant_id.as_ref().map(|t| t.as_str()))
            .bind(msg_rows::wire(&a.kind))
            .bind(a.name.as_str())
            .bind(a.sealed_credentials.as_str())
            .bind(a.base_url.as_deref())
            .bind(a.enabled)
            .bind(ts(a.created_at))
            .bind(a.channel.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// An owner's account.
        pub(crate) async fn get_provider_account(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            id: &ProviderAccountId,
        ) -> StoreResult<ProviderAccount> {
            let row = sqlx::query(concat!("SELECT * FROM provider_accounts WHERE ", $crate::shared::accounts::owner_is_1!(), " AND id = $2"))
                .bind(tenant.map(|t| t.as_str()))
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("provider account"))?;
            msg_rows::account(&row, "").map_err(db_err)
        }

        /// Any account by id.
        pub(crate) async fn get_provider_account_any(
            pool: &Pool<Db>,
            id: &ProviderAccountId,
        ) -> StoreResult<ProviderAccount> {
            let row = sqlx::query("SELECT * FROM provider_accounts WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("provider account"))?;
            msg_rows::account(&row, "").map_err(db_err)
        }

        /// An owner's accounts, newest first.
        pub(crate) async fn list_provider_accounts(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            page: &PageRequest,
        ) -> StoreResult<Page<ProviderAccount>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(concat!(
                "SELECT * FROM provider_accounts WHERE ",
                $crate::shared::accounts::owner_is_1!(),
                " AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
            ))
            .bind(tenant.map(|t| t.as_str()))
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(|r| msg_rows::account(r, "")).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |a| a.id.to_string()))
        }

        /// Deletes an owner's account and its routes; refused while numbers are provisioned on it.
        pub(crate) async fn delete_provider_account(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            id: &ProviderAccountId,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            // Locks the account row (PostgreSQL) so that no number is provisioned on it meanwhile.
            let found = sqlx::query(concat!("UPDATE provider_accounts SET id = id WHERE ", $crate::shared::accounts::owner_is_1!(), " AND id = $2"))
                .bind(tenant.map(|t| t.as_str()))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if found.rows_affected() == 0 {
                return Err(StoreError::NotFound("provider account"));
            }
            let numbers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM phone_numbers WHERE account_id = $1")
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            if numbers > 0 {
                return Err(StoreError::Conflict(format!(
                    "the provider account still has {numbers} phone number(s) provisioned on it"
                )));
            }
            for sql in ["DELETE FROM routes WHERE account_id = $1", "DELETE FROM provider_accounts WHERE id = $1"] {
                sqlx::query(sql).bind(id.as_str()).execute(&mut *tx).await.map_err(db_err)?;
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Stores a route whose account has the same owner.
        pub(crate) async fn create_route(pool: &Pool<Db>, r: &Route, audit: &AuditEntry) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let owned: Option<String> = sqlx::query_scalar(concat!(
                "SELECT id FROM provider_accounts WHERE ",
                $crate::shared::accounts::owner_is_1!(),
                " AND id = $2"
            ))
            .bind(r.tenant_id.as_ref().map(|t| t.as_str()))
            .bind(r.account_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
            if owned.is_none() {
                return Err(StoreError::NotFound("provider account"));
            }
            sqlx::query(
                "INSERT INTO routes (id, tenant_id, prefix, account_id, cost_micros, currency, priority, enabled, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(r.id.as_str())
            .bind(r.tenant_id.as_ref().map(|t| t.as_str()))
            .bind(r.prefix.as_str())
            .bind(r.account_id.as_str())
            .bind(r.cost_micros)
            .bind(r.currency.as_str())
            .bind(r.priority)
            .bind(r.enabled)
            .bind(ts(r.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// An owner's routes, newest first.
        pub(crate) async fn list_routes(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            page: &PageRequest,
        ) -> StoreResult<Page<Route>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(concat!(
                "SELECT * FROM routes WHERE ",
                $crate::shared::accounts::owner_is_1!(),
                " AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
            ))
            .bind(tenant.map(|t| t.as_str()))
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(|r| msg_rows::route(r, "")).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |r| r.id.to_string()))
        }

        /// Deletes an owner's route.
        pub(crate) async fn delete_route(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            id: &RouteId,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let done = sqlx::query(concat!("DELETE FROM routes WHERE ", $crate::shared::accounts::owner_is_1!(), " AND id = $2"))
                .bind(tenant.map(|t| t.as_str()))
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("route"));
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// The usable routes of one owner (`$1`) for a destination (`$2`) as `sql` matches them, cheapest first.
        async fn usable_routes(
            pool: &Pool<Db>,
            sql: &'static str,
            tenant: Option<&TenantId>,
            to: &str,
        ) -> StoreResult<Vec<(Route, ProviderAccount)>> {
            let rows = sqlx::query(sql)
                .bind(tenant.map(|t| t.as_str()))
                .bind(to)
                .fetch_all(pool)
                .await
                .map_err(db_err)?;
            rows.iter()
                .map(|r| Ok((msg_rows::route(r, "r_")?, msg_rows::account(r, "a_")?)))
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)
        }

        /// The tenant's usable routes as `sql` matches them, or the platform's when it has none.
        async fn own_else_platform_routes(
            pool: &Pool<Db>,
            sql: &'static str,
            tenant: &TenantId,
            to: &str,
        ) -> StoreResult<Vec<(Route, ProviderAccount)>> {
            let own = usable_routes(pool, sql, Some(tenant), to).await?;
            if !own.is_empty() {
                return Ok(own);
            }
            usable_routes(pool, sql, None, to).await
        }

        /// The tenant's usable SMS routes whose prefix starts `to`, or the platform's when it has none.
        pub(crate) async fn routes_for(
            pool: &Pool<Db>,
            tenant: &TenantId,
            to: &str,
        ) -> StoreResult<Vec<(Route, ProviderAccount)>> {
            const SQL: &str = concat!(
                $crate::shared::accounts::usable_routes_from!(),
                "AND a.channel = 'sms' AND substr(CAST($2 AS TEXT), 1, length(r.prefix)) = r.prefix \
                 ORDER BY r.cost_micros, r.priority, r.id"
            );
            own_else_platform_routes(pool, SQL, tenant, to).await
        }
    };
}
pub(crate) use account_sql;
