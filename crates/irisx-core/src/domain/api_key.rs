//! API keys: `irisx_live_<64 hex>` (or `irisx_test_` for sandbox keys), stored only as SHA-256, with scopes.

use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::wire_enum;
use crate::id::{ApiKeyId, TenantId, UserId};

wire_enum!(
    /// What an API key may do. A route that needs a scope answers 403 to a key without it.
    Scope, "scope" {
        /// List and read users.
        UsersRead => "users:read",
        /// Create, change and remove users.
        UsersWrite => "users:write",
        /// Create, list and revoke API keys.
        ApiKeysManage => "api_keys:manage",
        /// Send SMS.
        SmsSend => "sms:send",
        /// Read SMS.
        SmsRead => "sms:read",
        /// Send email.
        EmailSend => "email:send",
        /// Read email.
        EmailRead => "email:read",
        /// Place and control calls.
        CallsWrite => "calls:write",
        /// Read calls.
        CallsRead => "calls:read",
        /// Manage webhook endpoints.
        WebhooksManage => "webhooks:manage",
        /// Read the event log.
        EventsRead => "events:read",
        /// Manage phone numbers and provider credentials.
        NumbersManage => "numbers:manage",
        /// Read usage.
        UsageRead => "usage:read",
    }
);

wire_enum!(
    /// Whether a key acts on real providers or on the sandbox.
    ApiKeyEnvironment, "environment" {
        /// Real providers: `irisx_live_`.
        Live => "live",
        /// Sandbox providers only: `irisx_test_`.
        Test => "test",
    }
);

impl ApiKeyEnvironment {
    /// The key text's prefix.
    pub fn key_prefix(self) -> &'static str {
        match self {
            ApiKeyEnvironment::Live => "irisx_live_",
            ApiKeyEnvironment::Test => "irisx_test_",
        }
    }
}

/// An API key as stored (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// The tenant it acts for.
    pub tenant_id: TenantId,
    /// A name for people.
    pub name: String,
    /// Live or test.
    pub environment: ApiKeyEnvironment,
    /// The last four characters of the key, to recognise it.
    pub last_four: String,
    /// SHA-256 of the key, hex.
    pub key_hash: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Who created it, when a user did.
    pub created_by: Option<UserId>,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it was last used (updated at most once a minute).
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked.
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// Whether the key carries `scope`.
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A freshly generated key: the text is shown once and never stored.
#[derive(Debug)]
pub struct GeneratedKey {
    /// The full key, e.g. `irisx_live_<64 hex>`.
    pub key: String,
    /// SHA-256 of `key`, hex.
    pub hash: String,
    /// Its last four characters.
    pub last_four: String,
}

impl GeneratedKey {
    /// A new random key of 256 bits.
    pub fn generate(env: ApiKeyEnvironment) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let key = format!("{}{}", env.key_prefix(), hex::encode(bytes));
        let last_four = key[key.len() - 4..].to_owned();
        Self {
            hash: hash_api_key(&key),
            key,
            last_four,
        }
    }
}

/// The stored form of a key: SHA-256, hex. A fast hash is right here: keys carry 256 random bits.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Whether `text` has the shape of an IRISX key (so other tokens are not looked up).
pub fn looks_like_api_key(text: &str) -> bool {
    let rest = text
        .strip_prefix("irisx_live_")
        .or_else(|| text.strip_prefix("irisx_test_"));
    rest.is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_has_the_documented_shape_and_hashes_to_its_stored_hash() {
        let k = GeneratedKey::generate(ApiKeyEnvironment::Live);
        assert!(k.key.starts_with("irisx_live_"));
        assert_eq!(k.key.len(), "irisx_live_".len() + 64);
        assert!(looks_like_api_key(&k.key));
        assert_eq!(hash_api_key(&k.key), k.hash);
        assert!(k.key.ends_with(&k.last_four));
    }

    #[test]
    fn scopes_parse_from_their_wire_names_only() {
        assert_eq!("sms:send".parse::<Scope>().unwrap(), Scope::SmsSend);
        assert!("sms:*".parse::<Scope>().is_err());
    }
}
