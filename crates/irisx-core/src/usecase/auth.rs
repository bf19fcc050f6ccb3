//! Sign-up, login, refresh, logout, password change, and the per-request authentication of tokens and keys.
//!
//! Failed logins are counted per email in the cache, whether or not the account exists, so neither the error
//! nor the timing (a decoy hash is verified for unknown emails) nor the lockout tells an attacker which
//! emails are registered.

use std::time::Duration;

use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::principal::{Caller, TenantPrincipal};
pub use super::staff_auth::{AdminLoggedIn, admin_login, admin_logout, authenticate_admin};
use super::{LoginPolicy, Platform, RequestMeta, blocking};
use crate::audit::{Actor, ActorKind, AuditEntry};
use crate::auth::{IssuedToken, decoy_hash, hash_password, token_hash, verify_password};
use crate::domain::{Plan, Role, Session, Tenant, TenantStatus, User, UserStatus, hash_api_key, looks_like_api_key};
use crate::error::CoreError;
use crate::id::{SessionId, TenantId, UserId};
use crate::validate::{Checks, EmailAddress, Password, both, name};

pub(super) const BAD_LOGIN: &str = "invalid email or password";
/// A key's last-used time is written at most this often.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// A new account: a tenant and its owner.
#[derive(Debug, Clone)]
pub struct SignupInput {
    /// The tenant's name.
    pub company: String,
    /// The owner's name.
    pub name: String,
    /// The owner's email.
    pub email: String,
    /// The owner's password.
    pub password: String,
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    /// The token.
    pub token: IssuedToken,
    /// The user.
    pub user: User,
    /// The user's tenant.
    pub tenant: Tenant,
}

/// Builds a new user from raw input, collecting every field error.
pub(crate) async fn new_user(
    tenant: &TenantId,
    role: Role,
    name_in: &str,
    email: &str,
    password: &str,
    prefix: &str,
) -> Result<User, CoreError> {
    let mut c = Checks::new();
    let name_v = c.check(name(&format!("{prefix}name"), name_in, 200));
    let email_v = c.check(EmailAddress::parse(&format!("{prefix}email"), email));
    let pw = c.check(Password::parse(&format!("{prefix}password"), password));
    c.finish()?;
    let (Some(name_v), Some(email_v), Some(pw)) = (name_v, email_v, pw) else {
        return Err(CoreError::internal("checks passed without values"));
    };
    let hash = blocking(move || hash_password(&pw)).await??;
    let now = OffsetDateTime::now_utc();
    Ok(User {
        id: UserId::new(),
        tenant_id: tenant.clone(),
        email: email_v.as_str().to_owned(),
        name: name_v,
        role,
        status: UserStatus::Active,
        password_hash: hash,
        created_at: now,
        updated_at: now,
        last_login_at: None,
    })
}

/// Creates a tenant and its owner, and logs the owner in.
pub async fn signup(p: &Platform, input: SignupInput, meta: &RequestMeta) -> Result<LoggedIn, CoreError> {
    if !p.policy.signup_enabled {
        return Err(CoreError::Forbidden(
            "self-service sign-up is switched off on this platform".into(),
        ));
    }
    let company = name("company", &input.company, 200);
    let tenant_id = TenantId::new();
    let owner = new_user(&tenant_id, Role::Owner, &input.name, &input.email, &input.password, "").await;
    let (company, owner) = both(company, owner)?;
    let now = OffsetDateTime::now_utc();
    let tenant = Tenant {
        id: tenant_id.clone(),
        name: company,
        plan: Plan::Free,
        status: TenantStatus::Active,
        created_at: now,
        updated_at: now,
    };
    let actor = Actor {
        kind: ActorKind::User,
        id: Some(owner.id.to_string()),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
    };
    let audit = AuditEntry::new(&actor, "tenant.signed_up")
        .tenant(&tenant.id)
        .target("tenant", &tenant.id);
    p.store.create_tenant_with_owner(&tenant, &owner, &audit).await?;
    let token = open_session(p, &owner, meta).await?;
    Ok(LoggedIn {
        token,
        user: owner,
        tenant,
    })
}

async fn open_session(p: &Platform, user: &User, meta: &RequestMeta) -> Result<IssuedToken, CoreError> {
    let now = OffsetDateTime::now_utc();
    let sid = SessionId::new();
    let token = p
        .tokens
        .issue_customer(&user.id, &user.tenant_id, &user.email, user.role, &sid, now)?;
    let session = Session {
        id: sid,
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        token_hash: token_hash(&token.token),
        created_at: now,
        expires_at: token.expires_at,
        revoked_at: None,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
    };
    p.store.create_session(&session).await?;
    Ok(token)
}

/// The failure counter of one email (`kind` separates customers from staff).
pub(super) struct FailureCounter {
    key: String,
}

