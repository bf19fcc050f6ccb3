//! Tenant administration by platform staff: create with an owner, list, read, change, suspend, delete.
//!
//! Deleting marks the tenant `deleting` (its keys and tokens stop at once) and queues a purge task in the same
//! transaction; the worker deletes its rows. Only a superadmin may delete; support and readonly only read.

use serde_json::json;
use time::OffsetDateTime;

use super::Platform;
use super::auth::new_user;
use super::principal::AdminPrincipal;
use crate::audit::{Actor, AuditEntry, AuditFilter};
use crate::domain::{AdminRole, Plan, Role, Tenant, TenantStatus, User};
use crate::error::CoreError;
use crate::id::{TaskId, TenantId};
use crate::page::{Page, PageRequest};
use crate::ports::store::{TenantFilter, TenantPatch};
use crate::task::{NewTask, Task, TenantPurgeV1};
use crate::validate::{both, name, optional_name};

/// A new tenant and its owner.
#[derive(Debug, Clone)]
pub struct NewTenantInput {
    /// Its name.
    pub name: String,
    /// Its plan (free when absent).
    pub plan: Option<Plan>,
    /// The owner's name.
    pub owner_name: String,
    /// The owner's email.
    pub owner_email: String,
    /// The owner's password.
    pub owner_password: String,
}

/// Creates a tenant with its owner.
pub async fn create(p: &Platform, by: &AdminPrincipal, input: NewTenantInput) -> Result<(Tenant, User), CoreError> {
    by.require(AdminRole::Admin)?;
    let tenant_id = TenantId::new();
    let name_r = name("name", &input.name, 200);
    let owner_r = new_user(
        &tenant_id,
        Role::Owner,
        &input.owner_name,
        &input.owner_email,
        &input.owner_password,
        "owner.",
    )
    .await;
    let (tenant_name, owner) = both(name_r, owner_r)?;
    let now = OffsetDateTime::now_utc();
    let tenant = Tenant {
        id: tenant_id,
        name: tenant_name,
        plan: input.plan.unwrap_or(Plan::Free),
        status: TenantStatus::Active,
        created_at: now,
        updated_at: now,
    };
    let audit = AuditEntry::new(&by.actor(), "tenant.created")
        .tenant(&tenant.id)
        .target("tenant", &tenant.id)
        .details(json!({"name": tenant.name, "plan": tenant.plan, "owner_email": owner.email}));
    p.store.create_tenant_with_owner(&tenant, &owner, &audit).await?;
    Ok((tenant, owner))
}

/// Lists tenants.
pub async fn list(
    p: &Platform,
    by: &AdminPrincipal,
    filter: &TenantFilter,
    page: &PageRequest,
) -> Result<Page<Tenant>, CoreError> {
    by.require(AdminRole::Readonly)?;
    Ok(p.store.list_tenants(filter, page).await?)
}

/// Reads a tenant.
pub async fn get(p: &Platform, by: &AdminPrincipal, id: &TenantId) -> Result<Tenant, CoreError> {
    by.require(AdminRole::Readonly)?;
    Ok(p.store.get_tenant(id).await?)
}

/// Changes a tenant's name or plan.
pub async fn patch(
    p: &Platform,
    by: &AdminPrincipal,
    id: &TenantId,
    new_name: Option<String>,
    plan: Option<Plan>,
) -> Result<Tenant, CoreError> {
    by.require(AdminRole::Admin)?;
    let new_name = optional_name("name", new_name, 200)?;
    let current = p.store.get_tenant(id).await?;
    refuse_deleting(&current)?;
    let patch = TenantPatch {
        name: new_name,
        plan,
        status: None,
    };
    let audit = AuditEntry::new(&by.actor(), "tenant.updated")
        .tenant(id)
        .target("tenant", id)
        .details(json!({"name": patch.name, "plan": patch.plan}));
    Ok(p.store.update_tenant(id, &patch, &audit).await?)
}

fn refuse_deleting(t: &Tenant) -> Result<(), CoreError> {
    if t.status == TenantStatus::Deleting {
        Err(CoreError::Conflict("this tenant is being deleted".into()))
    } else {
        Ok(())
    }
}

/// Suspends (`active = false`) or reactivates a tenant. A suspension refuses its keys and tokens at once.
pub async fn set_active(
    p: &Platform,
    by: &AdminPrincipal,
    id: &TenantId,
    active: bool,
    reason: Option<String>,
) -> Result<Tenant, CoreError> {
    by.require(AdminRole::Admin)?;
    let current = p.store.get_tenant(id).await?;
    refuse_deleting(&current)?;
    let (status, action) = if active {
        (TenantStatus::Active, "tenant.reactivated")
    } else {
        (TenantStatus::Suspended, "tenant.suspended")
    };
    let patch = TenantPatch {
        status: Some(status),
        ..Default::default()
    };
    let audit = AuditEntry::new(&by.actor(), action)
        .tenant(id)
        .target("tenant", id)
        .details(json!({"reason": reason}));
    Ok(p.store.update_tenant(id, &patch, &audit).await?)
}

/// Deletes a tenant: marks it `deleting` and queues the purge of its data. Superadmin only.
pub async fn delete(p: &Platform, by: &AdminPrincipal, id: &TenantId) -> Result<TaskId, CoreError> {
    by.require(AdminRole::Superadmin)?;
    let current = p.store.get_tenant(id).await?;
    refuse_deleting(&current)?;
    let task = NewTask::now(Task::TenantPurgeV1(TenantPurgeV1 { tenant_id: id.clone() }));
    let audit = AuditEntry::new(&by.actor(), "tenant.deleted")
        .tenant(id)
        .target("tenant", id)
        .details(json!({"purge_task": task.id}));
    p.store.begin_tenant_deletion(id, &task, &audit).await?;
    p.outbox_wake.notify_one();
    Ok(task.id)
}

/// Runs a purge task: deletes every row of the tenant and completes the task in one transaction.
/// Running it again after it completed does nothing.
pub async fn purge(p: &Platform, task: &TaskId, tenant: &TenantId) -> Result<bool, CoreError> {
    let audit = AuditEntry::new(&Actor::system(), "tenant.purged")
        .target("tenant", tenant)
        .details(json!({"task": task}));
    Ok(p.store.purge_tenant(tenant, task, &audit).await?)
}

/// Reads the audit log.
pub async fn audit_log(
    p: &Platform,
    by: &AdminPrincipal,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEntry>, CoreError> {
    by.require(AdminRole::Readonly)?;
    Ok(p.store.list_audit(filter, page).await?)
}
