//! Email adapters, one module per vendor, and the builder that makes one from stored credentials.
//!
//! Credentials JSON per vendor (each module documents its fields):
//!
//! | kind | credentials |
//! |---|---|
//! | `sendgrid` | `{"api_key", "webhook_public_key"?, "inbound_user"?, "inbound_password"?}` |
//! | `mailgun` | `{"api_key", "domain", "webhook_signing_key"?}` |
//! | `postmark` | `{"server_token", "message_stream"?, "webhook_user"?, "webhook_password"?}` |
//! | `ses` | `{"access_key_id", "secret_access_key", "session_token"?, "region", "configuration_set"?, "sns_topic_arns"?}` |
//! | `smtp` | `{"host", "port"?, "security": "starttls"\|"tls"\|"none", "username"?, "password"?, "helo_name"?, "root_certificate_pem"?}` |
//! | `sandbox` | `{"secret", "events_url"?, "event_delay_ms"?}` |
//!
//! Email accounts are not SMS accounts: [`irisx_core::sms::model::ProviderAccount::kind`] names SMS vendors only,
//! so an email account is built from its [`EmailProviderKind`] with [`build`] (or [`crate::Factory::email`]).

pub mod mailgun;
pub mod multipart;
pub mod postmark;
pub mod sandbox;
pub mod sendgrid;
pub mod ses;
pub mod sigv4;
pub mod smtp;
pub mod sns;

use std::sync::Arc;

use irisx_core::email::provider::{CallbackError, EmailProvider, EmailProviderKind};
use reqwest::Client;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Why an email adapter could not be built.
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
    /// A field has the right type but an unusable value (a key that does not decode, an unknown host).
    #[error("invalid {provider} settings: {message}")]
    Settings {
        /// The vendor.
        provider: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// Reads a vendor's credentials from their stored JSON.
pub fn credentials<T: DeserializeOwned>(kind: EmailProviderKind, json: &Value) -> Result<T, BuildError> {
    serde_json::from_value(json.clone()).map_err(|source| BuildError::Credentials {
        provider: kind.as_str(),
        source,
    })
}

/// Builds the email adapter of `kind` for one account. `base_url` overrides the vendor's API address (tests,
/// regions); `client` is the shared HTTP client (SMTP keeps its own connection pool).
pub fn build(
    kind: EmailProviderKind,
    creds: &Value,
    base_url: Option<&str>,
    client: Client,
) -> Result<Arc<dyn EmailProvider>, BuildError> {
    Ok(match kind {
        EmailProviderKind::Sendgrid => Arc::new(sendgrid::SendGrid::new(credentials(kind, creds)?, base_url, client)?),
        EmailProviderKind::Mailgun => Arc::new(mailgun::Mailgun::new(credentials(kind, creds)?, base_url, client)),
        EmailProviderKind::Postmark => Arc::new(postmark::Postmark::new(credentials(kind, creds)?, base_url, client)),
        EmailProviderKind::Ses => Arc::new(ses::Ses::new(credentials(kind, creds)?, base_url, client)),
        EmailProviderKind::Smtp => Arc::new(smtp::Smtp::new(credentials(kind, creds)?)?),
        EmailProviderKind::Sandbox => Arc::new(sandbox::Sandbox::new(credentials(kind, creds)?, client)),
    })
}

/// A webhook body as JSON.
pub(crate) fn json(body: &[u8]) -> Result<Value, CallbackError> {
    serde_json::from_slice(body).map_err(|e| CallbackError::Malformed(format!("the body is not JSON: {e}")))
}

/// A Unix time in seconds, whole or fractional, as a number or a string.
pub(crate) fn unix_time(v: &Value) -> Option<OffsetDateTime> {
    let secs = v.as_f64().or_else(|| v.as_str()?.parse().ok())?;
    OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9).round() as i128).ok()
}

/// An RFC 3339 time.
pub(crate) fn rfc3339(v: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(v.as_str()?, &Rfc3339).ok()
}

/// A string field, owned.
pub(crate) fn string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}
