//! The records of stored objects (attachments, inbound parts, recordings).

/// Expands the object functions (see the [module docs](super)).
macro_rules! object_sql {
    () => {
        fn object_row(r: &<Db as sqlx::Database>::Row) -> sqlx::Result<StoredObject> {
            Ok(StoredObject {
                id: rows::parse("object id", &r.text("id")?)?,
                tenant_id: rows::parse("tenant id", &r.text("tenant_id")?)?,
                purpose: rows::parse("object purpose", &r.text("purpose")?)?,
                key: r.text("key")?,
                filename: r.text("filename")?,
                content_type: r.text("content_type")?,
                size: u64::try_from(r.int("size")?).unwrap_or_default(),
                sha256: r.text("sha256")?,
                created_at: r.time("created_at")?,
            })
        }

        /// Records an object whose bytes are stored.
        pub(crate) async fn create_object(pool: &Pool<Db>, o: &StoredObject) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO objects (id, tenant_id, purpose, key, filename, content_type, size, sha256, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(o.id.as_str())
            .bind(o.tenant_id.as_str())
            .bind(o.purpose.as_str())
            .bind(o.key.as_str())
            .bind(o.filename.as_str())
            .bind(o.content_type.as_str())
            .bind(i64::try_from(o.size).unwrap_or(i64::MAX))
            .bind(o.sha256.as_str())
            .bind(ts(o.created_at))
            .execute(pool)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// An object, of `tenant` when one is given.
        pub(crate) async fn get_object(
            pool: &Pool<Db>,
            tenant: Option<&TenantId>,
            id: &ObjectId,
        ) -> StoreResult<StoredObject> {
            let row =
                sqlx::query("SELECT * FROM objects WHERE id = $1 AND (CAST($2 AS TEXT) IS NULL OR tenant_id = $2)")
                    .bind(id.as_str())
                    .bind(tenant.map(TenantId::as_str))
                    .fetch_optional(pool)
                    .await
                    .map_err(db_err)?
                    .ok_or(StoreError::NotFound("object"))?;
            object_row(&row).map_err(db_err)
        }
    };
}
pub(crate) use object_sql;
