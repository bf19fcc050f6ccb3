//! The calls ledger: calls with their events and tasks, CDRs with their usage, recordings.

/// Expands the call functions (see the [module docs](super)).
macro_rules! call_sql {
    () => {
        fn call_row(r: &<Db as sqlx::Database>::Row) -> sqlx::Result<Call> {
            Ok(Call {
                id: rows::parse("call id", &r.text("id")?)?,
                tenant_id: rows::parse("tenant id", &r.text("tenant_id")?)?,
                direction: rows::parse("direction", &r.text("direction")?)?,
                from: r.text("from_addr")?,
                to: r.text("to_addr")?,
                status: rows::parse("call status", &r.text("status")?)?,
                url: r.opt_text("url")?,
                document: r.opt_text("document")?,
                status_callback: r.opt_text("status_callback")?,
                record: r.flag("record")?,
                timeout_secs: u32::try_from(r.int("timeout_secs")?).unwrap_or_default(),
                trunk_id: r.opt_text("trunk_id")?.map(|t| rows::parse("trunk id", &t)).transpose()?,
                rate_micros_per_minute: r.opt_int("rate_micros_per_minute")?,
                currency: r.opt_text("currency")?,
                error_code: r.opt_text("error_code")?,
                error_message: r.opt_text("error_message")?,
                sip_code: r.opt_int("sip_code")?.and_then(|c| u16::try_from(c).ok()),
                answered_at: r.opt_time("answered_at")?,
                ended_at: r.opt_time("ended_at")?,
                duration_secs: r.opt_int("duration_secs")?,
                billable_secs: r.opt_int("billable_secs")?,
                cost_micros: r.opt_int("cost_micros")?,
                price_micros: r.opt_int("price_micros")?,
                node_id: r.opt_text("node_id")?,
                created_at: r.time("created_at")?,
                updated_at: r.time("updated_at")?,
            })
        }

        /// Stores a call with its first event and its task.
        pub(crate) async fn create_call(pool: &Pool<Db>, c: &Call, e: &Event, task: Option<&NewTask>) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            sqlx::query(
                "INSERT INTO calls (id, tenant_id, direction, from_addr, to_addr, status, url, document, status_callback, \
                 record, timeout_secs, created_at, updated_at, node_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(c.id.as_str())
            .bind(c.tenant_id.as_str())
            .bind(c.direction.as_str())
            .bind(c.from.as_str())
            .bind(c.to.as_str())
            .bind(c.status.as_str())
            .bind(c.url.as_deref())
            .bind(c.document.as_deref())
            .bind(c.status_callback.as_deref())
            .bind(c.record)
            .bind(i64::from(c.timeout_secs))
            .bind(ts(c.created_at))
            .bind(ts(c.updated_at))
            .bind(c.node_id.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            insert_event(&mut tx, e).await?;
            if let Some(t) = task {
                insert_task(&mut tx, t).await?;
            }
            tx.commit().await.map_err(db_err)
        }

        /// A tenant's call.
        pub(crate) async fn get_call(pool: &Pool<Db>, tenant: &TenantId, id: &CallId) -> StoreResult<Call> {
            let row = sqlx::query("SELECT * FROM calls WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("call"))?;
            call_row(&row).map_err(db_err)
        }

        /// A tenant's calls, newest first.
        pub(crate) async fn list_calls(pool: &Pool<Db>, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<Call>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                "SELECT * FROM calls WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id < $2) \
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(tenant.as_str())
            .bind(page.cursor.as_deref())
            .bind(fetch)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let items = rows.iter().map(call_row).collect::<sqlx::Result<Vec<_>>>().map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |c| c.id.to_string()))
        }

        async fn write_call(conn: &mut <Db as sqlx::Database>::Connection, c: &Call) -> StoreResult<()> {
            let done = sqlx::query(
                "UPDATE calls SET status = $3, from_addr = $4, trunk_id = $5, rate_micros_per_minute = $6, currency = $7, \
                 error_code = $8, error_message = $9, sip_code = $10, answered_at = $11, ended_at = $12, \
                 duration_secs = $13, billable_secs = $14, cost_micros = $15, price_micros = $16, updated_at = $17, \
                 url = $18, document = $19, node_id = $20 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(c.tenant_id.as_str())
            .bind(c.id.as_str())
            .bind(c.status.as_str())
            .bind(c.from.as_str())
            .bind(c.trunk_id.as_ref().map(SipTrunkId::as_str))
            .bind(c.rate_micros_per_minute)
            .bind(c.currency.as_deref())
            .bind(c.error_code.as_deref())
            .bind(c.error_message.as_deref())
            .bind(c.sip_code.map(i64::from))
            .bind(c.answered_at.map(ts))
            .bind(c.ended_at.map(ts))
            .bind(c.duration_secs)
            .bind(c.billable_secs)
            .bind(c.cost_micros)
            .bind(c.price_micros)
            .bind(ts(c.updated_at))
            .bind(c.url.as_deref())
            .bind(c.document.as_deref())
            .bind(c.node_id.as_deref())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("call"));
            }
            Ok(())
        }

        /// Writes a call's new state with its event, task and task completion.
        pub(crate) async fn update_call(pool: &Pool<Db>, u: CallUpdate<'_>) -> StoreResult<()> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            if let Some(done) = u.completes {
                complete_pending(&mut tx, done).await?;
            }
            write_call(&mut tx, u.call).await?;
            if let Some(e) = u.event {
                insert_event(&mut tx, e).await?;
            }
            if let Some(t) = u.task {
                insert_task(&mut tx, t).await?;
            }
            tx.commit().await.map_err(db_err)
        }

        /// Writes a rated call with its usage and event, completing the CDR task.
        pub(crate) async fn record_cdr(
            pool: &Pool<Db>,
            c: &Call,
            usage: Option<&UsageRecord>,
            e: Option<&Event>,
            task: &TaskId,
        ) -> StoreResult<bool> {
            let mut tx = begin_write(pool).await.map_err(db_err)?;
            if !complete_pending(&mut tx, task).await? {
                return Ok(false);
            }
            write_call(&mut tx, c).await?;
            if let Some(u) = usage {
                insert_usage(&mut tx, u).await?;
            }
            if let Some(e) = e {
                insert_event(&mut tx, e).await?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(true)
        }

        /// Leaves a change for a live call of the tenant (`NotFound` when it is not live).
        pub(crate) async fn request_control(pool: &Pool<Db>, tenant: &TenantId, id: &CallId, control: &str) -> StoreResult<()> {
            let done = sqlx::query(
                "UPDATE calls SET control = $3 WHERE tenant_id = $1 AND id = $2 \
                 AND status IN ('initiated', 'ringing', 'in-progress')",
            )
            .bind(tenant.as_str())
            .bind(id.as_str())
            .bind(control)
            .execute(pool)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("live call"));
            }
            Ok(())
        }

        /// Takes (and clears) the pending change of a call.
        pub(crate) async fn take_control(pool: &Pool<Db>, id: &CallId) -> StoreResult<Option<String>> {
            let found: Option<Option<String>> = sqlx::query_scalar("SELECT control FROM calls WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?;
            let Some(control) = found.flatten() else { return Ok(None) };
            // Cleared only if unchanged, so a change left meanwhile is taken next time rather than lost.
            let done = sqlx::query("UPDATE calls SET control = NULL WHERE id = $1 AND control = $2")
                .bind(id.as_str())
                .bind(control.as_str())
                .execute(pool)
                .await
                .map_err(db_err)?;
            Ok((done.rows_affected() == 1).then_some(control))
        }

        /// How many of a trunk's calls are in progress.
        pub(crate) async fn live_calls_on_trunk(pool: &Pool<Db>, trunk: &SipTrunkId) -> StoreResult<i64> {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM calls WHERE trunk_id = $1 AND status = 'in-progress'")
                .bind(trunk.as_str())
                .fetch_one(pool)
                .await
                .map_err(db_err)?;
            Ok(n)
        }

        /// Records that a voice node is alive now.
        pub(crate) async fn heartbeat_voice_node(pool: &Pool<Db>, node: &str, at: OffsetDateTime) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO voice_nodes (id, started_at, seen_at) VALUES ($1, $2, $2) \
                 ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            )
            .bind(node)
            .bind(ts(at))
            .execute(pool)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// Moves up to `limit` live calls of nodes last seen before `stale_before` to `node`, returning them with
        /// when their node was last seen; then forgets stale nodes left without live calls.
        pub(crate) async fn claim_orphaned_calls(
            pool: &Pool<Db>,
            node: &str,
            stale_before: OffsetDateTime,
            limit: i64,
        ) -> StoreResult<Vec<OrphanedCall>> {
            // A call without a node row (its node never beat, or it predates heartbeats) counts from its last change.
            let rows = sqlx::query(
                "SELECT c.*, n.seen_at AS node_seen_at FROM calls c LEFT JOIN voice_nodes n ON n.id = c.node_id \
                 WHERE c.status IN ('initiated', 'ringing', 'in-progress') AND COALESCE(c.node_id, '') <> $1 \
                 AND COALESCE(n.seen_at, c.updated_at) < $2 ORDER BY c.id LIMIT $3",
            )
            .bind(node)
            .bind(ts(stale_before))
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
            let mut claimed = Vec::with_capacity(rows.len());
            for r in &rows {
                let mut call = call_row(r).map_err(db_err)?;
                let last_seen = r.opt_time("node_seen_at").map_err(db_err)?;
                // Taken only if no other node took it meanwhile.
                let done = sqlx::query(
                    "UPDATE calls SET node_id = $1 WHERE id = $2 AND COALESCE(node_id, '') = $3 \
                     AND status IN ('initiated', 'ringing', 'in-progress')",
                )
                .bind(node)
                .bind(call.id.as_str())
                .bind(call.node_id.as_deref().unwrap_or(""))
                .execute(pool)
                .await
                .map_err(db_err)?;
                if done.rows_affected() == 1 {
                    call.node_id = Some(node.to_owned());
                    claimed.push(OrphanedCall { call, last_seen });
                }
            }
            sqlx::query(
                "DELETE FROM voice_nodes WHERE seen_at < $1 AND id <> $2 AND NOT EXISTS (SELECT 1 FROM calls \
                 WHERE calls.node_id = voice_nodes.id AND calls.status IN ('initiated', 'ringing', 'in-progress'))",
            )
            .bind(ts(stale_before))
            .bind(node)
            .execute(pool)
            .await
            .map_err(db_err)?;
            Ok(claimed)
        }

        /// Stores a recording's row.
        pub(crate) async fn create_recording(pool: &Pool<Db>, r: &CallRecording) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO recordings (id, tenant_id, call_id, object_id, duration_ms, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(r.id.as_str())
            .bind(r.tenant_id.as_str())
            .bind(r.call_id.as_str())
            .bind(r.object_id.as_str())
            .bind(r.duration_ms)
            .bind(ts(r.created_at))
            .execute(pool)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// A tenant's recordings of a call, oldest first.
        pub(crate) async fn list_recordings(pool: &Pool<Db>, tenant: &TenantId, call: &CallId) -> StoreResult<Vec<CallRecording>> {
            let rows = sqlx::query("SELECT * FROM recordings WHERE tenant_id = $1 AND call_id = $2 ORDER BY id")
                .bind(tenant.as_str())
                .bind(call.as_str())
                .fetch_all(pool)
                .await
                .map_err(db_err)?;
            rows.iter()
                .map(|r| {
                    Ok(CallRecording {
                        id: rows::parse("recording id", &r.text("id")?)?,
                        tenant_id: rows::parse("tenant id", &r.text("tenant_id")?)?,
                        call_id: rows::parse("call id", &r.text("call_id")?)?,
                        object_id: rows::parse("object id", &r.text("object_id")?)?,
                        duration_ms: r.int("duration_ms")?,
                        created_at: r.time("created_at")?,
                    })
                })
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)
        }
    };
}
pub(crate) use call_sql;
