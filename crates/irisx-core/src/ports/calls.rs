//! The calls store port: trunks, agents, the calls ledger, recordings and the voice side of phone numbers.
//! The rules of [`super::messaging`] hold: tenant first (another tenant's row is `NotFound`), newest-first
//! cursor pages, and an event, task or audit entry is written in the same transaction as its change.
//! `tenant: Option<&TenantId>` on trunks selects a tenant's own (`Some`) or the platform's (`None`).
//!
//! [`MediaFetcher`] is the SSRF-safe HTTP GET the orchestrator fetches `Play` audio through.

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use super::store::StoreResult;
use crate::audit::AuditEntry;
use crate::calls::{Agent, Call, CallRecording, SipTrunk};
use crate::id::{AgentId, CallId, PhoneNumberId, SipTrunkId, TaskId, TenantId};
use crate::page::{Page, PageRequest};
use crate::sms::model::{Event, UsageRecord};
use crate::task::NewTask;
use crate::webhook::WebhookUrl;

/// The owner of a dialled number and the document that answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceRoute {
    /// The tenant holding the number.
    pub tenant_id: TenantId,
    /// The number's id.
    pub number_id: PhoneNumberId,
    /// Where its call-control document is fetched, when set.
    pub voice_url: Option<String>,
}

/// A change of a call's row, written with what goes with it in one transaction.
#[derive(Debug, Clone)]
pub struct CallUpdate<'a> {
    /// The call as it is now.
    pub call: &'a Call,
    /// An event to write (and fan out).
    pub event: Option<&'a crate::sms::model::Event>,
    /// A task to enqueue (the CDR).
    pub task: Option<&'a NewTask>,
    /// A task this change completes.
    pub completes: Option<&'a TaskId>,
}

/// A live call whose voice node stopped beating, now held by the node that claimed it to end it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrphanedCall {
    /// The call (its `node_id` is the claiming node).
    pub call: Call,
    /// When its former node was last seen alive, if it ever was.
    pub last_seen: Option<OffsetDateTime>,
}

/// The calls store port.
#[async_trait]
pub trait CallStore: Send + Sync + 'static {
    /// Stores a trunk with its audit entry.
    async fn create_trunk(&self, trunk: &SipTrunk, audit: &AuditEntry) -> StoreResult<()>;
    /// Writes a changed trunk (of its `tenant_id`, or the platform's) with its audit entry.
    async fn update_trunk(&self, trunk: &SipTrunk, audit: &AuditEntry) -> StoreResult<()>;
    /// A tenant's (or the platform's) trunk.
    async fn get_trunk(&self, tenant: Option<&TenantId>, id: &SipTrunkId) -> StoreResult<SipTrunk>;
    /// A tenant's (or the platform's) trunks, newest first.
    async fn list_trunks(&self, tenant: Option<&TenantId>, page: &PageRequest) -> StoreResult<Page<SipTrunk>>;
    /// Deletes a trunk with its audit entry.
    async fn delete_trunk(&self, tenant: Option<&TenantId>, id: &SipTrunkId, audit: &AuditEntry) -> StoreResult<()>;
    /// The enabled trunks a tenant's calls may use: its own when it has any, else the platform's.
    async fn trunks_for(&self, tenant: &TenantId) -> StoreResult<Vec<SipTrunk>>;

    /// Stores an agent with its audit entry (`Conflict` when the user name is taken).
    async fn create_agent(&self, agent: &Agent, audit: &AuditEntry) -> StoreResult<()>;
    /// A tenant's agent.
    async fn get_agent(&self, tenant: &TenantId, id: &AgentId) -> StoreResult<Agent>;
    /// A tenant's agents, newest first.
    async fn list_agents(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<Agent>>;
    /// Deletes a tenant's agent with its audit entry.
    async fn delete_agent(&self, tenant: &TenantId, id: &AgentId, audit: &AuditEntry) -> StoreResult<()>;
    /// The agent with this SIP user name, of any tenant (the registrar's lookup).
    async fn agent_by_username(&self, username: &str) -> StoreResult<Option<Agent>>;

    /// Stores a call with its first event and, for an outbound call, its `call.create` task.
    async fn create_call(&self, call: &Call, event: &Event, task: Option<&NewTask>) -> StoreResult<()>;
    /// A tenant's call.
    async fn get_call(&self, tenant: &TenantId, id: &CallId) -> StoreResult<Call>;
    /// A tenant's calls, newest first.
    async fn list_calls(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<Call>>;
    /// Writes a call's new state with its event, task and task completion.
    async fn update_call(&self, update: CallUpdate<'_>) -> StoreResult<()>;
    /// Writes a rated call with its usage record (when billable) and event, completing the CDR task; false
    /// (nothing written) when the task was already completed.
    async fn record_cdr(
        &self,
        call: &Call,
        usage: Option<&UsageRecord>,
        event: Option<&Event>,
        task: &TaskId,
    ) -> StoreResult<bool>;

    /// Leaves a change (JSON) for a live call of the tenant, for the voice node supervising it; `NotFound`
    /// when the call is not live.
    async fn request_control(&self, tenant: &TenantId, id: &CallId, control: &str) -> StoreResult<()>;
    /// Takes (and clears) the change left for a call.
    async fn take_control(&self, id: &CallId) -> StoreResult<Option<String>>;

    /// How many of the trunk's calls are answered and not ended (its carrier's concurrent-call count).
    async fn live_calls_on_trunk(&self, trunk: &SipTrunkId) -> StoreResult<i64>;

    /// Records that voice node `node` is alive at `at` (its first beat also records its start).
    async fn heartbeat_voice_node(&self, node: &str, at: OffsetDateTime) -> StoreResult<()>;
    /// Moves up to `limit` live calls whose node was last seen before `stale_before` (or that have no node
    /// and have not changed since) to `node`, for it to end them; each call is claimed by one node only.
    /// Stale nodes left without live calls are forgotten.
    async fn claim_orphaned_calls(
        &self,
        node: &str,
        stale_before: OffsetDateTime,
        limit: i64,
    ) -> StoreResult<Vec<OrphanedCall>>;

    /// Stores a recording's row (its bytes are in the object store already).
    async fn create_recording(&self, recording: &CallRecording) -> StoreResult<()>;
    /// A tenant's recordings of a call, oldest first.
    async fn list_recordings(&self, tenant: &TenantId, call: &CallId) -> StoreResult<Vec<CallRecording>>;

    /// Sets (or clears) the voice URL of a tenant's number.
    async fn set_voice_url(&self, tenant: &TenantId, id: &PhoneNumberId, url: Option<&str>) -> StoreResult<()>;
    /// The voice URL of a tenant's number.
    async fn voice_url(&self, tenant: &TenantId, id: &PhoneNumberId) -> StoreResult<Option<String>>;
    /// The tenant holding a dialled number, with its voice URL; `None` for a number no tenant holds.
    async fn voice_route(&self, number: &str) -> StoreResult<Option<VoiceRoute>>;
}

/// Fetches bytes from a tenant's URL under the SSRF rules (no redirects, allowed addresses only).
#[async_trait]
pub trait MediaFetcher: Send + Sync + 'static {
    /// GETs `url`; the body when the answer is 2xx and at most `limit` bytes, else why not.
    async fn get(&self, url: &WebhookUrl, limit: usize) -> Result<Bytes, String>;
}
