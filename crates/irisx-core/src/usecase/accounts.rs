//! Provider accounts (bring your own under `/v1/providers`, the platform's under `/admin/providers`), routes
//! and phone numbers; and opening an account's sealed credentials into an adapter.

use std::sync::Arc;

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::Platform;
use super::principal::{AdminPrincipal, Need, TenantPrincipal};
use crate::audit::{Actor, AuditEntry};
use crate::domain::{AdminRole, Role, Scope};
use crate::email::provider::EmailProvider;
use crate::error::{CoreError, FieldError};
use crate::id::{PhoneNumberId, ProviderAccountId, RouteId, TenantId};
use crate::page::{Page, PageRequest};
use crate::ports::messaging::NumberPatch;
use crate::sms::E164;
use crate::sms::model::{Channel, PhoneNumber, ProviderAccount, Route, SenderType};
use crate::sms::provider::{ProviderKind, SmsProvider};
use crate::validate::{Checks, name};

/// Managing accounts, routes and numbers needs an admin user or the `numbers:manage` scope.
pub const MANAGE: Need = Need {
    role: Role::Admin,
    scope: Some(Scope::NumbersManage),
};

/// Who owns what is being managed: a tenant, or the platform (staff).
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// A tenant's own.
    Tenant(&'a TenantPrincipal),
    /// The platform's.
    Platform(&'a AdminPrincipal),
}

impl Owner<'_> {
    /// The owning tenant, or `None` for the platform.
    pub(crate) fn tenant(&self) -> Option<&TenantId> {
        match self {
            Owner::Tenant(p) => Some(p.tenant_id()),
            Owner::Platform(_) => None,
        }
    }

    fn actor(&self) -> Actor {
        match self {
            Owner::Tenant(p) => p.actor(),
            Owner::Platform(a) => a.actor(),
        }
    }

    /// Refuses a caller who may not read (or, with `write`, change) the owner's resources.
    pub(crate) fn authorize(&self, write: bool) -> Result<(), CoreError> {
        match self {
            Owner::Tenant(p) => p.authorize(MANAGE),
            Owner::Platform(a) => a.require(if write { AdminRole::Admin } else { AdminRole::Readonly }),
        }
    }

    /// An audit entry by the owner's actor.
    pub(crate) fn audit(&self, action: &str, kind: &str, id: &str) -> AuditEntry {
        let e = AuditEntry::new(&self.actor(), action).target(kind, id);
        match self.tenant() {
            Some(t) => e.tenant(t),
            None => e,
        }
    }
}

/// The context credentials are sealed under: the owning tenant, or `platform`.
pub(crate) fn seal_context(tenant: Option<&TenantId>) -> String {
    tenant.map_or_else(|| "platform".to_owned(), ToString::to_string)
}

/// A new provider account.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The vendor.
    pub kind: ProviderKind,
    /// What it carries; by default email for the email vendors and SMS for the others (and the sandbox).
    pub channel: Option<Channel>,
    /// A name.
    pub name: String,
    /// The vendor's credentials (checked by building an adapter).
    pub credentials: Value,
    /// Another API address (platform accounts only).
    pub base_url: Option<String>,
}

/// Stores an account, its credentials sealed; they are never shown again.
pub async fn create_account(p: &Platform, owner: Owner<'_>, input: NewAccount) -> Result<ProviderAccount, CoreError> {
    owner.authorize(true)?;
    let mut c = Checks::new();
    let account_name = c.check(name("name", &input.name, 100));
    if input.base_url.is_some() && owner.tenant().is_some() {
        c.push(FieldError::new(
            "base_url",
            "not_allowed",
            "only platform accounts may set another API address",
        ));
    }
    if !input.credentials.is_object() {
        c.push(FieldError::new(
            "credentials",
            "invalid",
            "must be a JSON object of the vendor's credentials",
        ));
    }
    let channel = input.channel.unwrap_or_else(|| input.kind.default_channel());
    if !input.kind.serves(channel) {
        c.push(FieldError::new(
            "channel",
            "unsupported_channel",
            format!("{} does not carry {}", input.kind.as_str(), channel.as_str()),
        ));
    }
    c.finish()?;
    let mut account = ProviderAccount {
        id: ProviderAccountId::new(),
        tenant_id: owner.tenant().cloned(),
        kind: input.kind,
        channel,
        name: account_name.unwrap_or_default(),
        sealed_credentials: String::new(),
        base_url: input.base_url,
        enabled: true,
        created_at: OffsetDateTime::now_utc(),
    };
    let built = match channel {
        Channel::Email => p.providers.email(&account, &input.credentials).map(drop),
        _ => p.providers.sms(&account, &input.credentials).map(drop),
    };
    built.map_err(|e| CoreError::field("credentials", "invalid_credentials", e))?;
    account.sealed_credentials = p
        .secrets
        .seal(input.credentials.to_string().as_bytes(), &seal_context(owner.tenant()));
    let audit = owner
        .audit("provider_account.created", "provider_account", account.id.as_str())
        .details(json!({"kind": account.kind, "channel": account.channel, "name": account.name}));
    p.messaging.create_provider_account(&account, &audit).await?;
    Ok(account)
}

