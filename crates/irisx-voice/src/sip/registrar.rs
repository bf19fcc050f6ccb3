//! The registrar for agents: REGISTER is challenged with a digest (RFC 3261 §22.4, MD5), answered 200 with the
//! binding once the response matches the password the `SipRegistrar` port gives, and 403 when it does not
//! (each 403 counts towards the sender's ban). Bindings live in memory with their expiry.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use irisx_core::ports::voice::SipRegistrar;
use rsipstack::dialog::authenticate::verify_digest;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::{Header, StatusCode};
use rsipstack::transaction::transaction::Transaction;

use crate::protect::Guard;

const NONCE_TTL: Duration = Duration::from_secs(300);
const MAX_NONCES: usize = 10_000;
const DEFAULT_EXPIRES: u32 = 3600;
const MAX_EXPIRES: u32 = 7200;

/// A registered agent's current contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The Contact URI the agent registered.
    pub contact: String,
    /// The agent's tenant.
    pub tenant: String,
    /// When the binding lapses.
    pub expires: Instant,
}

/// Agents' bindings and the digest nonces handed out.
pub struct Registrar {
    realm: String,
    credentials: Arc<dyn SipRegistrar>,
    guard: Arc<Guard>,
    nonces: Mutex<HashMap<String, Instant>>,
    bindings: Mutex<HashMap<String, Binding>>,
}

impl Registrar {
    /// A registrar for `realm` asking `credentials` for passwords.
    pub fn new(realm: String, credentials: Arc<dyn SipRegistrar>, guard: Arc<Guard>) -> Self {
        Registrar {
            realm,
            credentials,
            guard,
            nonces: Mutex::default(),
            bindings: Mutex::default(),
        }
    }

    /// The protections this registrar reports failures to.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// The live binding of `user`.
    pub fn lookup(&self, user: &str) -> Option<Binding> {
        let bindings = self.bindings.lock().unwrap_or_else(|e| e.into_inner());
        bindings.get(user).filter(|b| b.expires > Instant::now()).cloned()
    }

    /// Whether `user` is an agent at all (registered or not).
    pub async fn is_agent(&self, user: &str) -> bool {
        self.credentials.credentials(user).await.is_some()
    }

    fn new_nonce(&self) -> String {
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let now = Instant::now();
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        if nonces.len() >= MAX_NONCES {
            nonces.retain(|_, t| now.duration_since(*t) < NONCE_TTL);
        }
        if nonces.len() < MAX_NONCES {
            nonces.insert(nonce.clone(), now);
        }
        nonce
    }

    fn nonce_valid(&self, nonce: &str) -> bool {
        let nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        nonces.get(nonce).is_some_and(|t| t.elapsed() < NONCE_TTL)
    }

    async fn challenge(&self, tx: &mut Transaction) {
        let value = format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5",
            self.realm,
            self.new_nonce()
        );
        let header = Header::WwwAuthenticate(rsipstack::sip::headers::WwwAuthenticate::new(value));
        tx.reply_with(StatusCode::Unauthorized, vec![header], None).await.ok();
    }

    /// Answers one REGISTER from `source`.
    #[tracing::instrument(skip_all, fields(source = %source))]
    pub async fn handle(&self, tx: &mut Transaction, source: IpAddr) {
        let Some(raw) = tx.original.authorization_header().map(|h| h.value().to_owned()) else {
            return self.challenge(tx).await;
        };
        let Ok(auth) = rsipstack::sip::typed::Authorization::parse(&raw) else {
            self.reject(tx, source).await;
            return;
        };
        if !self.nonce_valid(&auth.nonce) || auth.realm != self.realm {
            return self.challenge(tx).await;
        }
        let user = auth.username.clone();
        let creds = self.credentials.credentials(&user).await;
        let ok = creds
            .as_ref()
            .is_some_and(|c| verify_digest(&auth, &c.password, &tx.original.method, &raw));
        let (true, Some(creds)) = (ok, creds) else {
            self.reject(tx, source).await;
            return;
        };
        let contact = tx
            .original
            .contact_header()
            .ok()
            .and_then(|c| c.typed().ok())
            .map(|c| c.uri);
        let expires = tx
            .original
            .expires_header()
            .and_then(|e| e.value().trim().parse::<u32>().ok());
        let expires = expires.unwrap_or(DEFAULT_EXPIRES).min(MAX_EXPIRES);
        {
            let mut bindings = self.bindings.lock().unwrap_or_else(|e| e.into_inner());
            match contact {
                Some(uri) if expires > 0 => {
                    let now = Instant::now();
                    bindings.retain(|_, b| b.expires > now);
                    let until = Instant::now() + Duration::from_secs(u64::from(expires));
                    let binding = Binding {
                        contact: uri.to_string(),
                        tenant: creds.tenant.clone(),
                        expires: until,
                    };
                    bindings.insert(user.clone(), binding);
                }
                _ => {
                    bindings.remove(&user);
                }
            }
        }
        tracing::info!(%user, expires, "agent registered");
        let headers = vec![Header::Expires(rsipstack::sip::headers::Expires::new(
            expires.to_string(),
        ))];
        tx.reply_with(StatusCode::OK, headers, None).await.ok();
    }

    async fn reject(&self, tx: &mut Transaction, source: IpAddr) {
        let banned = self.guard.auth_failed(source);
        if !banned {
            tx.reply(StatusCode::Forbidden).await.ok();
        }
    }
}
