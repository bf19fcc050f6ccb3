//! The crate's one error enum.

/// What can go wrong building the sender or reaching a host.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// An allowlist entry is neither a CIDR block, an IP address nor a host name.
    #[error("allowlist entry `{entry}` is refused: {reason}")]
    AllowlistEntry {
        /// The entry as configured.
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The configured user agent cannot be a header value.
    #[error("the user agent is not a valid header value")]
    UserAgent(#[source] reqwest::header::InvalidHeaderValue),
    /// The HTTP client could not be built (its TLS configuration, usually).
    #[error("the webhook HTTP client could not be built")]
    Client(#[source] reqwest::Error),
    /// The SSRF rules refuse the address (the message names it and its class).
    #[error("{0}")]
    Refused(String),
    /// The host name did not resolve.
    #[error("{host} does not resolve")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// The host name resolved to no address, or not in time.
    #[error("{host} resolves to no address")]
    NoAddress {
        /// The host name.
        host: String,
    },
}
