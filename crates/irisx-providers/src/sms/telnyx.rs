//! Telnyx SMS adapter (not written yet).

use std::sync::Arc;

use irisx_core::sms::provider::SmsProvider;
use reqwest::Client;

use super::BuildError;

/// Builds the adapter for one account.
pub fn build(
    _creds: &serde_json::Value,
    _base_url: Option<&str>,
    _client: Client,
) -> Result<Arc<dyn SmsProvider>, BuildError> {
    Err(BuildError::Unsupported("telnyx"))
}