impl FailureCounter {
    pub(super) fn new(kind: &str, email: &str) -> Self {
        let digest = hex::encode(Sha256::digest(email.trim().to_lowercase().as_bytes()));
        Self {
            key: format!("lf:{kind}:{digest}"),
        }
    }

    /// Refuses a locked email; otherwise waits the slowdown its failures have earned.
    pub(super) async fn gate(&self, p: &Platform) -> Result<(), CoreError> {
        let policy = p.policy.login;
        let (count, ttl) = p.cache.get_counter(&self.key).await?;
        if count >= u64::from(policy.max_failures) {
            return Err(CoreError::LoginLocked {
                retry_after: ttl.unwrap_or(policy.lockout),
            });
        }
        if let Some(d) = slowdown(&policy, count) {
            tokio::time::sleep(d).await;
        }
        Ok(())
    }

    /// Counts a failure; returns whether it locked the email.
    pub(super) async fn fail(&self, p: &Platform) -> Result<bool, CoreError> {
        let n = p.cache.incr(&self.key, p.policy.login.lockout).await?;
        Ok(n == u64::from(p.policy.login.max_failures))
    }

    pub(super) async fn clear(&self, p: &Platform) -> Result<(), CoreError> {
        Ok(p.cache.delete(&self.key).await?)
    }
}

fn slowdown(policy: &LoginPolicy, failures: u64) -> Option<Duration> {
    let over = failures.checked_sub(u64::from(policy.slowdown_after))?;
    let factor = 1u32 << over.min(16);
    Some((policy.slowdown_step * factor).min(policy.slowdown_max))
}

pub(super) fn anonymous(meta: &RequestMeta) -> Actor {
    Actor {
        kind: ActorKind::Anonymous,
        id: None,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
    }
}

/// Logs a user in by email and password.
pub async fn login(p: &Platform, email: &str, password: &str, meta: &RequestMeta) -> Result<LoggedIn, CoreError> {
    let counter = FailureCounter::new("user", email);
    counter.gate(p).await?;
    let found = p.store.find_user_by_email(&email.trim().to_lowercase()).await?;
    let hash = found
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |(u, _)| u.password_hash.clone());
    let pw = password.to_owned();
    let ok = blocking(move || verify_password(&hash, &pw)).await?;
    let (user, tenant) = match found {
        Some(pair) if ok => pair,
        target => {
            record_failed_login(p, &counter, target.as_ref().map(|(u, _)| u), meta).await?;
            return Err(CoreError::Unauthenticated(BAD_LOGIN.into()));
        }
    };
    if user.status != UserStatus::Active {
        return Err(CoreError::Forbidden("this user is disabled".into()));
    }
    if !tenant.is_active() {
        return Err(CoreError::TenantSuspended);
    }
    counter.clear(p).await?;
    let token = open_session(p, &user, meta).await?;
    Ok(LoggedIn { token, user, tenant })
}

/// Counts a failed login and audits it, and the lockout it may cause, against the user when there is one.
async fn record_failed_login(
    p: &Platform,
    counter: &FailureCounter,
    user: Option<&User>,
    meta: &RequestMeta,
) -> Result<(), CoreError> {
    let locked = counter.fail(p).await?;
    let entry = |action: &str| {
        let e = AuditEntry::new(&anonymous(meta), action);
        match user {
            Some(u) => e.tenant(&u.tenant_id).target("user", &u.id),
            None => e,
        }
    };
    p.store.append_audit(&entry("auth.login_failed")).await?;
    if locked && user.is_some() {
        let details = json!({"lockout_seconds": p.policy.login.lockout.as_secs()});
        p.store.append_audit(&entry("auth.locked_out").details(details)).await?;
    }
    Ok(())
}

/// Authenticates the text of an `X-API-Key` header or a bearer token.
pub async fn authenticate(p: &Platform, credential: &str, meta: &RequestMeta) -> Result<TenantPrincipal, CoreError> {
    if looks_like_api_key(credential) {
        authenticate_key(p, credential, meta).await
    } else {
        authenticate_token(p, credential, meta).await
    }
}

async fn authenticate_key(p: &Platform, key: &str, meta: &RequestMeta) -> Result<TenantPrincipal, CoreError> {
    let invalid = || CoreError::Unauthenticated("the API key is invalid or revoked".into());
    let ctx = p
        .store
        .find_api_key_by_hash(&hash_api_key(key))
        .await?
        .ok_or_else(invalid)?;
    if ctx.key.revoked_at.is_some() {
        return Err(invalid());
    }
    if !ctx.tenant.is_active() {
        return Err(CoreError::TenantSuspended);
    }
    let now = OffsetDateTime::now_utc();
    let stale = ctx
        .key
        .last_used_at
        .is_none_or(|t| (now - t).whole_seconds() >= TOUCH_INTERVAL_SECS);
    if stale {
        p.store.touch_api_key(&ctx.key.id, now, TOUCH_INTERVAL_SECS).await?;
    }
    Ok(TenantPrincipal {
        tenant: ctx.tenant,
        caller: Caller::ApiKey(ctx.key),
        meta: meta.clone(),
    })
}

