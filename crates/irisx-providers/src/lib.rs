//! IRISX provider adapters: one module per vendor, each reproducing the vendor's documented wire contract
//! (path, auth, content type, fields, responses, error codes, callback signatures), over one shared HTTP
//! client whose failures are classified once (see [`irisx_core::sms::provider::ProviderError`]).
//!
//! Base URLs are configurable so tests point adapters at local mock servers speaking the same contract
//! (`tests/contracts/` holds the vendors' documented payloads).

pub mod email;
pub mod http;
pub mod signing;
pub mod sms;

use std::sync::Arc;

use irisx_core::email::provider::{EmailProvider, EmailProviderKind};
use irisx_core::ports::providers::ProviderFactory;
use irisx_core::sms::model::ProviderAccount;
use irisx_core::sms::provider::SmsProvider;

/// The provider factory the `irisx` binary hands to the platform: every adapter shares one pooled client.
pub struct Factory {
    client: reqwest::Client,
}

impl Factory {
    /// A factory over a client built with these timeouts.
    pub fn new(options: http::HttpOptions) -> Self {
        Self {
            client: http::client(options),
        }
    }
}

impl Factory {
    /// The email adapter of an account of `kind`; `credentials` is the opened JSON (see [`email`] for each
    /// vendor's fields) and `base_url` overrides the vendor's API address. The error says what is wrong.
    pub fn email(
        &self,
        kind: EmailProviderKind,
        credentials: &serde_json::Value,
        base_url: Option<&str>,
    ) -> Result<Arc<dyn EmailProvider>, String> {
        email::build(kind, credentials, base_url, self.client.clone()).map_err(|e| e.to_string())
    }
}

impl ProviderFactory for Factory {
    fn sms(&self, account: &ProviderAccount, credentials: &serde_json::Value) -> Result<Arc<dyn SmsProvider>, String> {
        sms::build(
            account.kind,
            credentials,
            account.base_url.as_deref(),
            self.client.clone(),
        )
        .map_err(|e| e.to_string())
    }

    fn email(
        &self,
        account: &ProviderAccount,
        credentials: &serde_json::Value,
    ) -> Result<Arc<dyn EmailProvider>, String> {
        let kind = account
            .kind
            .email()
            .ok_or_else(|| format!("{} does not send email", account.kind.as_str()))?;
        self.email(kind, credentials, account.base_url.as_deref())
    }
}
