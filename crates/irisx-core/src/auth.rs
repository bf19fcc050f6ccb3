//! Passwords (Argon2id) and bearer tokens (JWT HS256).
//!
//! Customer tokens carry `userId, tenantId, email, role` and the session id as `jti`; staff tokens carry the
//! staff id as `sub`. The two kinds are signed with different secrets and audiences, so one can never pass
//! for the other. A valid signature is not enough: the caller also checks the session (revocation, suspension).

use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::domain::{AdminRole, Role};
use crate::error::CoreError;
use crate::id::{AdminSessionId, AdminUserId, SessionId, TenantId, UserId};
use crate::validate::Password;

const ISSUER: &str = "irisx";
const CUSTOMER_AUDIENCE: &str = "irisx:customer";
const ADMIN_AUDIENCE: &str = "irisx:admin";

/// Hashes a password with Argon2id and a random salt. CPU-heavy: call it off the async runtime.
pub fn hash_password(password: &Password) -> Result<String, CoreError> {
    Argon2::default()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| CoreError::internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches the stored PHC `hash`. A malformed hash never matches. CPU-heavy.
pub fn verify_password(hash: &str, password: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// A valid Argon2id hash of nothing anyone knows: verifying against it costs what a real check costs, so an
/// unknown email takes as long to refuse as a wrong password.
pub fn decoy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$q0Rq3yjWnV1nI1hJQf1y6wS8Qp3rzm1pM8Ub7gUq8wY"
}

/// SHA-256 of a token, hex: how tokens are stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The claims of a customer token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerClaims {
    /// The user.
    #[serde(rename = "userId")]
    pub user_id: UserId,
    /// The tenant.
    #[serde(rename = "tenantId")]
    pub tenant_id: TenantId,
    /// The user's email at issue time.
    pub email: String,
    /// The user's role at issue time (the role in force is read from the database on each request).
    pub role: Role,
    /// The session id.
    pub jti: SessionId,
    /// Issuer, `irisx`.
    pub iss: String,
    /// Audience, `irisx:customer`.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

/// The claims of a staff token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminClaims {
    /// The staff member.
    pub sub: AdminUserId,
    /// The staff member's email at issue time.
    pub email: String,
    /// The staff member's role at issue time.
    pub role: AdminRole,
    /// The session id.
    pub jti: AdminSessionId,
    /// Issuer, `irisx`.
    pub iss: String,
    /// Audience, `irisx:admin`.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
}

/// A signed token and its expiry.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

