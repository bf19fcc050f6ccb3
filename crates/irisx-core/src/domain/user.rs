//! Users of a tenant, platform staff, and their login sessions.

use time::OffsetDateTime;

use super::wire_enum;
use crate::id::{AdminSessionId, AdminUserId, SessionId, TenantId, UserId};

wire_enum!(
    /// A tenant user's role, from most to least powerful.
    Role, "role" {
        /// Owns the account: everything, including other owners.
        Owner => "owner",
        /// Manages users (but not owners), keys and settings.
        Admin => "admin",
        /// Works conversations and calls.
        Agent => "agent",
        /// Reads and uses the API within the scopes of their keys.
        User => "user",
    }
);

impl Role {
    /// The role's power: higher may do more.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 4,
            Role::Admin => 3,
            Role::Agent => 2,
            Role::User => 1,
        }
    }

    /// Whether this role is at least `other`.
    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }
}

wire_enum!(
    /// A platform staff member's role, from most to least powerful.
    AdminRole, "role" {
        /// Everything, including deleting tenants.
        Superadmin => "superadmin",
        /// Manages tenants and users.
        Admin => "admin",
        /// Reads everything to help customers.
        Support => "support",
        /// Reads everything.
        Readonly => "readonly",
    }
);

impl AdminRole {
    /// The role's power: higher may do more.
    pub fn rank(self) -> u8 {
        match self {
            AdminRole::Superadmin => 4,
            AdminRole::Admin => 3,
            AdminRole::Support => 2,
            AdminRole::Readonly => 1,
        }
    }

    /// Whether this role is at least `other`.
    pub fn at_least(self, other: AdminRole) -> bool {
        self.rank() >= other.rank()
    }
}

wire_enum!(
    /// Whether a user may log in.
    UserStatus, "status" {
        /// May log in.
        Active => "active",
        /// Switched off by the tenant or by platform staff.
        Disabled => "disabled",
    }
);

/// A tenant's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The tenant it belongs to.
    pub tenant_id: TenantId,
    /// Login email, unique across the platform, stored lower-cased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Its role in the tenant.
    pub role: Role,
    /// Active or disabled.
    pub status: UserStatus,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    pub updated_at: OffsetDateTime,
    /// When it last logged in.
    pub last_login_at: Option<OffsetDateTime>,
}

/// A member of the platform staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUser {
    /// Its id.
    pub id: AdminUserId,
    /// Login email, unique, lower-cased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Its role.
    pub role: AdminRole,
    /// Active or disabled.
    pub status: UserStatus,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it last logged in.
    pub last_login_at: Option<OffsetDateTime>,
}

/// A customer login session; its id is the token's `jti`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The user.
    pub user_id: UserId,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When its token expires.
    pub expires_at: OffsetDateTime,
    /// When it was revoked (logout, refresh, password change).
    pub revoked_at: Option<OffsetDateTime>,
    /// Client IP at login.
    pub ip: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
}

/// A platform staff login session, found by the SHA-256 of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    /// Its id (the token's `jti`).
    pub id: AdminSessionId,
    /// The staff member.
    pub admin_id: AdminUserId,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When its token expires.
    pub expires_at: OffsetDateTime,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
    /// Client IP at login.
    pub ip: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
}
