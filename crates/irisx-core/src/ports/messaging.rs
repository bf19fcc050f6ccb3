//! The messaging store port: provider accounts, routes, numbers, messages and everything that happens to
//! them. The same rules as [`super::store`] hold: tenant first (another tenant's row is `NotFound`),
//! newest-first cursor pages, and every method that takes an [`Event`], a [`NewTask`] or an [`AuditEntry`]
//! writes it in the same transaction as its change.
//!
//! `tenant: Option<&TenantId>` selects a tenant's own rows (`Some`) or the platform's (`None`); a tenant never
//! reads the platform's accounts or routes through these methods, only through [`MessagingStore::routes_for`].

use async_trait::async_trait;
use time::OffsetDateTime;

use super::store::StoreResult;
use super::webhooks::AttemptRecord;
use crate::audit::AuditEntry;
use crate::id::{
    EventId, MessageId, PhoneNumberId, ProviderAccountId, RouteId, TaskId, TenantId, WebhookDeliveryId,
    WebhookEndpointId,
};
use crate::page::{Page, PageRequest};
use crate::sms::DeliveryStatus;
use crate::sms::model::{
    Attempt, Channel, Direction, Event, Message, OptOut, PhoneNumber, ProviderAccount, Route, StatusChange, UsageRecord,
};
use crate::sms::provider::StatusUpdate;
use crate::task::NewTask;
use crate::webhook::model::{WebhookAttemptLog, WebhookDelivery, WebhookEndpoint};

/// Which messages to list.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only sent (outbound) or only received (inbound) messages.
    pub direction: Option<Direction>,
    /// Only this status.
    pub status: Option<DeliveryStatus>,
    /// Only to this address.
    pub to: Option<String>,
    /// Only from this address.
    pub from: Option<String>,
    /// Only messages carrying this tag.
    pub tag: Option<String>,
    /// Only messages created at or after this time.
    pub created_from: Option<OffsetDateTime>,
    /// Only messages created before this time.
    pub created_to: Option<OffsetDateTime>,
}

/// Changes to a tenant's number: `Some(None)` clears a field, `None` keeps it.
#[derive(Debug, Clone, Default)]
pub struct NumberPatch {
    /// The HELP answer.
    pub help_text: Option<Option<String>>,
    /// The sender pool.
    pub pool: Option<Option<String>>,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only this type, or a prefix ending in `*`.
    pub event_type: Option<String>,
    /// Only about this resource.
    pub resource_id: Option<String>,
    /// Only events that occurred at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only events that occurred before this time.
    pub to: Option<OffsetDateTime>,
}

/// Usage summed over a period, per channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageTotal {
    /// The channel.
    pub channel: Channel,
    /// Units (segments, emails, seconds).
    pub quantity: i64,
    /// The unit.
    pub unit: String,
    /// What the tenant pays, micro-units.
    pub price_micros: i64,
    /// Currency.
    pub currency: String,
    /// How many records.
    pub records: i64,
}

/// What a send attempt's success writes, in one transaction with the task's completion.
#[derive(Debug, Clone)]
pub struct SentRecord {
    /// The accepted attempt.
    pub attempt: Attempt,
    /// The provider's id of the message.
    pub provider_message_id: String,
    /// The status the provider reported (usually `queued` or `sent`).
    pub status: DeliveryStatus,
    /// The price charged to the tenant.
    pub price_micros: i64,
    /// Currency.
    pub currency: String,
    /// The usage record.
    pub usage: UsageRecord,
    /// `message.sent` (or another event for the reported status).
    pub event: Event,
}