/// Signs and checks both kinds of token.
#[derive(Clone)]
pub struct TokenSigner {
    customer_enc: EncodingKey,
    customer_dec: DecodingKey,
    admin_enc: EncodingKey,
    admin_dec: DecodingKey,
    /// Lifetime of customer tokens (24 h by default).
    pub customer_ttl: Duration,
    /// Lifetime of staff tokens (4 h by default).
    pub admin_ttl: Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("customer_ttl", &self.customer_ttl)
            .field("admin_ttl", &self.admin_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer from the two secrets (at least 32 bytes each, checked by the configuration).
    pub fn new(customer_secret: &[u8], admin_secret: &[u8], customer_ttl: Duration, admin_ttl: Duration) -> Self {
        Self {
            customer_enc: EncodingKey::from_secret(customer_secret),
            customer_dec: DecodingKey::from_secret(customer_secret),
            admin_enc: EncodingKey::from_secret(admin_secret),
            admin_dec: DecodingKey::from_secret(admin_secret),
            customer_ttl,
            admin_ttl,
        }
    }

    /// Issues a customer token for a session.
    pub fn issue_customer(
        &self,
        user_id: &UserId,
        tenant_id: &TenantId,
        email: &str,
        role: Role,
        session: &SessionId,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, CoreError> {
        let expires_at = now + self.customer_ttl;
        let claims = CustomerClaims {
            user_id: user_id.clone(),
            tenant_id: tenant_id.clone(),
            email: email.to_owned(),
            role,
            jti: session.clone(),
            iss: ISSUER.into(),
            aud: CUSTOMER_AUDIENCE.into(),
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
        };
        sign(&claims, &self.customer_enc, expires_at)
    }

    /// Issues a staff token for a session.
    pub fn issue_admin(
        &self,
        admin_id: &AdminUserId,
        email: &str,
        role: AdminRole,
        session: &AdminSessionId,
        now: OffsetDateTime,
    ) -> Result<IssuedToken, CoreError> {
        let expires_at = now + self.admin_ttl;
        let claims = AdminClaims {
            sub: admin_id.clone(),
            email: email.to_owned(),
            role,
            jti: session.clone(),
            iss: ISSUER.into(),
            aud: ADMIN_AUDIENCE.into(),
            iat: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
        };
        sign(&claims, &self.admin_enc, expires_at)
    }

    /// The claims of a valid, unexpired customer token.
    pub fn verify_customer(&self, token: &str) -> Result<CustomerClaims, CoreError> {
        verify(token, &self.customer_dec, CUSTOMER_AUDIENCE)
    }

    /// The claims of a valid, unexpired staff token.
    pub fn verify_admin(&self, token: &str) -> Result<AdminClaims, CoreError> {
        verify(token, &self.admin_dec, ADMIN_AUDIENCE)
    }
}

fn sign<C: Serialize>(claims: &C, key: &EncodingKey, expires_at: OffsetDateTime) -> Result<IssuedToken, CoreError> {
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, key)
        .map_err(|e| CoreError::internal(format!("token signing failed: {e}")))?;
    Ok(IssuedToken { token, expires_at })
}

fn verify<C: serde::de::DeserializeOwned>(token: &str, key: &DecodingKey, audience: &str) -> Result<C, CoreError> {
    let mut v = Validation::new(Algorithm::HS256);
    v.set_audience(&[audience]);
    v.set_issuer(&[ISSUER]);
    v.leeway = 0;
    v.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    jsonwebtoken::decode::<C>(token, key, &v)
        .map(|d| d.claims)
        .map_err(|_| CoreError::Unauthenticated("the token is invalid or expired".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::new(&[7; 32], &[9; 32], Duration::from_secs(3600), Duration::from_secs(600))
    }

    #[test]
    fn a_customer_token_round_trips_and_is_refused_as_a_staff_token() {
        let s = signer();
        let (u, t, ses) = (UserId::new(), TenantId::new(), SessionId::new());
        let now = OffsetDateTime::now_utc();
        let tok = s.issue_customer(&u, &t, "a@b.co", Role::Owner, &ses, now).unwrap();
        let c = s.verify_customer(&tok.token).unwrap();
        assert_eq!((c.user_id, c.tenant_id, c.jti, c.role), (u, t, ses, Role::Owner));
        assert!(s.verify_admin(&tok.token).is_err());
        let json = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(&tok.token)
            .unwrap()
            .claims;
        assert!(json.get("userId").is_some() && json.get("tenantId").is_some());
    }

    #[test]
    fn an_expired_or_tampered_token_is_refused() {
        let s = signer();
        let past = OffsetDateTime::now_utc() - Duration::from_secs(7200);
        let tok = s
            .issue_customer(
                &UserId::new(),
                &TenantId::new(),
                "a@b.co",
                Role::User,
                &SessionId::new(),
                past,
            )
            .unwrap();
        assert!(s.verify_customer(&tok.token).is_err());
        let fresh = s
            .issue_admin(
                &AdminUserId::new(),
                "s@b.co",
                AdminRole::Support,
                &AdminSessionId::new(),
                OffsetDateTime::now_utc(),
            )
            .unwrap();
        let mut bad = fresh.token.clone();
        bad.pop();
        assert!(s.verify_admin(&bad).is_err());
        assert!(s.verify_admin(&fresh.token).is_ok());
    }

    #[test]
    fn passwords_verify_and_the_decoy_hash_is_well_formed() {
        let p = Password::parse("password", "Sturdy-Passw0rd").unwrap();
        let h = hash_password(&p).unwrap();
        assert!(verify_password(&h, "Sturdy-Passw0rd"));
        assert!(!verify_password(&h, "Sturdy-Passw0rD"));
        assert!(argon2::password_hash::phc::PasswordHash::new(decoy_hash()).is_ok());
        assert!(!verify_password(decoy_hash(), "Sturdy-Passw0rd"));
    }
}
