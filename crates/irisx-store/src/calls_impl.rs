//! The [`CallStore`](irisx_core::ports::calls::CallStore) implementation, written once: each method hands its
//! arguments to the function of the same name in the backend module that invokes [`impl_call_store!`].

/// Implements `CallStore` for `$store` (a struct with a `pool` field) by delegating to the shared functions of
/// the invoking module.
macro_rules! impl_call_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl irisx_core::ports::calls::CallStore for $store {
            async fn create_trunk(&self, t: &SipTrunk, a: &AuditEntry) -> StoreResult<()> {
                create_trunk(&self.pool, t, a).await
            }
            async fn update_trunk(&self, t: &SipTrunk, a: &AuditEntry) -> StoreResult<()> {
                update_trunk(&self.pool, t, a).await
            }
            async fn get_trunk(&self, t: Option<&TenantId>, id: &SipTrunkId) -> StoreResult<SipTrunk> {
                get_trunk(&self.pool, t, id).await
            }
            async fn list_trunks(&self, t: Option<&TenantId>, p: &PageRequest) -> StoreResult<Page<SipTrunk>> {
                list_trunks(&self.pool, t, p).await
            }
            async fn delete_trunk(&self, t: Option<&TenantId>, id: &SipTrunkId, a: &AuditEntry) -> StoreResult<()> {
                delete_trunk(&self.pool, t, id, a).await
            }
            async fn trunks_for(&self, t: &TenantId) -> StoreResult<Vec<SipTrunk>> {
                trunks_for(&self.pool, t).await
            }
            async fn create_agent(&self, agent: &Agent, a: &AuditEntry) -> StoreResult<()> {
                create_agent(&self.pool, agent, a).await
            }
            async fn get_agent(&self, t: &TenantId, id: &AgentId) -> StoreResult<Agent> {
                get_agent(&self.pool, t, id).await
            }
            async fn list_agents(&self, t: &TenantId, p: &PageRequest) -> StoreResult<Page<Agent>> {
                list_agents(&self.pool, t, p).await
            }
            async fn delete_agent(&self, t: &TenantId, id: &AgentId, a: &AuditEntry) -> StoreResult<()> {
                delete_agent(&self.pool, t, id, a).await
            }
            async fn agent_by_username(&self, username: &str) -> StoreResult<Option<Agent>> {
                agent_by_username(&self.pool, username).await
            }
            async fn create_call(&self, c: &Call, e: &Event, task: Option<&NewTask>) -> StoreResult<()> {
                create_call(&self.pool, c, e, task).await
            }
            async fn get_call(&self, t: &TenantId, id: &CallId) -> StoreResult<Call> {
                get_call(&self.pool, t, id).await
            }
            async fn list_calls(&self, t: &TenantId, p: &PageRequest) -> StoreResult<Page<Call>> {
                list_calls(&self.pool, t, p).await
            }
            async fn update_call(&self, u: CallUpdate<'_>) -> StoreResult<()> {
                update_call(&self.pool, u).await
            }
            async fn record_cdr(
                &self,
                c: &Call,
                usage: Option<&UsageRecord>,
                e: Option<&Event>,
                task: &TaskId,
            ) -> StoreResult<bool> {
                record_cdr(&self.pool, c, usage, e, task).await
            }
            async fn request_control(&self, t: &TenantId, id: &CallId, control: &str) -> StoreResult<()> {
                request_control(&self.pool, t, id, control).await
            }
            async fn take_control(&self, id: &CallId) -> StoreResult<Option<String>> {
                take_control(&self.pool, id).await
            }
            async fn live_calls_on_trunk(&self, t: &SipTrunkId) -> StoreResult<i64> {
                live_calls_on_trunk(&self.pool, t).await
            }
            async fn heartbeat_voice_node(&self, node: &str, at: OffsetDateTime) -> StoreResult<()> {
                heartbeat_voice_node(&self.pool, node, at).await
            }
            async fn claim_orphaned_calls(
                &self,
                node: &str,
                stale_before: OffsetDateTime,
                limit: i64,
            ) -> StoreResult<Vec<OrphanedCall>> {
                claim_orphaned_calls(&self.pool, node, stale_before, limit).await
            }
            async fn create_recording(&self, r: &CallRecording) -> StoreResult<()> {
                create_recording(&self.pool, r).await
            }
            async fn list_recordings(&self, t: &TenantId, c: &CallId) -> StoreResult<Vec<CallRecording>> {
                list_recordings(&self.pool, t, c).await
            }
            async fn set_voice_url(&self, t: &TenantId, id: &PhoneNumberId, url: Option<&str>) -> StoreResult<()> {
                set_voice_url(&self.pool, t, id, url).await
            }
            async fn voice_url(&self, t: &TenantId, id: &PhoneNumberId) -> StoreResult<Option<String>> {
                voice_url(&self.pool, t, id).await
            }
            async fn voice_route(&self, number: &str) -> StoreResult<Option<VoiceRoute>> {
                voice_route(&self.pool, number).await
            }
        }
    };
}
pub(crate) use impl_call_store;
