//! Who is calling: a tenant's user or API key, or a member of the platform staff, and what each may do.
//!
//! A route names what it needs as a [`Need`]: a user passes with a role at least `need.role`; an API key
//! passes when it carries `need.scope`. A route with no scope (`scope: None`) refuses API keys.

use time::OffsetDateTime;

use super::RequestMeta;
use crate::audit::{Actor, ActorKind};
use crate::domain::{AdminRole, AdminSession, AdminUser, ApiKey, Role, Scope, Tenant, User};
use crate::error::CoreError;
use crate::id::{SessionId, TenantId};

/// How a tenant's caller authenticated.
#[derive(Debug, Clone)]
pub enum Caller {
    /// A logged-in user with a session token.
    User {
        /// The user as it is now.
        user: User,
        /// The session (the token's `jti`).
        session: SessionId,
        /// When the token expires.
        expires_at: OffsetDateTime,
    },
    /// An API key.
    ApiKey(ApiKey),
}

/// An authenticated caller acting for one tenant. Built only by the auth use cases.
#[derive(Debug, Clone)]
pub struct TenantPrincipal {
    /// The tenant as it is now (always active here).
    pub tenant: Tenant,
    /// The user or key.
    pub caller: Caller,
    /// Where the request came from.
    pub meta: RequestMeta,
}

/// What a tenant route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    /// The least role a user must have.
    pub role: Role,
    /// The scope an API key must carry; `None` refuses keys.
    pub scope: Option<Scope>,
}

impl TenantPrincipal {
    /// The tenant's id.
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant.id
    }

    /// The role rules apply with: a user's own, or `admin` for an API key (its scopes limit it instead).
    pub fn effective_role(&self) -> Role {
        match &self.caller {
            Caller::User { user, .. } => user.role,
            Caller::ApiKey(_) => Role::Admin,
        }
    }

    /// The actor for audit entries.
    pub fn actor(&self) -> Actor {
        let (kind, id) = match &self.caller {
            Caller::User { user, .. } => (ActorKind::User, user.id.to_string()),
            Caller::ApiKey(key) => (ActorKind::ApiKey, key.id.to_string()),
        };
        Actor {
            kind,
            id: Some(id),
            ip: self.meta.ip.clone(),
            user_agent: self.meta.user_agent.clone(),
        }
    }

    /// Refuses with 403 a caller that does not meet `need`.
    pub fn authorize(&self, need: Need) -> Result<(), CoreError> {
        match &self.caller {
            Caller::User { user, .. } if user.role.at_least(need.role) => Ok(()),
            Caller::User { user, .. } => Err(CoreError::Forbidden(format!(
                "this action needs the `{}` role or higher; you have `{}`",
                need.role, user.role
            ))),
            Caller::ApiKey(key) => match need.scope {
                Some(scope) if key.has_scope(scope) => Ok(()),
                Some(scope) => Err(CoreError::Forbidden(format!("this API key lacks the `{scope}` scope"))),
                None => Err(CoreError::Forbidden(
                    "this action needs a user login; API keys cannot do it".into(),
                )),
            },
        }
    }

    /// The rate-limit bucket of this caller: its key, or its user.
    pub fn rate_key(&self) -> String {
        match &self.caller {
            Caller::User { user, .. } => user.id.to_string(),
            Caller::ApiKey(key) => key.id.to_string(),
        }
    }
}

/// An authenticated member of the platform staff. Built only by the auth use cases.
#[derive(Debug, Clone)]
pub struct AdminPrincipal {
    /// The staff member as it is now.
    pub admin: AdminUser,
    /// The session.
    pub session: AdminSession,
    /// Where the request came from.
    pub meta: RequestMeta,
}

impl AdminPrincipal {
    /// Refuses with 403 a staff member below `role`.
    pub fn require(&self, role: AdminRole) -> Result<(), CoreError> {
        if self.admin.role.at_least(role) {
            Ok(())
        } else {
            Err(CoreError::Forbidden(format!(
                "this action needs the `{role}` staff role or higher; you have `{}`",
                self.admin.role
            )))
        }
    }

    /// The actor for audit entries.
    pub fn actor(&self) -> Actor {
        Actor {
            kind: ActorKind::Admin,
            id: Some(self.admin.id.to_string()),
            ip: self.meta.ip.clone(),
            user_agent: self.meta.user_agent.clone(),
        }
    }
}
