//! Response shapes shared by several routers. Times are RFC 3339 UTC.

use irisx_core::audit::AuditEntry;
use irisx_core::domain::{
    AdminRole, AdminUser, ApiKey, ApiKeyEnvironment, Plan, Role, Scope, Tenant, TenantStatus, User, UserStatus,
};
use irisx_core::id::{AdminUserId, ApiKeyId, AuditId, TenantId, UserId};
use irisx_core::page::Page;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// A page of items, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOut<T> {
    /// The items.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Whether there is a next page.
    pub has_more: bool,
}

impl<T> ListOut<T> {
    /// From a store page.
    pub fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let has_more = page.next_cursor.is_some();
        let page = page.map(f);
        Self {
            data: page.items,
            next_cursor: page.next_cursor,
            has_more,
        }
    }
}

/// A tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantOut {
    /// Its id.
    pub id: TenantId,
    /// Name.
    pub name: String,
    /// Plan.
    pub plan: Plan,
    /// Status.
    pub status: TenantStatus,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last changed at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

impl From<Tenant> for TenantOut {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id,
            name: t.name,
            plan: t.plan,
            status: t.status,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// A tenant's user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Its id.
    pub id: UserId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Status.
    pub status: UserStatus,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last changed at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
    /// Last login.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<OffsetDateTime>,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            tenant_id: u.tenant_id,
            email: u.email,
            name: u.name,
            role: u.role,
            status: u.status,
            created_at: u.created_at,
            updated_at: u.updated_at,
            last_login_at: u.last_login_at,
        }
    }
}

/// An API key (never its text, except once at creation).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    /// Its id.
    pub id: ApiKeyId,
    /// Name.
    pub name: String,
    /// Live or test.
    pub environment: ApiKeyEnvironment,
    /// The key's prefix, e.g. `irisx_live_`.
    pub prefix: String,
    /// The key's last four characters.
    pub last_four: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// The user who created it.
    pub created_by: Option<UserId>,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last used at (updated at most once a minute).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<OffsetDateTime>,
    /// Revoked at.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.environment.key_prefix().to_owned(),
            environment: k.environment,
            last_four: k.last_four,
            scopes: k.scopes,
            created_by: k.created_by,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A member of the platform staff.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserOut {
    /// Its id.
    pub id: AdminUserId,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: AdminRole,
    /// Status.
    pub status: UserStatus,
    /// Created at.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    /// Last login.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_login_at: Option<OffsetDateTime>,
}

impl From<AdminUser> for AdminUserOut {
    fn from(a: AdminUser) -> Self {
        Self {
            id: a.id,
            email: a.email,
            name: a.name,
            role: a.role,
            status: a.status,
            created_at: a.created_at,
            last_login_at: a.last_login_at,
        }
    }
}

/// An audit log entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    /// Its id.
    pub id: AuditId,
    /// The tenant concerned.
    pub tenant_id: Option<TenantId>,
    /// `admin`, `user`, `api_key`, `system` or `anonymous`.
    pub actor_type: String,
    /// The actor's id.
    pub actor_id: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// What was done, e.g. `tenant.suspended`.
    pub action: String,
    /// The kind of resource acted on.
    pub target_type: Option<String>,
    /// The resource's id.
    pub target_id: Option<String>,
    /// Further facts.
    pub details: serde_json::Value,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

impl From<AuditEntry> for AuditOut {
    fn from(a: AuditEntry) -> Self {
        Self {
            id: a.id,
            tenant_id: a.tenant_id,
            actor_type: a.actor.kind.as_str().to_owned(),
            actor_id: a.actor.id,
            ip: a.actor.ip,
            user_agent: a.actor.user_agent,
            action: a.action,
            target_type: a.target_type,
            target_id: a.target_id,
            details: a.details,
            created_at: a.created_at,
        }
    }
}

/// A bearer token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    /// The JWT, for `Authorization: Bearer`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// When it expires.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

impl From<irisx_core::auth::IssuedToken> for TokenOut {
    fn from(t: irisx_core::auth::IssuedToken) -> Self {
        Self {
            token: t.token,
            token_type: "Bearer",
            expires_at: t.expires_at,
        }
    }
}

/// Parses an optional RFC 3339 time parameter, naming it on error.
pub fn rfc3339_param(field: &str, v: Option<String>) -> Result<Option<OffsetDateTime>, irisx_core::CoreError> {
    v.map(|s| {
        OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339).map_err(|_| {
            irisx_core::CoreError::field(
                field,
                "invalid_time",
                "expected an RFC 3339 time, e.g. 2026-01-31T12:00:00Z",
            )
        })
    })
    .transpose()
}

/// For `PATCH` bodies: `Some(None)` for an explicit null, `None` when the field is absent (with
/// `#[serde(default)]`).
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}
