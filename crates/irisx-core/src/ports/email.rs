//! The email store port: what email keeps beside the channel-generic messaging tables. An email is a row of
//! `messages` (channel `email`) with its attempts, status history, usage and events there; this port adds its
//! content, its routes by recipient domain, its tracking events and the tenant's suppression list. The rules of
//! [`super::messaging`] hold: tenant first, and an event or task is written in its change's transaction.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::store::StoreResult;
use crate::email::content::EmailContent;
use crate::email::template::EmailTemplate;
use crate::id::{MessageId, TemplateId, TenantId};
use crate::page::{Page, PageRequest};
use crate::sms::model::{Event, Message, ProviderAccount, Route};
use crate::task::NewTask;

/// An address a tenant's email is no longer sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The address, lower-cased.
    pub address: String,
    /// `hard_bounce`, `spam_report`, `unsubscribed` or `manual`.
    pub reason: String,
    /// The message whose event suppressed it, when one did.
    pub message_id: Option<MessageId>,
    /// When.
    pub created_at: OffsetDateTime,
}

/// One tracking event of one recipient, as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackingRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The message.
    pub message_id: MessageId,
    /// The recipient.
    pub recipient: String,
    /// `delivered`, `bounced`, `dropped`, `deferred`, `opened`, `clicked`, `spam_report`, `unsubscribed`.
    pub kind: String,
    /// The vendor's event id with the recipient, or a digest of the event: a vendor's retry is recorded once.
    pub dedupe_key: String,
    /// The followed link, for clicks.
    pub url: Option<String>,
    /// The vendor's reason, for bounces, drops and deferrals.
    pub reason: Option<String>,
    /// The vendor's event.
    pub raw: serde_json::Value,
    /// When it happened.
    pub occurred_at: OffsetDateTime,
}

/// How many tracking events of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCount {
    /// The kind.
    pub kind: String,
    /// How many.
    pub count: i64,
}

/// The email store port.
#[async_trait]
pub trait EmailStore: Send + Sync + 'static {
    /// Stores an outbound email (its message row and its content) with its queued event and send task.
    async fn create_email(
        &self,
        message: &Message,
        content: &EmailContent,
        event: &Event,
        task: &NewTask,
    ) -> StoreResult<()>;
    /// Stores a received email (its message row and its content) with its `email.received` event.
    async fn create_inbound_email(&self, message: &Message, content: &EmailContent, event: &Event) -> StoreResult<()>;
    /// An email's content (any tenant: the worker; callers check the message's tenant first).
    async fn get_email_content(&self, message: &MessageId) -> StoreResult<EmailContent>;
    /// The enabled email routes (with their enabled email accounts) serving `domain` (a route for
    /// `example.com` serves it and its subdomains; `*` serves every domain): the tenant's own when it has any
    /// matching, otherwise the platform's. Ordered by cost, then priority, then id.
    async fn email_routes_for(&self, tenant: &TenantId, domain: &str) -> StoreResult<Vec<(Route, ProviderAccount)>>;
    /// Records a tracking event, with the suppression it causes, together; false (and nothing written) when
    /// the same event was recorded before.
    async fn record_tracking(&self, record: &TrackingRecord, suppression: Option<&Suppression>) -> StoreResult<bool>;
    /// A tenant's tracking events counted by kind, for one message or for the period.
    async fn tracking_counts(
        &self,
        tenant: &TenantId,
        message: Option<&MessageId>,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<KindCount>>;
    /// A tenant's emails created in the period.
    async fn count_emails(&self, tenant: &TenantId, from: OffsetDateTime, to: OffsetDateTime) -> StoreResult<i64>;
    /// Suppresses an address for a tenant (idempotent: the first reason stays).
    async fn add_suppression(&self, suppression: &Suppression) -> StoreResult<()>;
    /// Lifts a suppression; returns whether there was one.
    async fn remove_suppression(&self, tenant: &TenantId, address: &str) -> StoreResult<bool>;
    /// The addresses among `addresses` that are suppressed for the tenant.
    async fn suppressed_among(&self, tenant: &TenantId, addresses: &[String]) -> StoreResult<Vec<String>>;
    /// A tenant's suppressions ordered by address; the cursor is the last address of the previous page.
    async fn list_suppressions(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<Suppression>>;

    /// Stores a template (`Conflict` when the tenant has one of that name).
    async fn create_template(&self, template: &EmailTemplate) -> StoreResult<()>;
    /// A tenant's template.
    async fn get_template(&self, tenant: &TenantId, id: &TemplateId) -> StoreResult<EmailTemplate>;
    /// A tenant's templates, newest first.
    async fn list_templates(&self, tenant: &TenantId, page: &PageRequest) -> StoreResult<Page<EmailTemplate>>;
    /// Replaces a tenant's template's name and parts (`NotFound`, `Conflict` on a taken name).
    async fn update_template(&self, template: &EmailTemplate) -> StoreResult<()>;
    /// Deletes a tenant's template.
    async fn delete_template(&self, tenant: &TenantId, id: &TemplateId) -> StoreResult<()>;
}
