//! The SQL both backends share, written once.
//!
//! Each submodule defines a `macro_rules!` that expands its functions for the concrete pool of the module that
//! invokes it. The invoking backend module must define:
//! - `type Db` — the sqlx database (`Sqlite` or `Postgres`);
//! - `async fn begin_write(pool: &Pool<Db>) -> sqlx::Result<Transaction<'static, Db>>` — a transaction that
//!   may write (`BEGIN IMMEDIATE` on SQLite, so a reader never has to upgrade its lock and fail busy);
//! - `fn ts(t: OffsetDateTime) -> impl Encode` — a time as the backend stores it.
//!
//! The SQL uses `$n` placeholders, which both drivers accept, and nothing dialect-specific; backend-only SQL
//! (e.g. `FOR UPDATE SKIP LOCKED`) lives in the backend module.

pub(crate) mod accounts;
pub(crate) mod audit_outbox;
pub(crate) mod auth;
pub(crate) mod calls;
pub(crate) mod email;
pub(crate) mod email_templates;
pub(crate) mod ledger;
pub(crate) mod messages;
pub(crate) mod msg_worker;
pub(crate) mod numbers;
pub(crate) mod objects;
pub(crate) mod tenants;
pub(crate) mod trunks;
pub(crate) mod users;
pub(crate) mod webhook_ops;
pub(crate) mod webhooks;

/// What every shared macro body uses.
pub(crate) mod prelude {
    pub(crate) use crate::error::map as db_err;
    pub(crate) use crate::{msg_rows, rows, webhook_rows};
    pub(crate) use irisx_core::audit::{AuditEntry, AuditFilter};
    pub(crate) use irisx_core::calls::{Agent, Call, CallRecording, SipTrunk};
    pub(crate) use irisx_core::domain::{
        AdminSession, AdminUser, ApiKey, Role, Session, Tenant, TenantStatus, User, UserStatus,
    };
    pub(crate) use irisx_core::email::content::EmailContent;
    pub(crate) use irisx_core::email::template::{EmailTemplate, Parts as TemplateParts};
    pub(crate) use irisx_core::id::{
        AdminSessionId, AdminUserId, AgentId, ApiKeyId, CallId, EventId, MessageId, ObjectId, PhoneNumberId,
        ProviderAccountId, RouteId, SessionId, SipTrunkId, StatusChangeId, TaskId, TemplateId, TenantId, UserId,
        WebhookDeliveryId, WebhookEndpointId,
    };
    pub(crate) use irisx_core::page::{MAX_LIMIT, Page, PageRequest};
    pub(crate) use irisx_core::ports::calls::{CallUpdate, OrphanedCall, VoiceRoute};
    pub(crate) use irisx_core::ports::email::{KindCount, Suppression, TrackingRecord};
    pub(crate) use irisx_core::ports::messaging::{EventFilter, MessageFilter, NumberPatch, SentRecord, UsageTotal};
    pub(crate) use irisx_core::ports::objects::StoredObject;
    pub(crate) use irisx_core::ports::store::{
        ApiKeyContext, IdempotencyRecord, SessionContext, StoreError, StoreResult, TenantFilter, TenantPatch,
        UserFilter, UserPatch,
    };
    pub(crate) use irisx_core::ports::webhooks::{AttemptRecord, EndpointHealth};
    pub(crate) use irisx_core::sms::DeliveryStatus;
    pub(crate) use irisx_core::sms::model::{
        Attempt, Channel, Event, Message, OptOut, PhoneNumber, ProviderAccount, Route, StatusChange, UsageRecord,
    };
    pub(crate) use irisx_core::sms::provider::StatusUpdate;
    pub(crate) use irisx_core::task::{DeliverWebhookV1, NewTask, OutboxStats, Task, TaskState};
    pub(crate) use irisx_core::webhook::model::{DeliveryState, WebhookAttemptLog, WebhookDelivery, WebhookEndpoint};
    pub(crate) use rows::Cols as _;
    pub(crate) use sqlx::Pool;
    pub(crate) use time::OffsetDateTime;

    /// `limit + 1`, the limit clamped to 1..=[`MAX_LIMIT`].
    pub(crate) fn overfetch(page: &PageRequest) -> (u32, i64) {
        let limit = page.limit.clamp(1, MAX_LIMIT);
        (limit, i64::from(limit) + 1)
    }
}

/// A user's columns aliased `u_*` (the table is `u`).
macro_rules! user_cols {
    () => {
        "u.id AS u_id, u.tenant_id AS u_tenant_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, \
         u.status AS u_status, u.password_hash AS u_password_hash, u.created_at AS u_created_at, \
         u.updated_at AS u_updated_at, u.last_login_at AS u_last_login_at"
    };
}
/// A tenant's columns aliased `t_*` (the table is `t`).
macro_rules! tenant_cols {
    () => {
        "t.id AS t_id, t.name AS t_name, t.plan AS t_plan, t.status AS t_status, t.created_at AS t_created_at, \
         t.updated_at AS t_updated_at"
    };
}
/// A staff member's columns aliased `m_*` (the table is `m`).
macro_rules! admin_cols {
    () => {
        "m.id AS m_id, m.email AS m_email, m.name AS m_name, m.role AS m_role, m.status AS m_status, \
         m.password_hash AS m_password_hash, m.created_at AS m_created_at, m.last_login_at AS m_last_login_at"
    };
}
pub(crate) use {admin_cols, tenant_cols, user_cols};

/// Expands every shared function for the invoking backend module.
macro_rules! shared_sql {
    () => {
        $crate::shared::tenants::tenant_sql!();
        $crate::shared::users::user_sql!();
        $crate::shared::auth::auth_sql!();
        $crate::shared::audit_outbox::audit_outbox_sql!();
        $crate::shared::accounts::account_sql!();
        $crate::shared::numbers::number_sql!();
        $crate::shared::messages::message_sql!();
        $crate::shared::msg_worker::msg_worker_sql!();
        $crate::shared::ledger::ledger_sql!();
        $crate::shared::webhooks::webhook_sql!();
        $crate::shared::webhook_ops::webhook_ops_sql!();
        $crate::shared::email::email_sql!();
        $crate::shared::email_templates::email_template_sql!();
        $crate::shared::objects::object_sql!();
        $crate::shared::trunks::trunk_sql!();
        $crate::shared::calls::call_sql!();
    };
}
pub(crate) use shared_sql;
