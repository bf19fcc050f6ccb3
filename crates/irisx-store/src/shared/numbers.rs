//! Phone numbers: the platform's pool (`tenant_id` NULL) and the numbers tenants hold.

/// Expands the phone number functions (see the [module docs](super)).
macro_rules! number_sql {
    () => {
        /// Adds a number to the pool or to a tenant.
        pub(crate) async fn create_phone_number(
            pool: &Pool<Db>,
            n: &PhoneNumber,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            sqlx::query(
                "INSERT INTO phone_numbers (id, tenant_id, number, account_id, sender_type, capabilities, help_text, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(n.id.as_str())
            .bind(n.tenant_id.as_ref().map(|t| t.as_str()))
            .bind(n.number.as_str())
            .bind(n.account_id.as_ref().map(|a| a.as_str()))
            .bind(n.sender_type.as_str())
            .bind(sqlx::types::Json(msg_rows::list_json(&n.capabilities)))
            .bind(n.help_text.as_deref())
            .bind(ts(n.created_at))
            .bind(ts(n.updated_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Assigns a number to a tenant, or returns it to the pool.
        pub(crate) async fn assign_phone_number(
            pool: &Pool<Db>,
            id: &PhoneNumberId,
            tenant: Option<&TenantId>,
            audit: &AuditEntry,
        ) -> StoreResult<PhoneNumber> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            if let Some(t) = tenant {
                tenant_status(&mut tx, t)
                    .await?
                    .ok_or(StoreError::NotFound("tenant"))?;
            }
            let row = sqlx::query("UPDATE phone_numbers SET tenant_id = $2, updated_at = $3 WHERE id = $1 RETURNING *")
                .bind(id.as_str())
                .bind(tenant.map(|t| t.as_str()))
                .bind(ts(OffsetDateTime::now_utc()))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("phone number"))?;
            let number = msg_rows::phone_number(&row).map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(number)
        }

        /// A tenant's (or the pool's) numbers, newest first.
        pub(crate) async fn list_phone_numbers(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            page: &PageRequest,
        ) -> StoreResult<Page<PhoneNumber>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(concat!(
                "SELECT * FROM phone_numbers WHERE ",
                $crate::shared::accounts::owner_is_1!(),
                " AND ($2 IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
            ))
            .bind(tenant.map(|t| t.as_str()))
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows
                .iter()
                .map(msg_rows::phone_number)
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |n| n.id.to_string()))
        }

        /// A tenant's number.
        pub(crate) async fn get_phone_number(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &PhoneNumberId,
        ) -> StoreResult<PhoneNumber> {
            let row = sqlx::query("SELECT * FROM phone_numbers WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("phone number"))?;
            msg_rows::phone_number(&row).map_err(db_err)
        }

        /// Changes a tenant's number's help text and sender pool, keeping the fields the patch leaves out.
        pub(crate) async fn update_phone_number(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &PhoneNumberId,
            patch: &NumberPatch,
        ) -> StoreResult<PhoneNumber> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let row = sqlx::query(
                "UPDATE phone_numbers SET help_text = CASE WHEN $3 THEN $4 ELSE help_text END, \
                 pool = CASE WHEN $5 THEN $6 ELSE pool END, updated_at = $7 \
                 WHERE tenant_id = $1 AND id = $2 RETURNING *",
            )
            .bind(tenant.as_str())
            .bind(id.as_str())
            .bind(patch.help_text.is_some())
            .bind(patch.help_text.clone().flatten())
            .bind(patch.pool.is_some())
            .bind(patch.pool.clone().flatten())
            .bind(ts(OffsetDateTime::now_utc()))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("phone number"))?;
            let number = msg_rows::phone_number(&row).map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(number)
        }

        /// A number by its text, whoever holds it.
        pub(crate) async fn find_phone_number(pool: &Pool<Db>, number: &str) -> StoreResult<Option<PhoneNumber>> {
            let row = sqlx::query("SELECT * FROM phone_numbers WHERE number = $1")
                .bind(number)
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
            row.map(|r| msg_rows::phone_number(&r))
                .transpose()
                .map_err(db_err)
        }

        /// A tenant's numbers in a sender pool, oldest first.
        pub(crate) async fn pool_numbers(
            pool: &Pool<Db>,
            tenant: &TenantId,
            name: &str,
        ) -> StoreResult<Vec<PhoneNumber>> {
            let rows = sqlx::query("SELECT * FROM phone_numbers WHERE tenant_id = $1 AND pool = $2 ORDER BY id")
                .bind(tenant.as_str())
                .bind(name)
                .fetch_all(pool)
                .await
                .map_err(db_err)?;
            rows.iter()
                .map(msg_rows::phone_number)
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)
        }

        /// A number by its text, with whether `to` opted out of `tenant`'s messages (one round trip).
        pub(crate) async fn find_sender(
            pool: &Pool<Db>,
            tenant: &TenantId,
            from: &str,
            to: &str,
        ) -> StoreResult<Option<(PhoneNumber, bool)>> {
            let row = sqlx::query(
                "SELECT p.*, EXISTS (SELECT 1 FROM opt_outs o WHERE o.tenant_id = $2 AND o.number = $3) AS opted_out \
                 FROM phone_numbers p WHERE p.number = $1",
            )
            .bind(from)
            .bind(tenant.as_str())
            .bind(to)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
            row.map(|r| Ok::<_, sqlx::Error>((msg_rows::phone_number(&r)?, r.flag("opted_out")?)))
                .transpose()
                .map_err(db_err)
        }
    };
}
pub(crate) use number_sql;
