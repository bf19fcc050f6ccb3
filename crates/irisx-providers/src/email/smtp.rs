//! Any SMTP relay, through lettre: STARTTLS (required), implicit TLS or plain; AUTH when credentials are given;
//! one pooled transport per account, reused across sends (built on the first send, inside the runtime).
//!
//! Replies are classified as RFC 5321 says: a 4yz reply is temporary (`Retryable` with the reply code), a 5yz
//! reply permanent (`Permanent` with the reply code). A failure to connect or to set up TLS sent nothing
//! (`Retryable`); a broken connection or a timeout inside the session may have come after the message was
//! taken (`Unknown`). A recipient refused at RCPT fails the whole message.
//!
//! Credentials:
//! - `host`, `port` (optional: 587 for `starttls`, 465 for `tls`, 25 for `none`).
//! - `security`: `starttls` (default), `tls` (implicit TLS, "SMTPS") or `none` (plain text: local relays only).
//! - `username`, `password` (optional): SMTP AUTH.
//! - `helo_name` (optional): the EHLO name (default: this machine's host name).
//! - `root_certificate_pem` (optional): a CA to trust besides the system's (a relay with a private CA).
//! - `timeout_secs` (optional, default 30), `pool_size` (optional, default 4).
//!
//! The message's `Message-ID` is `<message id@sender's domain>`; it is also the provider message id. Tags are
//! not sent (SMTP has no place for them).

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use irisx_core::email::provider::{
    CallbackError, CallbackRequest, EmailAccepted, EmailProvider, EmailProviderKind, ProviderError,
};
use irisx_core::email::{Mailbox, OutboundEmail, TrackingOutcome};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Message, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;
use serde_json::json;

use super::BuildError;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, which the relay must offer.
    #[default]
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption.
    None,
}

/// An SMTP relay's settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The relay's host name.
    pub host: String,
    /// Its port.
    #[serde(default)]
    pub port: Option<u16>,
    /// How the connection is protected.
    #[serde(default)]
    pub security: Security,
    /// The AUTH user.
    #[serde(default)]
    pub username: Option<String>,
    /// The AUTH password.
    #[serde(default)]
    pub password: Option<String>,
    /// The EHLO name.
    #[serde(default)]
    pub helo_name: Option<String>,
    /// An extra trusted CA, PEM.
    #[serde(default)]
    pub root_certificate_pem: Option<String>,
    /// The timeout of each SMTP step, in seconds.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// The most connections kept open.
    #[serde(default)]
    pub pool_size: Option<u32>,
}

/// The SMTP adapter for one relay.
pub struct Smtp {
    builder: AsyncSmtpTransportBuilder,
    transport: OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
}

fn invalid(message: impl std::fmt::Display) -> BuildError {
    BuildError::Settings {
        provider: "smtp",
        message: message.to_string(),
    }
}

