//! SIP trunks, agents and the voice URL of phone numbers.

/// Expands the trunk and agent functions (see the [module docs](super)).
macro_rules! trunk_sql {
    () => {
        fn trunk_row(r: &<Db as sqlx::Database>::Row) -> sqlx::Result<SipTrunk> {
            let decode = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
            Ok(SipTrunk {
                id: rows::parse("trunk id", &r.text("id")?)?,
                tenant_id: r
                    .opt_text("tenant_id")?
                    .map(|t| rows::parse("tenant id", &t))
                    .transpose()?,
                name: r.text("name")?,
                host: r.text("host")?,
                port: u16::try_from(r.int("port")?).unwrap_or_default(),
                transport: rows::parse("transport", &r.text("transport")?)?,
                sealed_credentials: r.opt_text("sealed_credentials")?,
                caller_id: r.opt_text("caller_id")?,
                caller_id_mode: rows::parse("caller id mode", &r.text("caller_id_mode")?)?,
                number_format: rows::parse("number format", &r.text("number_format")?)?,
                codecs: serde_json::from_value(r.json("codecs")?).map_err(decode)?,
                max_calls: u32::try_from(r.int("max_calls")?).unwrap_or_default(),
                rates: serde_json::from_value(r.json("rates")?).map_err(decode)?,
                currency: r.text("currency")?,
                enabled: r.flag("enabled")?,
                created_at: r.time("created_at")?,
            })
        }

        fn agent_row(r: &<Db as sqlx::Database>::Row) -> sqlx::Result<Agent> {
            Ok(Agent {
                id: rows::parse("agent id", &r.text("id")?)?,
                tenant_id: rows::parse("tenant id", &r.text("tenant_id")?)?,
                username: r.text("username")?,
                name: r.text("name")?,
                sealed_password: r.text("sealed_password")?,
                created_at: r.time("created_at")?,
            })
        }

        /// `sql` with a trunk's owner (`$1`), id (`$2`) and columns (`$3` name to `$15` number format) bound, in
        /// the order both the insert and the update name them.
        fn trunk_query<'q>(sql: &'static str, t: &'q SipTrunk) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments> {
            sqlx::query(sql)
            .bind(t.tenant_id.as_ref().map(TenantId::as_str))
            .bind(t.id.as_str())
            .bind(t.name.as_str())
            .bind(t.host.as_str())
            .bind(i32::from(t.port))
            .bind(t.transport.as_str())
            .bind(t.sealed_credentials.as_deref())
            .bind(t.caller_id.as_deref())
            .bind(sqlx::types::Json(&t.codecs))
            .bind(i64::from(t.max_calls))
            .bind(sqlx::types::Json(&t.rates))
            .bind(t.currency.as_str())
            .bind(t.enabled)
            .bind(t.caller_id_mode.as_str())
            .bind(t.number_format.as_str())
        }

        /// Stores a trunk with its audit entry.
        pub(crate) async fn create_trunk(pool: &Pool<Db>, t: &SipTrunk, audit: &AuditEntry) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let insert = "INSERT INTO sip_trunks (tenant_id, id, name, host, port, transport, sealed_credentials, \
                 caller_id, codecs, max_calls, rates, currency, enabled, caller_id_mode, number_format, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)";
            trunk_query(insert, t)
            .bind(ts(t.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// Writes an owner's changed trunk with its audit entry.
        pub(crate) async fn update_trunk(pool: &Pool<Db>, t: &SipTrunk, audit: &AuditEntry) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let update = concat!(
                "UPDATE sip_trunks SET name = $3, host = $4, port = $5, transport = $6, sealed_credentials = $7, \
                 caller_id = $8, codecs = $9, max_calls = $10, rates = $11, currency = $12, enabled = $13, \
                 caller_id_mode = $14, number_format = $15 WHERE ",
                $crate::shared::accounts::owner_is_1!(),
                " AND id = $2"
            );
            let done = trunk_query(update, t)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("SIP trunk"));
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// An owner's trunk.
        pub(crate) async fn get_trunk(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            id: &SipTrunkId,
        ) -> StoreResult<SipTrunk> {
            let row = sqlx::query(concat!(
                "SELECT * FROM sip_trunks WHERE ",
                $crate::shared::accounts::owner_is_1!(),
                " AND id = $2"
            ))
            .bind(tenant.map(TenantId::as_str))
            .bind(id.as_str())
            .fetch_optional(pool)
            .await
            .map_err(db_err)?
            .ok_or(StoreError::NotFound("SIP trunk"))?;
            trunk_row(&row).map_err(db_err)
        }

        /// An owner's trunks, newest first.
        pub(crate) async fn list_trunks(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            page: &PageRequest,
        ) -> StoreResult<Page<SipTrunk>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(concat!(
                "SELECT * FROM sip_trunks WHERE ",
                $crate::shared::accounts::owner_is_1!(),
                " AND (CAST($2 AS TEXT) IS NULL OR id < $2) ORDER BY id DESC LIMIT $3"
            ))
            .bind(tenant.map(TenantId::as_str))
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows
                .iter()
                .map(trunk_row)
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |t| t.id.to_string()))
        }

        /// Deletes an owner's trunk with its audit entry.
        pub(crate) async fn delete_trunk(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            id: &SipTrunkId,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let done = sqlx::query(concat!(
                "DELETE FROM sip_trunks WHERE ",
                $crate::shared::accounts::owner_is_1!(),
                " AND id = $2"
            ))
            .bind(tenant.map(TenantId::as_str))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("SIP trunk"));
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        async fn enabled_trunks(pool: &Pool<Db>, tenant: Option<&TenantId>) -> StoreResult<Vec<SipTrunk>> {
            let rows = sqlx::query(concat!(
                "SELECT * FROM sip_trunks WHERE ",
                $crate::shared::accounts::owner_is_1!(),
                " AND enabled = $2 ORDER BY id"
            ))
            .bind(tenant.map(TenantId::as_str))
            .bind(true)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            rows.iter()
                .map(trunk_row)
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)
        }

        /// The tenant's enabled trunks, or the platform's when it has none.
        pub(crate) async fn trunks_for(pool: &Pool<Db>, tenant: &TenantId) -> StoreResult<Vec<SipTrunk>> {
            let own = enabled_trunks(pool, Some(tenant)).await?;
            if !own.is_empty() {
                return Ok(own);
            }
            enabled_trunks(pool, None).await
        }

        /// Stores an agent with its audit entry.
        pub(crate) async fn create_agent(pool: &Pool<Db>, a: &Agent, audit: &AuditEntry) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            sqlx::query(
                "INSERT INTO agents (id, tenant_id, username, name, sealed_password, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(a.id.as_str())
            .bind(a.tenant_id.as_str())
            .bind(a.username.as_str())
            .bind(a.name.as_str())
            .bind(a.sealed_password.as_str())
            .bind(ts(a.created_at))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// A tenant's agent.
        pub(crate) async fn get_agent(pool: &Pool<Db>, tenant: &TenantId, id: &AgentId) -> StoreResult<Agent> {
            let row = sqlx::query("SELECT * FROM agents WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("agent"))?;
            agent_row(&row).map_err(db_err)
        }

        /// A tenant's agents, newest first.
        pub(crate) async fn list_agents(
            pool: &Pool<Db>,
            tenant: &TenantId,
            page: &PageRequest,
        ) -> StoreResult<Page<Agent>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                "SELECT * FROM agents WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id < $2) \
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
                .map(agent_row)
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |a| a.id.to_string()))
        }

        /// Deletes a tenant's agent with its audit entry.
        pub(crate) async fn delete_agent(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &AgentId,
            audit: &AuditEntry,
        ) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            let done = sqlx::query("DELETE FROM agents WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("agent"));
            }
            insert_audit(&mut tx, audit).await?;
            tx.commit().await.map_err(db_err)
        }

        /// The agent with a SIP user name, of any tenant.
        pub(crate) async fn agent_by_username(pool: &Pool<Db>, username: &str) -> StoreResult<Option<Agent>> {
            let row = sqlx::query("SELECT * FROM agents WHERE username = $1")
                .bind(username)
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
            row.as_ref().map(agent_row).transpose().map_err(db_err)
        }

        /// Sets the voice URL of a tenant's number.
        pub(crate) async fn set_voice_url(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &PhoneNumberId,
            url: Option<&str>,
        ) -> StoreResult<()> {
            let done = sqlx::query(
                "UPDATE phone_numbers SET voice_url = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(tenant.as_str())
            .bind(id.as_str())
            .bind(url)
            .bind(ts(OffsetDateTime::now_utc()))
            .execute(pool)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("phone number"));
            }
            Ok(())
        }

        /// The voice URL of a tenant's number.
        pub(crate) async fn voice_url(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &PhoneNumberId,
        ) -> StoreResult<Option<String>> {
            let row = sqlx::query("SELECT voice_url FROM phone_numbers WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("phone number"))?;
            row.opt_text("voice_url").map_err(db_err)
        }

        /// The tenant holding a dialled number (`+` optional in `number`), with its voice URL.
        pub(crate) async fn voice_route(pool: &Pool<Db>, number: &str) -> StoreResult<Option<VoiceRoute>> {
            let plus = if number.starts_with('+') {
                number.to_owned()
            } else {
                format!("+{number}")
            };
            let row = sqlx::query(
                "SELECT id, tenant_id, voice_url FROM phone_numbers WHERE number = $1 AND tenant_id IS NOT NULL",
            )
            .bind(plus)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
            let Some(r) = row else { return Ok(None) };
            let route = (|| -> sqlx::Result<VoiceRoute> {
                Ok(VoiceRoute {
                    tenant_id: rows::parse("tenant id", &r.text("tenant_id")?)?,
                    number_id: rows::parse("phone number id", &r.text("id")?)?,
                    voice_url: r.opt_text("voice_url")?,
                })
            })()
            .map_err(db_err)?;
            Ok(Some(route))
        }
    };
}
pub(crate) use trunk_sql;
