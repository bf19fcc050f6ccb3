//! A tenant's email templates.

/// Expands the template functions (see the [module docs](super)).
macro_rules! email_template_sql {
    () => {
        fn template_row(r: &<Db as sqlx::Database>::Row) -> sqlx::Result<EmailTemplate> {
            Ok(EmailTemplate {
                id: rows::parse("template id", &r.text("id")?)?,
                tenant_id: rows::parse("tenant id", &r.text("tenant_id")?)?,
                name: r.text("name")?,
                parts: TemplateParts {
                    subject: r.text("subject")?,
                    html: r.opt_text("html")?,
                    text: r.opt_text("text")?,
                },
                created_at: r.time("created_at")?,
                updated_at: r.time("updated_at")?,
            })
        }

        /// Stores a template (`Conflict` when the tenant has one of that name).
        pub(crate) async fn create_template(pool: &Pool<Db>, t: &EmailTemplate) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO email_templates (id, tenant_id, name, subject, html, text, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(t.id.as_str())
            .bind(t.tenant_id.as_str())
            .bind(t.name.as_str())
            .bind(t.parts.subject.as_str())
            .bind(t.parts.html.as_deref())
            .bind(t.parts.text.as_deref())
            .bind(ts(t.created_at))
            .bind(ts(t.updated_at))
            .execute(pool)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        /// A tenant's template.
        pub(crate) async fn get_template(
            pool: &Pool<Db>,
            tenant: &TenantId,
            id: &TemplateId,
        ) -> StoreResult<EmailTemplate> {
            let row = sqlx::query("SELECT * FROM email_templates WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(db_err)?
                .ok_or(StoreError::NotFound("email template"))?;
            template_row(&row).map_err(db_err)
        }

        /// A tenant's templates, newest first.
        pub(crate) async fn list_templates(
            pool: &Pool<Db>,
            tenant: &TenantId,
            page: &PageRequest,
        ) -> StoreResult<Page<EmailTemplate>> {
            let (limit, fetch) = overfetch(page);
            let rows = sqlx::query(
                "SELECT * FROM email_templates WHERE tenant_id = $1 AND (CAST($2 AS TEXT) IS NULL OR id < $2) \
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
                .map(template_row)
                .collect::<sqlx::Result<Vec<_>>>()
                .map_err(db_err)?;
            Ok(Page::from_overfetch(items, limit, |t| t.id.to_string()))
        }

        /// Replaces a tenant's template's name and parts.
        pub(crate) async fn update_template(pool: &Pool<Db>, t: &EmailTemplate) -> StoreResult<()> {
            let done = sqlx::query(
                "UPDATE email_templates SET name = $3, subject = $4, html = $5, text = $6, updated_at = $7 \
                 WHERE tenant_id = $1 AND id = $2",
            )
            .bind(t.tenant_id.as_str())
            .bind(t.id.as_str())
            .bind(t.name.as_str())
            .bind(t.parts.subject.as_str())
            .bind(t.parts.html.as_deref())
            .bind(t.parts.text.as_deref())
            .bind(ts(t.updated_at))
            .execute(pool)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("email template"));
            }
            Ok(())
        }

        /// Deletes a tenant's template.
        pub(crate) async fn delete_template(pool: &Pool<Db>, tenant: &TenantId, id: &TemplateId) -> StoreResult<()> {
            let done = sqlx::query("DELETE FROM email_templates WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_str())
                .execute(pool)
                .await
                .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound("email template"));
            }
            Ok(())
        }
    };
}
pub(crate) use email_template_sql;
