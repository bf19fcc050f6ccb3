//! A tenant's users, managed by its owners and admins; the platform staff's view of all users; and the
//! creation of staff members (the `irisx admin create` command).
//!
//! Rules: only an owner may create, change or remove an owner or make someone an owner; nobody removes
//! themselves; the last active owner cannot be demoted, disabled or removed (the store enforces it).

use serde_json::json;
use time::OffsetDateTime;

use super::Platform;
use super::auth::new_user;
use super::principal::{AdminPrincipal, Caller, Need, TenantPrincipal};
use crate::audit::{Actor, AuditEntry};
use crate::auth::hash_password;
use crate::domain::{AdminRole, AdminUser, Role, Scope, User, UserStatus};
use crate::error::CoreError;
use crate::id::{AdminUserId, UserId};
use crate::page::{Page, PageRequest};
use crate::ports::store::{UserFilter, UserPatch};
use crate::validate::{EmailAddress, Password, name, optional_name};

/// Reading users needs an admin user or the `users:read` scope.
pub const READ: Need = Need {
    role: Role::Admin,
    scope: Some(Scope::UsersRead),
};
/// Changing users needs an admin user or the `users:write` scope.
pub const WRITE: Need = Need {
    role: Role::Admin,
    scope: Some(Scope::UsersWrite),
};

/// A new user of the caller's tenant.
#[derive(Debug, Clone)]
pub struct NewUserInput {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Initial password.
    pub password: String,
    /// Role.
    pub role: Role,
}

fn owner_only(by: &TenantPrincipal, touches_owner: bool) -> Result<(), CoreError> {
    if touches_owner && by.effective_role() != Role::Owner {
        Err(CoreError::Forbidden(
            "only an owner may create, change or remove an owner".into(),
        ))
    } else {
        Ok(())
    }
}

fn is_self(by: &TenantPrincipal, id: &UserId) -> bool {
    matches!(&by.caller, Caller::User { user, .. } if &user.id == id)
}

/// Creates a user in the caller's tenant.
pub async fn create(p: &Platform, by: &TenantPrincipal, input: NewUserInput) -> Result<User, CoreError> {
    by.authorize(WRITE)?;
    owner_only(by, input.role == Role::Owner)?;
    let user = new_user(
        by.tenant_id(),
        input.role,
        &input.name,
        &input.email,
        &input.password,
        "",
    )
    .await?;
    let audit = AuditEntry::new(&by.actor(), "user.created")
        .tenant(by.tenant_id())
        .target("user", &user.id)
        .details(json!({"email": user.email, "role": user.role}));
    p.store.create_user(&user, Some(&audit)).await?;
    Ok(user)
}

/// Lists the caller's tenant's users.
pub async fn list(p: &Platform, by: &TenantPrincipal, page: &PageRequest) -> Result<Page<User>, CoreError> {
    by.authorize(READ)?;
    Ok(p.store.list_users(by.tenant_id(), page).await?)
}

/// Reads one of the caller's tenant's users.
pub async fn get(p: &Platform, by: &TenantPrincipal, id: &UserId) -> Result<User, CoreError> {
    by.authorize(READ)?;
    Ok(p.store.get_user(by.tenant_id(), id).await?)
}

/// Changes one of the caller's tenant's users.
pub async fn update(p: &Platform, by: &TenantPrincipal, id: &UserId, mut patch: UserPatch) -> Result<User, CoreError> {
    by.authorize(WRITE)?;
    patch.name = optional_name("name", patch.name, 200)?;
    let current = p.store.get_user(by.tenant_id(), id).await?;
    owner_only(by, current.role == Role::Owner || patch.role == Some(Role::Owner))?;
    if is_self(by, id) && patch.status == Some(UserStatus::Disabled) {
        return Err(CoreError::Unprocessable("you cannot disable yourself".into()));
    }
    let mut audit = AuditEntry::new(&by.actor(), "user.updated")
        .tenant(by.tenant_id())
        .target("user", id);
    if let Some(role) = patch.role.filter(|r| *r != current.role) {
        audit.action = "user.role_changed".into();
        audit = audit.details(json!({"from": current.role, "to": role, "status": patch.status}));
    } else {
        audit = audit.details(json!({"name": patch.name, "status": patch.status}));
    }
    Ok(p.store.update_user(by.tenant_id(), id, &patch, &audit).await?)
}

/// Removes one of the caller's tenant's users and ends its sessions.
pub async fn delete(p: &Platform, by: &TenantPrincipal, id: &UserId) -> Result<(), CoreError> {
    by.authorize(WRITE)?;
    if is_self(by, id) {
        return Err(CoreError::Unprocessable("you cannot remove yourself".into()));
    }
    let current = p.store.get_user(by.tenant_id(), id).await?;
    owner_only(by, current.role == Role::Owner)?;
    let audit = AuditEntry::new(&by.actor(), "user.deleted")
        .tenant(by.tenant_id())
        .target("user", id)
        .details(json!({"email": current.email}));
    Ok(p.store.delete_user(by.tenant_id(), id, &audit).await?)
}

/// Lists users across tenants (staff).
pub async fn admin_list(
    p: &Platform,
    by: &AdminPrincipal,
    filter: &UserFilter,
    page: &PageRequest,
) -> Result<Page<User>, CoreError> {
    by.require(AdminRole::Readonly)?;
    Ok(p.store.list_all_users(filter, page).await?)
}

/// Reads any user (staff).
pub async fn admin_get(p: &Platform, by: &AdminPrincipal, id: &UserId) -> Result<User, CoreError> {
    by.require(AdminRole::Readonly)?;
    Ok(p.store.get_any_user(id).await?)
}

/// Changes any user's status or role (staff admin and above).
pub async fn admin_update(
    p: &Platform,
    by: &AdminPrincipal,
    id: &UserId,
    mut patch: UserPatch,
) -> Result<User, CoreError> {
    by.require(AdminRole::Admin)?;
    patch.name = optional_name("name", patch.name, 200)?;
    let current = p.store.get_any_user(id).await?;
    let audit = AuditEntry::new(&by.actor(), "user.updated_by_staff")
        .tenant(&current.tenant_id)
        .target("user", id)
        .details(json!({"role": patch.role, "status": patch.status, "name": patch.name}));
    Ok(p.store.update_user(&current.tenant_id, id, &patch, &audit).await?)
}

/// Creates a member of the platform staff (works on an empty database).
pub async fn create_staff(
    p: &Platform,
    email: &str,
    password: &str,
    role: AdminRole,
    display_name: Option<&str>,
) -> Result<AdminUser, CoreError> {
    let email = EmailAddress::parse("email", email).map_err(|e| CoreError::Validation(vec![e]))?;
    let pw = Password::parse("password", password).map_err(|e| CoreError::Validation(vec![e]))?;
    let display =
        name("name", display_name.unwrap_or(email.as_str()), 200).map_err(|e| CoreError::Validation(vec![e]))?;
    let hash = super::blocking(move || hash_password(&pw)).await??;
    let admin = AdminUser {
        id: AdminUserId::new(),
        email: email.as_str().to_owned(),
        name: display,
        role,
        status: UserStatus::Active,
        password_hash: hash,
        created_at: OffsetDateTime::now_utc(),
        last_login_at: None,
    };
    let audit = AuditEntry::new(&Actor::system(), "admin_user.created")
        .target("admin_user", &admin.id)
        .details(json!({"email": admin.email, "role": admin.role}));
    p.store.create_admin_user(&admin, &audit).await?;
    Ok(admin)
}