/// Lists accounts.
pub async fn list_accounts(
    p: &Platform,
    owner: Owner<'_>,
    page: &PageRequest,
) -> Result<Page<ProviderAccount>, CoreError> {
    owner.authorize(false)?;
    Ok(p.messaging.list_provider_accounts(owner.tenant(), page).await?)
}

/// Deletes an account and its routes.
pub async fn delete_account(p: &Platform, owner: Owner<'_>, id: &ProviderAccountId) -> Result<(), CoreError> {
    owner.authorize(true)?;
    let audit = owner.audit("provider_account.deleted", "provider_account", id.as_str());
    Ok(p.messaging.delete_provider_account(owner.tenant(), id, &audit).await?)
}

/// Opens an account's sealed credentials.
fn credentials(p: &Platform, account: &ProviderAccount) -> Result<Value, CoreError> {
    let plain = p
        .secrets
        .open(&account.sealed_credentials, &seal_context(account.tenant_id.as_ref()))
        .map_err(|e| CoreError::Internal(Box::new(e)))?;
    serde_json::from_slice(&plain).map_err(|e| CoreError::Internal(Box::new(e)))
}

/// Opens an account's credentials and builds its SMS adapter.
pub fn adapter(p: &Platform, account: &ProviderAccount) -> Result<Arc<dyn SmsProvider>, CoreError> {
    p.providers
        .sms(account, &credentials(p, account)?)
        .map_err(CoreError::internal)
}

/// Opens an account's credentials and builds its email adapter.
pub fn email_adapter(p: &Platform, account: &ProviderAccount) -> Result<Arc<dyn EmailProvider>, CoreError> {
    p.providers
        .email(account, &credentials(p, account)?)
        .map_err(CoreError::internal)
}

/// Whether `prefix` is a route prefix for `channel`: `+` and up to 15 digits for SMS; `*` or a lower-case
/// domain for email.
fn prefix_ok(channel: Channel, prefix: &str) -> Result<(), FieldError> {
    let ok = match channel {
        Channel::Email => prefix == "*" || crate::email::content::is_domain(prefix),
        _ => prefix
            .strip_prefix('+')
            .is_some_and(|d| d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit())),
    };
    if ok {
        Ok(())
    } else if channel == Channel::Email {
        Err(FieldError::new(
            "prefix",
            "invalid_prefix",
            "a recipient domain (`example.com`) or `*` for every domain",
        ))
    } else {
        Err(FieldError::new(
            "prefix",
            "invalid_prefix",
            "`+` followed by up to 15 digits",
        ))
    }
}

/// A new route.
#[derive(Debug, Clone)]
pub struct NewRoute {
    /// `+` then digits, or `+` alone for every destination.
    pub prefix: String,
    /// The account.
    pub account_id: ProviderAccountId,
    /// Cost per segment, micro-units.
    pub cost_micros: i64,
    /// ISO 4217.
    pub currency: String,
    /// Tie-breaker, lower first.
    pub priority: i32,
}

/// Stores a route.
pub async fn create_route(p: &Platform, owner: Owner<'_>, input: NewRoute) -> Result<Route, CoreError> {
    owner.authorize(true)?;
    let account = p
        .messaging
        .get_provider_account(owner.tenant(), &input.account_id)
        .await?;
    let mut c = Checks::new();
    c.check(prefix_ok(account.channel, &input.prefix));
    if input.cost_micros < 0 {
        c.push(FieldError::new("cost_micros", "out_of_range", "must not be negative"));
    }
    if input.currency.len() != 3 || !input.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        c.push(FieldError::new(
            "currency",
            "invalid_currency",
            "an ISO 4217 code such as USD",
        ));
    }
    c.finish()?;
    let route = Route {
        id: RouteId::new(),
        tenant_id: owner.tenant().cloned(),
        prefix: input.prefix,
        account_id: input.account_id,
        cost_micros: input.cost_micros,
        currency: input.currency,
        priority: input.priority,
        enabled: true,
        created_at: OffsetDateTime::now_utc(),
    };
    let audit = owner
        .audit("route.created", "route", route.id.as_str())
        .details(json!({"prefix": route.prefix}));
    p.messaging.create_route(&route, &audit).await?;
    Ok(route)
}

/// Lists routes.
pub async fn list_routes(p: &Platform, owner: Owner<'_>, page: &PageRequest) -> Result<Page<Route>, CoreError> {
    owner.authorize(false)?;
    Ok(p.messaging.list_routes(owner.tenant(), page).await?)
}

