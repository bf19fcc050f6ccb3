//! The sender's configuration.

use std::time::Duration;

/// How the sender behaves; `SenderConfig::default()` suits production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderConfig {
    /// Destinations the SSRF rules let through anyway, for development and tests: CIDR blocks
    /// (`127.0.0.0/8`, `fd00::/8`), single addresses (`10.1.2.3`) or exact host names (`hooks.internal`,
    /// then every address the name resolves to is allowed). Empty in production.
    pub allowlist: Vec<String>,
    /// The longest any attempt may take, whatever the request asks (connecting, sending, the answer).
    pub max_timeout: Duration,
    /// How many bytes of the answer's body are read and kept; the rest is never read.
    pub response_body_limit: usize,
    /// The `user-agent` header.
    pub user_agent: String,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            allowlist: Vec::new(),
            max_timeout: Duration::from_secs(30),
            response_body_limit: 4096,
            user_agent: concat!("IRISX-Webhooks/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}
