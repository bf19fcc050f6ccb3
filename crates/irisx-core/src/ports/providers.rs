//! The provider factory port: builds a vendor adapter from an account and its opened credentials. The
//! `irisx` binary supplies the implementation (the `irisx-providers` crate), so use cases and the worker never
//! name a vendor crate.

use std::sync::Arc;

use crate::email::provider::EmailProvider;
use crate::sms::model::ProviderAccount;
use crate::sms::provider::SmsProvider;

/// Builds adapters.
pub trait ProviderFactory: Send + Sync + 'static {
    /// The SMS adapter of an account; `credentials` is the opened JSON. The error says what is wrong with them.
    fn sms(&self, account: &ProviderAccount, credentials: &serde_json::Value) -> Result<Arc<dyn SmsProvider>, String>;
    /// The email adapter of an account; `credentials` is the opened JSON. The error says what is wrong with them.
    fn email(
        &self,
        account: &ProviderAccount,
        credentials: &serde_json::Value,
    ) -> Result<Arc<dyn EmailProvider>, String>;
}