/// Deletes a route.
pub async fn delete_route(p: &Platform, owner: Owner<'_>, id: &RouteId) -> Result<(), CoreError> {
    owner.authorize(true)?;
    let audit = owner.audit("route.deleted", "route", id.as_str());
    Ok(p.messaging.delete_route(owner.tenant(), id, &audit).await?)
}

/// A number added by staff, to the pool or straight to a tenant.
#[derive(Debug, Clone)]
pub struct NewNumber {
    /// E.164 (or an alphanumeric sender id with `sender_type: alphanumeric`).
    pub number: String,
    /// Its kind.
    pub sender_type: SenderType,
    /// The account it is provisioned on.
    pub account_id: Option<ProviderAccountId>,
    /// The tenant to assign it to.
    pub tenant_id: Option<TenantId>,
    /// Capabilities, e.g. `sms`.
    pub capabilities: Vec<String>,
}

/// Adds a number (staff).
pub async fn create_number(p: &Platform, by: &AdminPrincipal, input: NewNumber) -> Result<PhoneNumber, CoreError> {
    by.require(AdminRole::Admin)?;
    let number = if input.sender_type == SenderType::Alphanumeric {
        let ok = (1..=11).contains(&input.number.len()) && input.number.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err(CoreError::field(
                "number",
                "invalid_sender_id",
                "1 to 11 letters and digits",
            ));
        }
        input.number
    } else {
        E164::parse("number", &input.number)
            .map_err(|e| CoreError::Validation(vec![e]))?
            .as_str()
            .to_owned()
    };
    if let Some(t) = &input.tenant_id {
        p.store.get_tenant(t).await?;
    }
    let now = OffsetDateTime::now_utc();
    let n = PhoneNumber {
        pool: None,
        voice_url: None,
        id: PhoneNumberId::new(),
        tenant_id: input.tenant_id,
        number,
        account_id: input.account_id,
        sender_type: input.sender_type,
        capabilities: if input.capabilities.is_empty() {
            vec!["sms".into()]
        } else {
            input.capabilities
        },
        help_text: None,
        created_at: now,
        updated_at: now,
    };
    let mut audit = AuditEntry::new(&by.actor(), "phone_number.created").target("phone_number", &n.id);
    if let Some(t) = &n.tenant_id {
        audit = audit.tenant(t);
    }
    p.messaging.create_phone_number(&n, &audit).await?;
    Ok(n)
}

/// Assigns a number to a tenant, or returns it to the pool (staff).
pub async fn assign_number(
    p: &Platform,
    by: &AdminPrincipal,
    id: &PhoneNumberId,
    tenant: Option<&TenantId>,
) -> Result<PhoneNumber, CoreError> {
    by.require(AdminRole::Admin)?;
    if let Some(t) = tenant {
        p.store.get_tenant(t).await?;
    }
    let mut audit = AuditEntry::new(&by.actor(), "phone_number.assigned").target("phone_number", id);
    if let Some(t) = tenant {
        audit = audit.tenant(t);
    }
    Ok(p.messaging.assign_phone_number(id, tenant, &audit).await?)
}

/// Lists the pool (`None`) or a tenant's numbers (staff).
pub async fn admin_list_numbers(
    p: &Platform,
    by: &AdminPrincipal,
    tenant: Option<&TenantId>,
    page: &PageRequest,
) -> Result<Page<PhoneNumber>, CoreError> {
    by.require(AdminRole::Readonly)?;
    Ok(p.messaging.list_phone_numbers(tenant, page).await?)
}

/// Lists the caller's numbers.
pub async fn list_numbers(
    p: &Platform,
    by: &TenantPrincipal,
    page: &PageRequest,
) -> Result<Page<PhoneNumber>, CoreError> {
    by.authorize(super::sms::READ)?;
    Ok(p.messaging.list_phone_numbers(Some(by.tenant_id()), page).await?)
}

/// Sets the HELP answer and the sender pool of one of the caller's numbers.
pub async fn update_number(
    p: &Platform,
    by: &TenantPrincipal,
    id: &PhoneNumberId,
    patch: &NumberPatch,
) -> Result<PhoneNumber, CoreError> {
    by.authorize(MANAGE)?;
    let mut c = Checks::new();
    if let Some(Some(h)) = &patch.help_text
        && h.chars().count() > 320
    {
        c.push(FieldError::new("help_text", "too_long", "at most 320 characters"));
    }
    if let Some(Some(pool)) = &patch.pool {
        c.check(pool_name("pool", pool));
    }
    c.finish()?;
    Ok(p.messaging.update_phone_number(by.tenant_id(), id, patch).await?)
}

/// A sender pool's name: 1 to 64 letters, digits, `-` or `_`.
pub fn pool_name(field: &str, name: &str) -> Result<(), FieldError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            "invalid_pool",
            "a pool name is 1 to 64 letters, digits, `-` or `_`",
        ))
    }
}