/// The messaging store port.
#[async_trait]
pub trait MessagingStore: Send + Sync + 'static {
    // ---- provider accounts ----

    /// Stores an account (credentials already sealed).
    async fn create_provider_account(&self, account: &ProviderAccount, audit: &AuditEntry) -> StoreResult<()>;
    /// A tenant's (or the platform's) account.
    async fn get_provider_account(
        &self,
        tenant: Option<&TenantId>,
        id: &ProviderAccountId,
    ) -> StoreResult<ProviderAccount>;
    /// Any account by id, whoever owns it (the worker and callbacks).
    async fn get_provider_account_any(&self, id: &ProviderAccountId) -> StoreResult<ProviderAccount>;
    /// A tenant's (or the platform's) accounts.
    async fn list_provider_accounts(
        &self,
        tenant: Option<&TenantId>,
        page: &PageRequest,
    ) -> StoreResult<Page<ProviderAccount>>;
    /// Deletes an account and its routes. Refused (`Conflict`) while numbers are provisioned on it.
    async fn delete_provider_account(
        &self,
        tenant: Option<&TenantId>,
        id: &ProviderAccountId,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    // ---- routes ----

    /// Stores a route (its account must belong to the same owner, else `NotFound`).
    async fn create_route(&self, route: &Route, audit: &AuditEntry) -> StoreResult<()>;
    /// A tenant's (or the platform's) routes.
    async fn list_routes(&self, tenant: Option<&TenantId>, page: &PageRequest) -> StoreResult<Page<Route>>;
    /// Deletes a route.
    async fn delete_route(&self, tenant: Option<&TenantId>, id: &RouteId, audit: &AuditEntry) -> StoreResult<()>;
    /// The enabled routes (with their enabled accounts) whose prefix starts `to`: the tenant's own when it has
    /// any matching, otherwise the platform's. Ordered by cost, then priority, then id.
    async fn routes_for(&self, tenant: &TenantId, to: &str) -> StoreResult<Vec<(Route, ProviderAccount)>>;

    // ---- phone numbers ----

    /// Adds a number to the platform's pool or straight to a tenant (`Conflict` when it exists).
    async fn create_phone_number(&self, number: &PhoneNumber, audit: &AuditEntry) -> StoreResult<()>;
    /// Assigns a number to a tenant, or returns it to the pool with `None`.
    async fn assign_phone_number(
        &self,
        id: &PhoneNumberId,
        tenant: Option<&TenantId>,
        audit: &AuditEntry,
    ) -> StoreResult<PhoneNumber>;
    /// A tenant's (or the pool's) numbers.
    async fn list_phone_numbers(&self, tenant: Option<&TenantId>, page: &PageRequest)
    -> StoreResult<Page<PhoneNumber>>;
    /// A tenant's number by id.
    async fn get_phone_number(&self, tenant: &TenantId, id: &PhoneNumberId) -> StoreResult<PhoneNumber>;
    /// Changes a tenant's number's help text and sender pool (`None` in the patch keeps a field).
    async fn update_phone_number(
        &self,
        tenant: &TenantId,
        id: &PhoneNumberId,
        patch: &NumberPatch,
    ) -> StoreResult<PhoneNumber>;
    /// A tenant's numbers in a sender pool, oldest first.
    async fn pool_numbers(&self, tenant: &TenantId, pool: &str) -> StoreResult<Vec<PhoneNumber>>;
    /// A number by its text, whoever holds it (inbound routing and `from` checks).
    async fn find_phone_number(&self, number: &str) -> StoreResult<Option<PhoneNumber>>;
    /// The send path's two checks in one query: the number `from` (whoever holds it) and whether `to` opted
    /// out of `tenant`'s messages; `None` when no such number exists.
    async fn find_sender(&self, tenant: &TenantId, from: &str, to: &str) -> StoreResult<Option<(PhoneNumber, bool)>>;

    // ---- messages ----

    /// Stores a new outbound message with its `message.queued` event and its send task, in one transaction.
    async fn create_message(&self, message: &Message, event: &Event, task: &NewTask) -> StoreResult<()>;
    /// Stores an inbound message with its `message.received` event.
    async fn create_inbound_message(&self, message: &Message, event: &Event) -> StoreResult<()>;
    /// A tenant's message.
    async fn get_message(&self, tenant: &TenantId, id: &MessageId) -> StoreResult<Message>;
    /// Any message by id (the worker).
    async fn get_message_any(&self, id: &MessageId) -> StoreResult<Message>;
    /// A tenant's messages, newest first.
    async fn list_messages(
        &self,
        tenant: &TenantId,
        filter: &MessageFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Message>>;
    /// The message a provider account sent under this provider id.
    async fn find_message_by_provider_id(
        &self,
        account: &ProviderAccountId,
        provider_message_id: &str,
    ) -> StoreResult<Option<Message>>;
    /// Keeps a receipt that arrived before its send was recorded (see [`MessagingStore::take_parked_receipts`]).
    async fn park_receipt(
        &self,
        account: &ProviderAccountId,
        update: &StatusUpdate,
        received_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Removes and returns the receipts parked for a send, oldest first, each with when it arrived. Whoever
    /// takes a receipt applies it: both the worker (after recording the send) and the receipt handler (after
    /// parking) take, so a receipt racing its send is applied exactly once.
    async fn take_parked_receipts(
        &self,
        account: &ProviderAccountId,
        provider_message_id: &str,
    ) -> StoreResult<Vec<(StatusUpdate, OffsetDateTime)>>;
    /// Deletes receipts parked before `before`; returns how many.
    async fn prune_parked_receipts(&self, before: OffsetDateTime) -> StoreResult<u64>;
    /// Cancels a scheduled message that has not been handed to a provider: status `canceled`, its event, and
    /// its task failed, together. `Conflict` when it is no longer cancelable.
    async fn cancel_message(&self, tenant: &TenantId, id: &MessageId, event: &Event) -> StoreResult<Message>;
    /// A message's attempts, oldest first.
    async fn list_attempts(&self, message: &MessageId) -> StoreResult<Vec<Attempt>>;
    /// A message's status history, oldest first.
    async fn list_status_changes(&self, message: &MessageId) -> StoreResult<Vec<StatusChange>>;

    // ---- the worker ----

    /// Records an attempt that did not end the message (retryable or unknown).
    async fn record_attempt(&self, attempt: &Attempt) -> StoreResult<()>;
    /// Records an accepted send: the attempt, the provider id and status, the price, the usage record, the
    /// event, and the task's completion, together. Does nothing (returns false) when the task is already done.
    async fn record_sent(&self, message: &MessageId, sent: &SentRecord, task: &TaskId) -> StoreResult<bool>;
    /// Records a final failure: the attempt (if any), status `failed` with the code and message, the event, and
    /// the task's completion, together. Does nothing (returns false) when the task is already done.
    async fn record_failed(
        &self,
        message: &MessageId,
        attempt: Option<&Attempt>,
        code: &str,
        error: &str,
        event: &Event,
        task: &TaskId,
    ) -> StoreResult<bool>;

    // ---- receipts ----

    /// Appends a status change; when `change.applied`, also sets the message's status (and error code) and
    /// writes `event`. Callers decide `applied` from the current status with
    /// [`DeliveryStatus::may_become`]; the store re-checks it against the row it locks, and stores the change
    /// unapplied when the message moved meanwhile. Returns whether it was applied.
    async fn apply_status_change(&self, change: &StatusChange, event: Option<&Event>) -> StoreResult<bool>;

    // ---- opt-outs ----

    /// Opts a number out of a tenant's messages (idempotent).
    async fn add_opt_out(&self, opt_out: &OptOut) -> StoreResult<()>;
    /// Opts a number back in; returns whether it was opted out.
    async fn remove_opt_out(&self, tenant: &TenantId, number: &str) -> StoreResult<bool>;
    /// Whether a number opted out of a tenant's messages.
    async fn is_opted_out(&self, tenant: &TenantId, number: &str) -> StoreResult<bool>;
    /// A tenant's opt-outs, ordered by number; the page cursor is the last number's digits without its `+`
    /// (the next page holds the numbers after it).
    async fn list_opt_outs(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<OptOut>>;

    // ---- usage and events ----

    /// A tenant's usage between two times, summed per channel (and unit and currency).
    async fn usage_totals(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        channel: Option<Channel>,
    ) -> StoreResult<Vec<UsageTotal>>;
    /// A tenant's events, newest first, filtered (a type ending in `*` matches a prefix).
    async fn search_events(
        &self,
        tenant: &TenantId,
        filter: &EventFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Event>>;
    /// A tenant's events, newest first, optionally of one type (a trailing `*` matches a prefix) or resource.
    async fn list_events(
        &self,
        tenant: &TenantId,
        event_type: Option<&str>,
        resource_id: Option<&str>,
        page: &PageRequest,
    ) -> StoreResult<Page<Event>> {
        let filter = EventFilter {
            event_type: event_type.map(str::to_owned),
            resource_id: resource_id.map(str::to_owned),
            ..EventFilter::default()
        };
        self.search_events(tenant, &filter, page).await
    }

    // ---- webhooks ----

    /// Stores an endpoint with its event filters.
    async fn create_webhook_endpoint(&self, endpoint: &WebhookEndpoint) -> StoreResult<()>;
    /// A tenant's endpoint.
    async fn get_webhook_endpoint(&self, tenant: &TenantId, id: &WebhookEndpointId) -> StoreResult<WebhookEndpoint>;
    /// A tenant's endpoints, newest first.
    async fn list_webhook_endpoints(&self, tenant: &TenantId, page: &PageRequest)
    -> StoreResult<Page<WebhookEndpoint>>;
    /// Replaces an endpoint's changeable fields and filters (`NotFound` when the tenant has no such endpoint).
    async fn update_webhook_endpoint(&self, endpoint: &WebhookEndpoint) -> StoreResult<()>;
    /// Deletes an endpoint with its deliveries and attempts.
    async fn delete_webhook_endpoint(&self, tenant: &TenantId, id: &WebhookEndpointId) -> StoreResult<()>;
    /// A delivery with its event and, for endpoint deliveries, the endpoint (the worker).
    async fn webhook_delivery(
        &self,
        id: &WebhookDeliveryId,
    ) -> StoreResult<(WebhookDelivery, Event, Option<WebhookEndpoint>)>;
    /// Records an attempt (see [`AttemptRecord`]); completes `task` when the delivery is settled.
    async fn record_webhook_attempt(&self, record: &AttemptRecord, task: &TaskId) -> StoreResult<()>;
    /// An endpoint's attempts, newest first.
    async fn list_webhook_attempts(
        &self,
        tenant: &TenantId,
        endpoint: &WebhookEndpointId,
        page: &PageRequest,
    ) -> StoreResult<Page<WebhookAttemptLog>>;
    /// Delivers again to an endpoint: one event (`event`, creating its delivery if the endpoint never had
    /// one), or every failed delivery created since `failed_since`. Each gets a fresh schedule and task;
    /// returns how many.
    async fn redeliver(
        &self,
        tenant: &TenantId,
        endpoint: &WebhookEndpointId,
        event: Option<&EventId>,
        failed_since: Option<OffsetDateTime>,
    ) -> StoreResult<u64>;
    /// Writes an event for one endpoint only (a test event): the event, its delivery and task.
    async fn create_test_delivery(&self, endpoint: &WebhookEndpoint, event: &Event) -> StoreResult<WebhookDeliveryId>;
    /// The tenant's status-callback secret, storing `candidate` (sealed) when it has none yet.
    async fn callback_secret(&self, tenant: &TenantId, candidate: &str) -> StoreResult<String>;
    /// Deletes events older than `before` with their deliveries and attempts; returns how many events.
    async fn prune_events(&self, before: OffsetDateTime) -> StoreResult<u64>;
}
