//! Platform staff: login (with the same failure counting as customers, kept apart), per-request token
//! authentication against the hashed session, and logout. Every login and failure is audited.

use serde_json::json;
use time::OffsetDateTime;

use super::auth::{BAD_LOGIN, FailureCounter, anonymous};
use super::principal::AdminPrincipal;
use super::{Platform, RequestMeta, blocking};
use crate::audit::{Actor, ActorKind, AuditEntry};
use crate::auth::{IssuedToken, decoy_hash, token_hash, verify_password};
use crate::domain::{AdminSession, AdminUser, UserStatus};
use crate::error::CoreError;
use crate::id::AdminSessionId;

/// A successful staff login.
#[derive(Debug, Clone)]
pub struct AdminLoggedIn {
    /// The token.
    pub token: IssuedToken,
    /// The staff member.
    pub admin: AdminUser,
}

/// Logs a member of the platform staff in.
pub async fn admin_login(
    p: &Platform,
    email: &str,
    password: &str,
    meta: &RequestMeta,
) -> Result<AdminLoggedIn, CoreError> {
    let counter = FailureCounter::new("admin", email);
    counter.gate(p).await?;
    let found = p.store.find_admin_by_email(&email.trim().to_lowercase()).await?;
    let hash = found
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |a| a.password_hash.clone());
    let pw = password.to_owned();
    let ok = blocking(move || verify_password(&hash, &pw)).await?;
    let Some(admin) = found.filter(|a| ok && a.status == UserStatus::Active) else {
        let locked = counter.fail(p).await?;
        let action = if locked {
            "admin.locked_out"
        } else {
            "admin.login_failed"
        };
        let entry = AuditEntry::new(&anonymous(meta), action).details(json!({"email": email.trim().to_lowercase()}));
        p.store.append_audit(&entry).await?;
        return Err(CoreError::Unauthenticated(BAD_LOGIN.into()));
    };
    counter.clear(p).await?;
    let now = OffsetDateTime::now_utc();
    let sid = AdminSessionId::new();
    let token = p.tokens.issue_admin(&admin.id, &admin.email, admin.role, &sid, now)?;
    let session = AdminSession {
        id: sid,
        admin_id: admin.id.clone(),
        token_hash: token_hash(&token.token),
        created_at: now,
        expires_at: token.expires_at,
        revoked_at: None,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
    };
    p.store.create_admin_session(&session).await?;
    let actor = Actor {
        kind: ActorKind::Admin,
        id: Some(admin.id.to_string()),
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.clone(),
    };
    p.store
        .append_audit(&AuditEntry::new(&actor, "admin.logged_in").target("admin_user", &admin.id))
        .await?;
    Ok(AdminLoggedIn { token, admin })
}

/// Authenticates a staff bearer token.
pub async fn authenticate_admin(p: &Platform, token: &str, meta: &RequestMeta) -> Result<AdminPrincipal, CoreError> {
    let claims = p.tokens.verify_admin(token)?;
    let ended = || CoreError::Unauthenticated("the session has ended; log in again".into());
    let (session, admin) = p
        .store
        .find_admin_session(&token_hash(token))
        .await?
        .ok_or_else(ended)?;
    if session.id != claims.jti || session.revoked_at.is_some() || session.expires_at <= OffsetDateTime::now_utc() {
        return Err(ended());
    }
    if admin.status != UserStatus::Active {
        return Err(CoreError::Unauthenticated("this staff account is disabled".into()));
    }
    Ok(AdminPrincipal {
        admin,
        session,
        meta: meta.clone(),
    })
}

/// Ends a staff session.
pub async fn admin_logout(p: &Platform, principal: &AdminPrincipal) -> Result<(), CoreError> {
    p.store
        .revoke_admin_session(&principal.session.id, OffsetDateTime::now_utc())
        .await?;
    let entry = AuditEntry::new(&principal.actor(), "admin.logged_out").target("admin_user", &principal.admin.id);
    p.store.append_audit(&entry).await?;
    Ok(())
}
