//! The [`MessagingStore`](irisx_core::ports::messaging::MessagingStore) implementation, written once: each
//! method hands its arguments to the function of the same name in the backend module that invokes
//! [`impl_messaging_store!`].

/// Implements `MessagingStore` for `$store` (a struct with a `pool` field and a `writes` group commit) by delegating to the shared
/// functions of the invoking module.
macro_rules! impl_messaging_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl irisx_core::ports::messaging::MessagingStore for $store {
            async fn create_provider_account(&self, a: &ProviderAccount, audit: &AuditEntry) -> StoreResult<()> {
                create_provider_account(&self.pool, a, audit).await
            }
            async fn get_provider_account(
                &self,
                t: Option<&TenantId>,
                id: &ProviderAccountId,
            ) -> StoreResult<ProviderAccount> {
                get_provider_account(&self.pool, t, id).await
            }
            async fn get_provider_account_any(&self, id: &ProviderAccountId) -> StoreResult<ProviderAccount> {
                get_provider_account_any(&self.pool, id).await
            }
            async fn list_provider_accounts(
                &self,
                t: Option<&TenantId>,
                p: &PageRequest,
            ) -> StoreResult<Page<ProviderAccount>> {
                list_provider_accounts(&self.pool, t, p).await
            }
            async fn delete_provider_account(
                &self,
                t: Option<&TenantId>,
                id: &ProviderAccountId,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                delete_provider_account(&self.pool, t, id, audit).await
            }
            async fn create_route(&self, r: &Route, audit: &AuditEntry) -> StoreResult<()> {
                create_route(&self.pool, r, audit).await
            }
            async fn list_routes(&self, t: Option<&TenantId>, p: &PageRequest) -> StoreResult<Page<Route>> {
                list_routes(&self.pool, t, p).await
            }
            async fn delete_route(&self, t: Option<&TenantId>, id: &RouteId, audit: &AuditEntry) -> StoreResult<()> {
                delete_route(&self.pool, t, id, audit).await
            }
            async fn routes_for(&self, t: &TenantId, to: &str) -> StoreResult<Vec<(Route, ProviderAccount)>> {
                routes_for(&self.pool, t, to).await
            }
            async fn create_phone_number(&self, n: &PhoneNumber, audit: &AuditEntry) -> StoreResult<()> {
                create_phone_number(&self.pool, n, audit).await
            }
            async fn assign_phone_number(
                &self,
                id: &PhoneNumberId,
                t: Option<&TenantId>,
                audit: &AuditEntry,
            ) -> StoreResult<PhoneNumber> {
                assign_phone_number(&self.pool, id, t, audit).await
            }
            async fn list_phone_numbers(
                &self,
                t: Option<&TenantId>,
                p: &PageRequest,
            ) -> StoreResult<Page<PhoneNumber>> {
                list_phone_numbers(&self.pool, t, p).await
            }
            async fn get_phone_number(&self, t: &TenantId, id: &PhoneNumberId) -> StoreResult<PhoneNumber> {
                get_phone_number(&self.pool, t, id).await
            }
            async fn update_phone_number(
                &self,
                t: &TenantId,
                id: &PhoneNumberId,
                patch: &NumberPatch,
            ) -> StoreResult<PhoneNumber> {
                update_phone_number(&self.pool, t, id, patch).await
            }
            async fn pool_numbers(&self, t: &TenantId, pool: &str) -> StoreResult<Vec<PhoneNumber>> {
                pool_numbers(&self.pool, t, pool).await
            }
            async fn find_phone_number(&self, number: &str) -> StoreResult<Option<PhoneNumber>> {
                find_phone_number(&self.pool, number).await
            }
            async fn find_sender(
                &self,
                t: &TenantId,
                from: &str,
                to: &str,
            ) -> StoreResult<Option<(PhoneNumber, bool)>> {
                find_sender(&self.pool, t, from, to).await
            }
            async fn create_message(&self, m: &Message, e: &Event, task: &NewTask) -> StoreResult<()> {
                self.writes.write(m, e, task).await
            }
            async fn create_inbound_message(&self, m: &Message, e: &Event) -> StoreResult<()> {
                create_inbound_message(&self.pool, m, e).await
            }
            async fn get_message(&self, t: &TenantId, id: &MessageId) -> StoreResult<Message> {
                get_message(&self.pool, t, id).await
            }
            async fn get_message_any(&self, id: &MessageId) -> StoreResult<Message> {
                get_message_any(&self.pool, id).await
            }
            async fn list_messages(
                &self,
                t: &TenantId,
                f: &MessageFilter,
                p: &PageRequest,
            ) -> StoreResult<Page<Message>> {
                list_messages(&self.pool, t, f, p).await
            }
            async fn find_message_by_provider_id(
                &self,
                account: &ProviderAccountId,
                provider_message_id: &str,
            ) -> StoreResult<Option<Message>> {
                find_message_by_provider_id(&self.pool, account, provider_message_id).await
            }
            async fn park_receipt(
                &self,
                account: &ProviderAccountId,
                update: &StatusUpdate,
                received_at: OffsetDateTime,
            ) -> StoreResult<()> {
                park_receipt(&self.pool, account, update, received_at).await
            }
            async fn take_parked_receipts(
                &self,
                account: &ProviderAccountId,
                provider_message_id: &str,
            ) -> StoreResult<Vec<(StatusUpdate, OffsetDateTime)>> {
                take_parked_receipts(&self.pool, account, provider_message_id).await
            }
            async fn prune_parked_receipts(&self, before: OffsetDateTime) -> StoreResult<u64> {
                prune_parked_receipts(&self.pool, before).await
            }
            async fn cancel_message(&self, t: &TenantId, id: &MessageId, e: &Event) -> StoreResult<Message> {
                cancel_message(&self.pool, t, id, e).await
            }
            async fn list_attempts(&self, m: &MessageId) -> StoreResult<Vec<Attempt>> {
                list_attempts(&self.pool, m).await
            }
            async fn list_status_changes(&self, m: &MessageId) -> StoreResult<Vec<StatusChange>> {
                list_status_changes(&self.pool, m).await
            }
            async fn record_attempt(&self, a: &Attempt) -> StoreResult<()> {
                record_attempt(&self.pool, a).await
            }
            async fn record_sent(&self, m: &MessageId, s: &SentRecord, task: &TaskId) -> StoreResult<bool> {
                record_sent(&self.pool, m, s, task).await
            }
            async fn record_failed(
                &self,
                m: &MessageId,
                attempt: Option<&Attempt>,
                code: &str,
                error: &str,
                e: &Event,
                task: &TaskId,
            ) -> StoreResult<bool> {
                record_failed(&self.pool, m, attempt, code, error, e, task).await
            }
            async fn apply_status_change(&self, c: &StatusChange, e: Option<&Event>) -> StoreResult<bool> {
                apply_status_change(&self.pool, c, e).await
            }
            async fn add_opt_out(&self, o: &OptOut) -> StoreResult<()> {
                add_opt_out(&self.pool, o).await
            }
            async fn remove_opt_out(&self, t: &TenantId, number: &str) -> StoreResult<bool> {
                remove_opt_out(&self.pool, t, number).await
            }
            async fn is_opted_out(&self, t: &TenantId, number: &str) -> StoreResult<bool> {
                is_opted_out(&self.pool, t, number).await
            }
            async fn list_opt_outs(&self, t: &TenantId, p: &PageRequest) -> StoreResult<Page<OptOut>> {
                list_opt_outs(&self.pool, t, p).await
            }
            async fn usage_totals(
                &self,
                t: &TenantId,
                from: OffsetDateTime,
                to: OffsetDateTime,
                channel: Option<Channel>,
            ) -> StoreResult<Vec<UsageTotal>> {
                usage_totals(&self.pool, t, from, to, channel).await
            }
            async fn search_events(&self, t: &TenantId, f: &EventFilter, p: &PageRequest) -> StoreResult<Page<Event>> {
                search_events(&self.pool, t, f, p).await
            }
            async fn create_webhook_endpoint(&self, w: &WebhookEndpoint) -> StoreResult<()> {
                create_webhook_endpoint(&self.pool, w).await
            }
            async fn get_webhook_endpoint(&self, t: &TenantId, id: &WebhookEndpointId) -> StoreResult<WebhookEndpoint> {
                get_webhook_endpoint(&self.pool, t, id).await
            }
            async fn list_webhook_endpoints(
                &self,
                t: &TenantId,
                p: &PageRequest,
            ) -> StoreResult<Page<WebhookEndpoint>> {
                list_webhook_endpoints(&self.pool, t, p).await
            }
            async fn update_webhook_endpoint(&self, w: &WebhookEndpoint) -> StoreResult<()> {
                update_webhook_endpoint(&self.pool, w).await
            }
            async fn delete_webhook_endpoint(&self, t: &TenantId, id: &WebhookEndpointId) -> StoreResult<()> {
                delete_webhook_endpoint(&self.pool, t, id).await
            }
            async fn webhook_delivery(
                &self,
                id: &WebhookDeliveryId,
            ) -> StoreResult<(WebhookDelivery, Event, Option<WebhookEndpoint>)> {
                webhook_delivery(&self.pool, id).await
            }
            async fn record_webhook_attempt(&self, r: &AttemptRecord, task: &TaskId) -> StoreResult<()> {
                record_webhook_attempt(&self.pool, r, task).await
            }
            async fn list_webhook_attempts(
                &self,
                t: &TenantId,
                endpoint: &WebhookEndpointId,
                p: &PageRequest,
            ) -> StoreResult<Page<WebhookAttemptLog>> {
                list_webhook_attempts(&self.pool, t, endpoint, p).await
            }
            async fn redeliver(
                &self,
                t: &TenantId,
                endpoint: &WebhookEndpointId,
                event: Option<&EventId>,
                failed_since: Option<OffsetDateTime>,
            ) -> StoreResult<u64> {
                redeliver(&self.pool, t, endpoint, event, failed_since).await
            }
            async fn create_test_delivery(&self, w: &WebhookEndpoint, e: &Event) -> StoreResult<WebhookDeliveryId> {
                create_test_delivery(&self.pool, w, e).await
            }
            async fn callback_secret(&self, t: &TenantId, candidate: &str) -> StoreResult<String> {
                callback_secret(&self.pool, t, candidate).await
            }
            async fn prune_events(&self, before: OffsetDateTime) -> StoreResult<u64> {
                prune_events(&self.pool, before).await
            }
        }
    };
}
pub(crate) use impl_messaging_store;
