//! Agents: a tenant's SIP users (`/v1/agents`). A softphone registers as one with digest authentication and
//! is then reached by `<Dial><Client>name</Client></Dial>`. User names are unique across the platform (the
//! engine's registrar has one realm and knows users by name alone); the digest password is sealed at rest,
//! since digest needs it in clear, and never shown.

use serde_json::json;
use time::OffsetDateTime;

use super::Platform;
use super::principal::{Need, TenantPrincipal};
use crate::audit::AuditEntry;
use crate::calls::Agent;
use crate::domain::{Role, Scope};
use crate::error::{CoreError, FieldError};
use crate::id::{AgentId, TenantId};
use crate::page::{Page, PageRequest};
use crate::ports::voice::AgentCredentials;
use crate::validate::{Checks, name};

/// Managing agents needs an admin user or the `calls:write` scope.
pub const MANAGE: Need = Need {
    role: Role::Admin,
    scope: Some(Scope::CallsWrite),
};

/// A new agent.
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// The SIP user name: 3 to 64 lower-case letters, digits, `.`, `-` or `_`.
    pub username: String,
    /// A display name.
    pub name: String,
    /// The digest password: 12 to 128 characters.
    pub password: String,
}

fn seal_context(tenant: &TenantId) -> String {
    format!("agent {tenant}")
}

fn check(input: &NewAgent) -> Result<String, CoreError> {
    let mut c = Checks::new();
    let ok = (3..=64).contains(&input.username.len())
        && input
            .username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_'));
    if !ok {
        c.push(FieldError::new(
            "username",
            "invalid_username",
            "3 to 64 lower-case letters, digits, `.`, `-` or `_`",
        ));
    }
    let display = c.check(name("name", &input.name, 100));
    if !(12..=128).contains(&input.password.chars().count()) {
        c.push(FieldError::new("password", "invalid_password", "12 to 128 characters"));
    }
    c.finish()?;
    display.ok_or_else(|| CoreError::internal("checks passed without a name"))
}

/// Creates an agent (409 when the user name is taken on the platform).
#[tracing::instrument(skip_all, fields(tenant_id = %by.tenant_id()))]
pub async fn create(p: &Platform, by: &TenantPrincipal, input: NewAgent) -> Result<Agent, CoreError> {
    by.authorize(MANAGE)?;
    let display = check(&input)?;
    let agent = Agent {
        id: AgentId::new(),
        tenant_id: by.tenant_id().clone(),
        username: input.username,
        name: display,
        sealed_password: p.secrets.seal(input.password.as_bytes(), &seal_context(by.tenant_id())),
        created_at: OffsetDateTime::now_utc(),
    };
    let audit = AuditEntry::new(&by.actor(), "agent.created")
        .target("agent", agent.id.as_str())
        .tenant(by.tenant_id())
        .details(json!({"username": agent.username}));
    p.calls.create_agent(&agent, &audit).await?;
    Ok(agent)
}

/// One of the caller's agents.
pub async fn get(p: &Platform, by: &TenantPrincipal, id: &AgentId) -> Result<Agent, CoreError> {
    by.authorize(MANAGE)?;
    Ok(p.calls.get_agent(by.tenant_id(), id).await?)
}

/// The caller's agents.
pub async fn list(p: &Platform, by: &TenantPrincipal, page: &PageRequest) -> Result<Page<Agent>, CoreError> {
    by.authorize(MANAGE)?;
    Ok(p.calls.list_agents(by.tenant_id(), page).await?)
}

/// Deletes one of the caller's agents.
pub async fn delete(p: &Platform, by: &TenantPrincipal, id: &AgentId) -> Result<(), CoreError> {
    by.authorize(MANAGE)?;
    let audit = AuditEntry::new(&by.actor(), "agent.deleted")
        .target("agent", id.as_str())
        .tenant(by.tenant_id());
    Ok(p.calls.delete_agent(by.tenant_id(), id, &audit).await?)
}

/// The registrar's lookup: the tenant and opened password of SIP user `username`.
pub async fn credentials(p: &Platform, username: &str) -> Result<Option<AgentCredentials>, CoreError> {
    let Some(agent) = p.calls.agent_by_username(username).await? else {
        return Ok(None);
    };
    let plain = p
        .secrets
        .open(&agent.sealed_password, &seal_context(&agent.tenant_id))
        .map_err(|e| CoreError::Internal(Box::new(e)))?;
    Ok(Some(AgentCredentials {
        tenant: agent.tenant_id.to_string(),
        password: String::from_utf8(plain).map_err(|e| CoreError::Internal(Box::new(e)))?,
    }))
}
