//! Tenants: the customer accounts everything else belongs to.

use time::OffsetDateTime;

use super::wire_enum;
use crate::id::TenantId;

wire_enum!(
    /// Whether a tenant may use the platform.
    TenantStatus, "status" {
        /// In service.
        Active => "active",
        /// Stopped by platform staff: its keys and tokens are refused at once.
        Suspended => "suspended",
        /// Deleted by platform staff; its data is being purged by the worker.
        Deleting => "deleting",
    }
);

wire_enum!(
    /// A tenant's plan, which sets its rate limits (and, later, prices).
    Plan, "plan" {
        /// Trial accounts.
        Free => "free",
        /// Small production accounts.
        Starter => "starter",
        /// Growing accounts.
        Growth => "growth",
        /// Large accounts with negotiated limits.
        Enterprise => "enterprise",
    }
);

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// Its plan.
    pub plan: Plan,
    /// Active, suspended or being deleted.
    pub status: TenantStatus,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
}

impl Tenant {
    /// Whether its users and keys may act.
    pub fn is_active(&self) -> bool {
        self.status == TenantStatus::Active
    }
}
