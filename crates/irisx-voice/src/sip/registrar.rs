//! The registrar for agents: REGISTER is challenged with a digest (RFC 3261 §22.4, MD5), answered 200 with the
//! binding once the response matches the password the `SipRegistrar` port gives, and 403 when it does not
//! (each 403 counts towards the sender's ban). An INVITE whose caller is an agent is challenged the same way
//! (407, `Proxy-Authenticate`), so a call placed by an agent is known to come from it. Bindings live in memory
//! with their expiry.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use irisx_core::ports::voice::{AgentCredentials, CallingAgent, SipRegistrar};
use rsipstack::dialog::authenticate::verify_digest;
use rsipstack::sip::prelude::{HeadersExt, ToTypedHeader};
use rsipstack::sip::typed::Authorization;
use rsipstack::sip::{Header, Request, StatusCode};
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

/// What a request's digest credentials are worth.
enum Digest {
    /// None, or for a nonce we did not issue (or that expired): challenge again.
    Challenge,
    /// Wrong, or for an unknown user: refuse, and count it towards a ban.
    Failed,
    /// Right: the user and their credentials.
    Valid(String, AgentCredentials),
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
        let (nonces, bindings) = (Mutex::default(), Mutex::default());
        Registrar {
            realm,
            credentials,
            guard,
            nonces,
            bindings,
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

    fn challenge_value(&self) -> String {
        format!(
            "Digest realm=\"{}\", nonce=\"{}\", algorithm=MD5",
            self.realm,
            self.new_nonce()
        )
    }

    /// Checks the digest in `raw` (an Authorization or Proxy-Authorization value) against `request`.
    async fn check(&self, request: &Request, raw: Option<String>) -> Digest {
        let Some(raw) = raw else { return Digest::Challenge };
        let Ok(auth) = Authorization::parse(&raw) else {
            return Digest::Failed;
        };
        if !self.nonce_valid(&auth.nonce) || auth.realm != self.realm {
            return Digest::Challenge;
        }
        match self.credentials.credentials(&auth.username).await {
            Some(creds) if verify_digest(&auth, &creds.password, &request.method, &raw) => {
                Digest::Valid(auth.username.clone(), creds)
            }
            _ => Digest::Failed,
        }
    }

    /// Answers one REGISTER from `source`.
    #[tracing::instrument(skip_all, fields(source = %source))]
    pub async fn handle(&self, tx: &mut Transaction, source: IpAddr) {
        let raw = tx.original.authorization_header().map(|h| h.value().to_owned());
        match self.check(&tx.original, raw).await {
            Digest::Challenge => {
                let header = Header::WwwAuthenticate(self.challenge_value().into());
                tx.reply_with(StatusCode::Unauthorized, vec![header], None).await.ok();
            }
            Digest::Failed => self.reject(tx, source).await,
            Digest::Valid(user, creds) => {
                let expires = self.bind(&tx.original, &user, &creds);
                tracing::info!(%user, expires, "agent registered");
                let headers = vec![Header::Expires(expires.to_string().into())];
                tx.reply_with(StatusCode::OK, headers, None).await.ok();
            }
        }
    }

    /// Stores (or, with expiry 0, removes) the agent's binding; returns the expiry granted.
    fn bind(&self, request: &Request, user: &str, creds: &AgentCredentials) -> u32 {
        let contact = request
            .contact_header()
            .ok()
            .and_then(|c| c.typed().ok())
            .map(|c| c.uri);
        let expires = request
            .expires_header()
            .and_then(|e| e.value().trim().parse::<u32>().ok());
        let expires = expires.unwrap_or(DEFAULT_EXPIRES).min(MAX_EXPIRES);
        let mut bindings = self.bindings.lock().unwrap_or_else(|e| e.into_inner());
        match contact {
            Some(uri) if expires > 0 => {
                let now = Instant::now();
                bindings.retain(|_, b| b.expires > now);
                let until = now + Duration::from_secs(u64::from(expires));
                let binding = Binding {
                    contact: uri.to_string(),
                    tenant: creds.tenant.clone(),
                    expires: until,
                };
                bindings.insert(user.to_owned(), binding);
            }
            _ => {
                bindings.remove(user);
            }
        }
        expires
    }

    /// Authenticates an INVITE whose caller is an agent: the agent, or `None` once the INVITE has been answered
    /// (407 with a challenge, or 403).
    pub async fn authenticate_invite(&self, tx: &mut Transaction, source: IpAddr) -> Option<CallingAgent> {
        let raw = tx.original.header_value("Proxy-Authorization");
        match self.check(&tx.original, raw).await {
            Digest::Challenge => {
                let header = Header::ProxyAuthenticate(self.challenge_value().into());
                tx.reply_with(StatusCode::ProxyAuthenticationRequired, vec![header], None)
                    .await
                    .ok();
                None
            }
            Digest::Failed => {
                self.reject(tx, source).await;
                None
            }
            Digest::Valid(user, creds) => Some(CallingAgent {
                user,
                tenant: creds.tenant,
            }),
        }
    }

    async fn reject(&self, tx: &mut Transaction, source: IpAddr) {
        let banned = self.guard.auth_failed(source);
        if !banned {
            tx.reply(StatusCode::Forbidden).await.ok();
        }
    }
}
