//! The audit log: who did what to which resource, from where.
//!
//! Every admin mutation and every tenant security event (keys created or revoked, roles changed, failed logins,
//! lockouts) writes one entry, in the same transaction as the change it records.

use serde_json::Value;
use time::OffsetDateTime;

use crate::domain::wire_enum;
use crate::id::{AuditId, TenantId};

wire_enum!(
    /// The kind of actor behind an entry.
    ActorKind, "actor_type" {
        /// Platform staff.
        Admin => "admin",
        /// A tenant's user.
        User => "user",
        /// A tenant's API key.
        ApiKey => "api_key",
        /// IRISX itself (the worker, the CLI).
        System => "system",
        /// Someone not logged in (a failed login).
        Anonymous => "anonymous",
    }
);

/// Who acted, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The kind of actor.
    pub kind: ActorKind,
    /// Its id (admin, user or key id), when known.
    pub id: Option<String>,
    /// The client IP.
    pub ip: Option<String>,
    /// The client user agent.
    pub user_agent: Option<String>,
}

impl Actor {
    /// IRISX itself.
    pub fn system() -> Self {
        Self {
            kind: ActorKind::System,
            id: None,
            ip: None,
            user_agent: None,
        }
    }
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Its id.
    pub id: AuditId,
    /// The tenant concerned, if any.
    pub tenant_id: Option<TenantId>,
    /// Who acted.
    pub actor: Actor,
    /// What was done, e.g. `tenant.suspended`, `api_key.created`, `auth.login_failed`.
    pub action: String,
    /// The kind of resource acted on, e.g. `tenant`.
    pub target_type: Option<String>,
    /// The id of the resource acted on.
    pub target_id: Option<String>,
    /// Further facts (never secrets).
    pub details: Value,
    /// When it happened.
    pub created_at: OffsetDateTime,
}

impl AuditEntry {
    /// A new entry happening now.
    pub fn new(actor: &Actor, action: &str) -> Self {
        Self {
            id: AuditId::new(),
            tenant_id: None,
            actor: actor.clone(),
            action: action.to_owned(),
            target_type: None,
            target_id: None,
            details: Value::Object(Default::default()),
            created_at: OffsetDateTime::now_utc(),
        }
    }

    /// Sets the tenant concerned.
    pub fn tenant(mut self, tenant: &TenantId) -> Self {
        self.tenant_id = Some(tenant.clone());
        self
    }

    /// Sets the resource acted on.
    pub fn target(mut self, kind: &str, id: impl ToString) -> Self {
        self.target_type = Some(kind.to_owned());
        self.target_id = Some(id.to_string());
        self
    }

    /// Sets the details.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Which entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this tenant's.
    pub tenant_id: Option<TenantId>,
    /// Only this kind of actor.
    pub actor_kind: Option<ActorKind>,
    /// Only this actor.
    pub actor_id: Option<String>,
    /// Only this action, or actions starting with it when it ends in `.` (e.g. `tenant.`).
    pub action: Option<String>,
    /// Only entries at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only entries before this time.
    pub to: Option<OffsetDateTime>,
}
