//! API keys: created by owners and admins (or by a key with `api_keys:manage`), shown once, revocable.
//!
//! A key can never hold a scope its creator does not have: a key creating keys passes on only its own scopes.

use serde_json::json;
use time::OffsetDateTime;

use super::Platform;
use super::principal::{Caller, Need, TenantPrincipal};
use crate::audit::AuditEntry;
use crate::domain::{ApiKey, ApiKeyEnvironment, GeneratedKey, Role, Scope};
use crate::error::CoreError;
use crate::id::ApiKeyId;
use crate::page::{Page, PageRequest};
use crate::validate::{Checks, name};

/// Managing keys needs an admin user or the `api_keys:manage` scope.
pub const MANAGE: Need = Need {
    role: Role::Admin,
    scope: Some(Scope::ApiKeysManage),
};

/// A key just created, with its text (shown only now).
#[derive(Debug)]
pub struct CreatedKey {
    /// The stored key.
    pub key: ApiKey,
    /// The full key text.
    pub secret: String,
}

/// Creates a key with the given scopes.
pub async fn create(
    p: &Platform,
    by: &TenantPrincipal,
    key_name: &str,
    scopes: Vec<Scope>,
    environment: ApiKeyEnvironment,
) -> Result<CreatedKey, CoreError> {
    by.authorize(MANAGE)?;
    let mut c = Checks::new();
    let key_name = c.check(name("name", key_name, 100));
    if scopes.is_empty() {
        c.push(crate::FieldError::new("scopes", "required", "give at least one scope"));
    }
    if let Caller::ApiKey(k) = &by.caller
        && let Some(s) = scopes.iter().find(|s| !k.has_scope(**s))
    {
        c.push(crate::FieldError::new(
            "scopes",
            "scope_not_held",
            format!("you cannot grant `{s}`: your key does not hold it"),
        ));
    }
    c.finish()?;
    let mut scopes = scopes;
    scopes.sort_by_key(|s| s.as_str());
    scopes.dedup();
    let generated = GeneratedKey::generate(environment);
    let key = ApiKey {
        id: ApiKeyId::new(),
        tenant_id: by.tenant_id().clone(),
        name: key_name.unwrap_or_default(),
        environment,
        last_four: generated.last_four.clone(),
        key_hash: generated.hash.clone(),
        scopes,
        created_by: match &by.caller {
            Caller::User { user, .. } => Some(user.id.clone()),
            Caller::ApiKey(_) => None,
        },
        created_at: OffsetDateTime::now_utc(),
        last_used_at: None,
        revoked_at: None,
    };
    let audit = AuditEntry::new(&by.actor(), "api_key.created")
        .tenant(by.tenant_id())
        .target("api_key", &key.id)
        .details(json!({"name": key.name, "scopes": key.scopes, "environment": key.environment}));
    p.store.create_api_key(&key, &audit).await?;
    Ok(CreatedKey {
        key,
        secret: generated.key,
    })
}

/// Lists the tenant's keys.
pub async fn list(p: &Platform, by: &TenantPrincipal, page: &PageRequest) -> Result<Page<ApiKey>, CoreError> {
    by.authorize(MANAGE)?;
    Ok(p.store.list_api_keys(by.tenant_id(), page).await?)
}

/// Reads one key.
pub async fn get(p: &Platform, by: &TenantPrincipal, id: &ApiKeyId) -> Result<ApiKey, CoreError> {
    by.authorize(MANAGE)?;
    Ok(p.store.get_api_key(by.tenant_id(), id).await?)
}

/// Revokes a key: it is refused from the next request on.
pub async fn revoke(p: &Platform, by: &TenantPrincipal, id: &ApiKeyId) -> Result<ApiKey, CoreError> {
    by.authorize(MANAGE)?;
    let audit = AuditEntry::new(&by.actor(), "api_key.revoked")
        .tenant(by.tenant_id())
        .target("api_key", id);
    Ok(p.store.revoke_api_key(by.tenant_id(), id, &audit).await?)
}
