//! SMS adapters, one module per vendor, and the factory that builds one from stored credentials.

pub mod bandwidth;
pub mod form;
pub mod messagebird;
pub mod plivo;
pub mod sandbox;
pub mod sinch;
pub mod telnyx;
pub mod twilio;
pub mod vonage;

use std::sync::Arc;

use irisx_core::sms::provider::{ProviderKind, SmsProvider};
use reqwest::Client;
use serde::de::DeserializeOwned;

/// Why an adapter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The credentials do not have the vendor's fields.
    #[error("invalid {provider} credentials: {source}")]
    Credentials {
        /// The vendor.
        provider: &'static str,
        /// What is missing or wrong.
        #[source]
        source: serde_json::Error,
    },
    /// No adapter for this vendor yet.
    #[error("no SMS adapter for {0}")]
    Unsupported(&'static str),
}

/// A number some vendors write as international digits without `+`: numbers get it back, sender names and
/// short codes stay as they are.
pub(crate) fn msisdn(s: &str) -> String {
    irisx_core::sms::E164::parse("msisdn", &format!("+{s}")).map_or_else(|_| s.to_owned(), |n| n.as_str().to_owned())
}

/// Reads a vendor's credentials from their stored JSON.
pub fn credentials<T: DeserializeOwned>(kind: ProviderKind, json: &serde_json::Value) -> Result<T, BuildError> {
    serde_json::from_value(json.clone()).map_err(|source| BuildError::Credentials {
        provider: kind.as_str(),
        source,
    })
}

/// Builds the adapter of `kind` for one account. `base_url` overrides the vendor's API address (tests, regions).
pub fn build(
    kind: ProviderKind,
    creds: &serde_json::Value,
    base_url: Option<&str>,
    client: Client,
) -> Result<Arc<dyn SmsProvider>, BuildError> {
    match kind {
        ProviderKind::Twilio => Ok(Arc::new(twilio::Twilio::new(
            credentials(kind, creds)?,
            base_url,
            client,
        ))),
        ProviderKind::Telnyx => telnyx::build(creds, base_url, client),
        ProviderKind::Bandwidth => bandwidth::build(creds, base_url, client),
        ProviderKind::Plivo => plivo::build(creds, base_url, client),
        ProviderKind::Vonage => vonage::build(creds, base_url, client),
        ProviderKind::Messagebird => messagebird::build(creds, base_url, client),
        ProviderKind::Sinch => sinch::build(creds, base_url, client),
        ProviderKind::Sandbox => sandbox::build(creds, base_url, client),
        ProviderKind::Sendgrid
        | ProviderKind::Mailgun
        | ProviderKind::Postmark
        | ProviderKind::Ses
        | ProviderKind::Smtp => Err(BuildError::Unsupported(kind.as_str())),
    }
}