impl Smtp {
    /// An adapter for one relay; fails when the TLS settings are unusable.
    pub fn new(creds: Credentials) -> Result<Self, BuildError> {
        let tls = || {
            let mut params = TlsParameters::builder(creds.host.clone());
            if let Some(pem) = &creds.root_certificate_pem {
                params = params.add_root_certificate(Certificate::from_pem(pem.as_bytes()).map_err(invalid)?);
            }
            params.build().map_err(invalid)
        };
        let (tls, default_port) = match creds.security {
            Security::Starttls => (Tls::Required(tls()?), 587),
            Security::Tls => (Tls::Wrapper(tls()?), 465),
            Security::None => (Tls::None, 25),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(creds.host.clone())
            .port(creds.port.unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(Duration::from_secs(creds.timeout_secs.unwrap_or(30))))
            .pool_config(PoolConfig::new().max_size(creds.pool_size.unwrap_or(4)));
        if let (Some(user), Some(password)) = (&creds.username, &creds.password) {
            builder = builder.credentials(lettre::transport::smtp::authentication::Credentials::new(
                user.clone(),
                password.clone(),
            ));
        }
        if let Some(name) = &creds.helo_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(Self {
            builder,
            transport: OnceLock::new(),
        })
    }

    fn transport(&self) -> &AsyncSmtpTransport<Tokio1Executor> {
        self.transport.get_or_init(|| self.builder.clone().build())
    }
}

fn mailbox(m: &Mailbox) -> Result<lettre::message::Mailbox, ProviderError> {
    let address = m.address.as_str().parse().map_err(|e| refused("invalid_address", e))?;
    Ok(lettre::message::Mailbox::new(m.name.clone(), address))
}

fn refused(code: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Permanent {
        code: code.into(),
        message: e.to_string(),
    }
}

/// The `Message-ID` of a message, without angle brackets: `<message id>@<sender's domain>`.
pub fn message_id(email: &OutboundEmail) -> String {
    let domain = email
        .from
        .address
        .as_str()
        .rsplit('@')
        .next()
        .unwrap_or("irisx.invalid");
    format!("{}@{domain}", email.message_id)
}

enum Content {
    Single(SinglePart),
    Multi(MultiPart),
}

fn content(email: &OutboundEmail) -> Result<Content, ProviderError> {
    let main = match (email.text.clone(), email.html.clone()) {
        (Some(t), Some(h)) => Content::Multi(MultiPart::alternative_plain_html(t, h)),
        (Some(t), None) => Content::Single(SinglePart::plain(t)),
        (None, Some(h)) => Content::Single(SinglePart::html(h)),
        (None, None) => return Err(refused("no_content", "a message needs a text or an HTML body")),
    };
    if email.attachments.is_empty() {
        return Ok(main);
    }
    let mut mixed = match main {
        Content::Single(s) => MultiPart::mixed().singlepart(s),
        Content::Multi(m) => MultiPart::mixed().multipart(m),
    };
    for a in &email.attachments {
        let ct = ContentType::parse(&a.content_type).map_err(|e| refused("invalid_attachment", e))?;
        mixed = mixed.singlepart(Attachment::new(a.filename.clone()).body(a.content.to_vec(), ct));
    }
    Ok(Content::Multi(mixed))
}

/// The MIME message of an email.
pub fn message(email: &OutboundEmail) -> Result<Message, ProviderError> {
    let mut b = Message::builder()
        .message_id(Some(format!("<{}>", message_id(email))))
        .from(mailbox(&email.from)?)
        .subject(email.subject.clone());
    for m in &email.to {
        b = b.to(mailbox(m)?);
    }
    for m in &email.cc {
        b = b.cc(mailbox(m)?);
    }
    for m in &email.bcc {
        b = b.bcc(mailbox(m)?);
    }
    if let Some(r) = &email.reply_to {
        b = b.reply_to(mailbox(r)?);
    }
    for (k, v) in &email.headers {
        // A line break in a value would start a header of its own.
        if v.contains(['\r', '\n']) {
            return Err(refused("invalid_header", format!("the value of {k} has a line break")));
        }
        let name = HeaderName::new_from_ascii(k.clone()).map_err(|e| refused("invalid_header", e))?;
        b = b.raw_header(HeaderValue::new(name, v.clone()));
    }
    let built = match content(email)? {
        Content::Single(part) => b.singlepart(part),
        Content::Multi(parts) => b.multipart(parts),
    };
    built.map_err(|e| refused("invalid_message", e))
}

/// Classifies a lettre failure (see the module doc).
pub fn classify(e: &lettre::transport::smtp::Error) -> ProviderError {
    let message = e.to_string();
    if let Some(code) = e.status() {
        let code = code.to_string();
        return if e.is_permanent() {
            ProviderError::Permanent { code, message }
        } else {
            ProviderError::Retryable {
                code,
                message,
                after: None,
            }
        };
    }
    // lettre's connection errors (TCP connect, name resolution, TLS set-up) have no predicate of their own.
    let connecting = message.starts_with("Connection error");
    if connecting || e.is_tls() || e.is_transport_shutdown() {
        ProviderError::Retryable {
            code: "connect".into(),
            message,
            after: None,
        }
    } else if e.is_client() {
        ProviderError::Permanent {
            code: "client".into(),
            message,
        }
    } else {
        ProviderError::Unknown {
            message: format!("the relay may have taken the message: {message}"),
        }
    }
}

#[async_trait]
impl EmailProvider for Smtp {
    fn kind(&self) -> EmailProviderKind {
        EmailProviderKind::Smtp
    }

    async fn send(&self, email: &OutboundEmail) -> Result<EmailAccepted, ProviderError> {
        let msg = message(email)?;
        let resp = self.transport().send(msg).await.map_err(|e| classify(&e))?;
        Ok(EmailAccepted {
            provider_message_id: message_id(email),
            raw: json!({"code": resp.code().to_string(), "message": resp.message().collect::<Vec<_>>()}),
        })
    }

    async fn verify_and_parse_events(&self, _req: &CallbackRequest) -> Result<TrackingOutcome, CallbackError> {
        Err(CallbackError::Malformed(
            "SMTP has no tracking webhooks: bounces arrive as mail to the envelope sender".into(),
        ))
    }
}
