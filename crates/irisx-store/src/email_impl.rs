//! The [`EmailStore`](irisx_core::ports::email::EmailStore) implementation, written once: each method hands
//! its arguments to the function of the same name in the backend module that invokes [`impl_email_store!`].

/// Implements `EmailStore` for `$store` (a struct with a `pool` field) by delegating to the shared functions of
/// the invoking module.
macro_rules! impl_email_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl irisx_core::ports::email::EmailStore for $store {
            async fn create_email(&self, m: &Message, c: &EmailContent, e: &Event, task: &NewTask) -> StoreResult<()> {
                create_email(&self.pool, m, c, e, task).await
            }
            async fn create_inbound_email(&self, m: &Message, c: &EmailContent, e: &Event) -> StoreResult<()> {
                create_inbound_email(&self.pool, m, c, e).await
            }
            async fn get_email_content(&self, m: &MessageId) -> StoreResult<EmailContent> {
                get_email_content(&self.pool, m).await
            }
            async fn email_routes_for(&self, t: &TenantId, domain: &str) -> StoreResult<Vec<(Route, ProviderAccount)>> {
                email_routes_for(&self.pool, t, domain).await
            }
            async fn record_tracking(&self, r: &TrackingRecord, s: Option<&Suppression>) -> StoreResult<bool> {
                record_tracking(&self.pool, r, s).await
            }
            async fn tracking_counts(
                &self,
                t: &TenantId,
                m: Option<&MessageId>,
                from: OffsetDateTime,
                to: OffsetDateTime,
            ) -> StoreResult<Vec<KindCount>> {
                tracking_counts(&self.pool, t, m, from, to).await
            }
            async fn count_emails(&self, t: &TenantId, from: OffsetDateTime, to: OffsetDateTime) -> StoreResult<i64> {
                count_emails(&self.pool, t, from, to).await
            }
            async fn add_suppression(&self, s: &Suppression) -> StoreResult<()> {
                add_suppression(&self.pool, s).await
            }
            async fn remove_suppression(&self, t: &TenantId, address: &str) -> StoreResult<bool> {
                remove_suppression(&self.pool, t, address).await
            }
            async fn suppressed_among(&self, t: &TenantId, addresses: &[String]) -> StoreResult<Vec<String>> {
                suppressed_among(&self.pool, t, addresses).await
            }
            async fn list_suppressions(&self, t: &TenantId, p: &PageRequest) -> StoreResult<Page<Suppression>> {
                list_suppressions(&self.pool, t, p).await
            }
            async fn create_template(&self, t: &EmailTemplate) -> StoreResult<()> {
                create_template(&self.pool, t).await
            }
            async fn get_template(&self, t: &TenantId, id: &TemplateId) -> StoreResult<EmailTemplate> {
                get_template(&self.pool, t, id).await
            }
            async fn list_templates(&self, t: &TenantId, p: &PageRequest) -> StoreResult<Page<EmailTemplate>> {
                list_templates(&self.pool, t, p).await
            }
            async fn update_template(&self, t: &EmailTemplate) -> StoreResult<()> {
                update_template(&self.pool, t).await
            }
            async fn delete_template(&self, t: &TenantId, id: &TemplateId) -> StoreResult<()> {
                delete_template(&self.pool, t, id).await
            }
        }
    };
}
pub(crate) use impl_email_store;