async fn authenticate_token(p: &Platform, token: &str, meta: &RequestMeta) -> Result<TenantPrincipal, CoreError> {
    let claims = p.tokens.verify_customer(token)?;
    if p.cache.has_flag(&blacklist_key(claims.jti.as_str())).await? {
        return Err(CoreError::Unauthenticated("the token was revoked".into()));
    }
    let ctx = match p.store.get_session_context(&claims.jti).await {
        Ok(ctx) => ctx,
        Err(crate::ports::store::StoreError::NotFound(_)) => {
            return Err(CoreError::Unauthenticated("the session no longer exists".into()));
        }
        Err(e) => return Err(e.into()),
    };
    let now = OffsetDateTime::now_utc();
    if ctx.session.revoked_at.is_some() || ctx.session.expires_at <= now {
        return Err(CoreError::Unauthenticated("the session has ended; log in again".into()));
    }
    if ctx.user.status != UserStatus::Active {
        return Err(CoreError::Unauthenticated("this user is disabled".into()));
    }
    if !ctx.tenant.is_active() {
        return Err(CoreError::TenantSuspended);
    }
    let caller = Caller::User {
        user: ctx.user,
        session: ctx.session.id,
        expires_at: ctx.session.expires_at,
    };
    Ok(TenantPrincipal {
        tenant: ctx.tenant,
        caller,
        meta: meta.clone(),
    })
}

fn blacklist_key(jti: &str) -> String {
    format!("bl:{jti}")
}

fn user_session(principal: &TenantPrincipal) -> Result<(&User, &SessionId, OffsetDateTime), CoreError> {
    match &principal.caller {
        Caller::User {
            user,
            session,
            expires_at,
        } => Ok((user, session, *expires_at)),
        Caller::ApiKey(_) => Err(CoreError::Forbidden(
            "this action needs a user login; API keys cannot do it".into(),
        )),
    }
}

/// Ends the caller's session: the token is refused from now on, by every process.
pub async fn logout(p: &Platform, principal: &TenantPrincipal) -> Result<(), CoreError> {
    let (_, session, expires_at) = user_session(principal)?;
    end_session(p, session, expires_at).await
}

async fn end_session(p: &Platform, session: &SessionId, expires_at: OffsetDateTime) -> Result<(), CoreError> {
    let now = OffsetDateTime::now_utc();
    let ttl = Duration::try_from(expires_at - now)
        .unwrap_or(Duration::from_secs(1))
        .max(Duration::from_secs(1));
    p.cache.set_flag(&blacklist_key(session.as_str()), ttl).await?;
    p.store.revoke_session(session, now).await?;
    Ok(())
}

/// Swaps the caller's token for a fresh one; the old one stops working.
pub async fn refresh(p: &Platform, principal: &TenantPrincipal) -> Result<IssuedToken, CoreError> {
    let (user, session, expires_at) = user_session(principal)?;
    let token = open_session(p, user, &principal.meta).await?;
    end_session(p, session, expires_at).await?;
    Ok(token)
}

/// Changes the caller's password after checking the current one; every other session ends.
pub async fn change_password(
    p: &Platform,
    principal: &TenantPrincipal,
    current: &str,
    new: &str,
) -> Result<(), CoreError> {
    let (user, session, _) = user_session(principal)?;
    let new_pw = Password::parse("new_password", new).map_err(|e| CoreError::Validation(vec![e]))?;
    if new == current {
        return Err(CoreError::field(
            "new_password",
            "unchanged",
            "the new password must differ from the current one",
        ));
    }
    let (hash, cur) = (user.password_hash.clone(), current.to_owned());
    if !blocking(move || verify_password(&hash, &cur)).await? {
        return Err(CoreError::field(
            "current_password",
            "incorrect",
            "the current password is not correct",
        ));
    }
    let new_hash = blocking(move || hash_password(&new_pw)).await??;
    let audit = AuditEntry::new(&principal.actor(), "user.password_changed")
        .tenant(principal.tenant_id())
        .target("user", &user.id);
    p.store
        .set_user_password(&user.tenant_id, &user.id, &new_hash, Some(session), &audit)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowdown_starts_after_the_threshold_doubles_and_is_capped() {
        let p = LoginPolicy::default();
        assert_eq!(slowdown(&p, 0), None);
        assert_eq!(slowdown(&p, 2), None);
        assert_eq!(slowdown(&p, 3), Some(Duration::from_millis(250)));
        assert_eq!(slowdown(&p, 4), Some(Duration::from_millis(500)));
        assert_eq!(slowdown(&p, 40), Some(Duration::from_secs(2)));
    }
}
