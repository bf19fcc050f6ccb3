//! SIP trunks: a tenant's own under `/v1/sip-trunks`, the platform's under `/admin/sip-trunks`. Digest
//! credentials are sealed at rest and never shown; the orchestrator opens them to hand the engine its
//! [`TrunkTarget`]s, cheapest first for the destination.

use serde_json::json;
use time::OffsetDateTime;

use super::Platform;
use super::accounts::{Owner, seal_context};
use crate::calls::rating::select_trunks;
use crate::calls::{CallerIdMode, NumberFormat, SipTrunk, TrunkRate, TrunkTransport};
use crate::error::{CoreError, FieldError};
use crate::id::{SipTrunkId, TenantId};
use crate::page::{Page, PageRequest};
use crate::ports::voice::{SipTransport, TrunkTarget};
use crate::validate::{Checks, name};

/// A new trunk, as the API received it.
#[derive(Debug, Clone)]
pub struct NewTrunk {
    /// A name.
    pub name: String,
    /// The carrier's SIP host (name or address).
    pub host: String,
    /// Its port (default 5060).
    pub port: u16,
    /// UDP or TCP.
    pub transport: TrunkTransport,
    /// Digest user name, when the carrier challenges.
    pub username: Option<String>,
    /// Digest password.
    pub password: Option<String>,
    /// The caller id every call through it presents.
    pub caller_id: Option<String>,
    /// Which caller ids it presents.
    pub caller_id_mode: CallerIdMode,
    /// How numbers are written to its carrier.
    pub number_format: NumberFormat,
    /// Codecs in preference order (`PCMU`, `PCMA`).
    pub codecs: Vec<String>,
    /// Concurrent calls the carrier allows (0: none of its own).
    pub max_calls: u32,
    /// Cost per minute by destination prefix.
    pub rates: Vec<TrunkRate>,
    /// ISO 4217.
    pub currency: String,
}

fn host_ok(host: &str) -> bool {
    (1..=253).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

fn prefix_ok(prefix: &str) -> bool {
    prefix
        .strip_prefix('+')
        .is_some_and(|d| d.len() <= 15 && d.bytes().all(|b| b.is_ascii_digit()))
}

fn check(input: &NewTrunk) -> Result<String, CoreError> {
    let mut c = Checks::new();
    let trunk_name = c.check(name("name", &input.name, 100));
    if !host_ok(&input.host) {
        c.push(FieldError::new("host", "invalid_host", "a host name or an IP address"));
    }
    if input.port == 0 {
        c.push(FieldError::new("port", "out_of_range", "1 to 65535"));
    }
    if input.username.is_some() != input.password.is_some() {
        c.push(FieldError::new(
            "password",
            "incomplete_credentials",
            "give both username and password, or neither",
        ));
    }
    if input.rates.is_empty() || input.rates.len() > 1000 {
        c.push(FieldError::new(
            "rates",
            "invalid",
            "1 to 1000 rates by destination prefix",
        ));
    }
    for r in &input.rates {
        if !prefix_ok(&r.prefix) {
            c.push(FieldError::new(
                "rates",
                "invalid_prefix",
                format!("`{}`: `+` followed by up to 15 digits", r.prefix),
            ));
        }
        if r.cost_micros_per_minute < 0 {
            c.push(FieldError::new("rates", "out_of_range", "a cost must not be negative"));
        }
    }
    for codec in &input.codecs {
        if !matches!(codec.as_str(), "PCMU" | "PCMA") {
            c.push(FieldError::new(
                "codecs",
                "unsupported_codec",
                format!("`{codec}`: PCMU or PCMA"),
            ));
        }
    }
    if let Some(id) = &input.caller_id
        && let Err(e) = crate::sms::E164::parse("caller_id", id)
    {
        c.push(e);
    }
    if input.currency.len() != 3 || !input.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        c.push(FieldError::new(
            "currency",
            "invalid_currency",
            "an ISO 4217 code such as USD",
        ));
    }
    c.finish()?;
    trunk_name.ok_or_else(|| CoreError::internal("checks passed without a name"))
}

/// Stores a trunk, its credentials sealed; they are never shown again.
#[tracing::instrument(skip_all)]
pub async fn create(p: &Platform, owner: Owner<'_>, input: NewTrunk) -> Result<SipTrunk, CoreError> {
    owner.authorize(true)?;
    let trunk_name = check(&input)?;
    let sealed_credentials = match (&input.username, &input.password) {
        (Some(u), Some(pw)) => Some(seal_credentials(p, &owner, u, pw)),
        _ => None,
    };
    let trunk = SipTrunk {
        id: SipTrunkId::new(),
        tenant_id: owner.tenant().cloned(),
        name: trunk_name,
        host: input.host,
        port: input.port,
        transport: input.transport,
        sealed_credentials,
        caller_id: input.caller_id,
        caller_id_mode: input.caller_id_mode,
        number_format: input.number_format,
        codecs: if input.codecs.is_empty() {
            default_codecs()
        } else {
            input.codecs
        },
        max_calls: input.max_calls,
        rates: input.rates,
        currency: input.currency,
        enabled: true,
        created_at: OffsetDateTime::now_utc(),
    };
    let audit = owner
        .audit("sip_trunk.created", "sip_trunk", trunk.id.as_str())
        .details(json!({"name": trunk.name, "host": trunk.host}));
    p.calls.create_trunk(&trunk, &audit).await?;
    Ok(trunk)
}

/// A change to a trunk: each field given replaces the trunk's (`Some(None)` clears a nullable one).
#[derive(Debug, Clone, Default)]
pub struct TrunkChange {
    /// A name.
    pub name: Option<String>,
    /// The carrier's SIP host.
    pub host: Option<String>,
    /// Its port.
    pub port: Option<u16>,
    /// UDP or TCP.
    pub transport: Option<TrunkTransport>,
    /// New digest credentials (user name, password), or none.
    pub credentials: Option<Option<(String, String)>>,
    /// A fixed caller id, or none.
    pub caller_id: Option<Option<String>>,
    /// Which caller ids it presents.
    pub caller_id_mode: Option<CallerIdMode>,
    /// How numbers are written to its carrier.
    pub number_format: Option<NumberFormat>,
    /// Codecs in preference order.
    pub codecs: Option<Vec<String>>,
    /// Concurrent calls the carrier allows.
    pub max_calls: Option<u32>,
    /// Cost per minute by destination prefix.
    pub rates: Option<Vec<TrunkRate>>,
    /// ISO 4217.
    pub currency: Option<String>,
    /// Whether calls use it.
    pub enabled: Option<bool>,
}

fn seal_credentials(p: &Platform, owner: &Owner<'_>, username: &str, password: &str) -> String {
    let plain = json!({"username": username, "password": password}).to_string();
    p.secrets.seal(plain.as_bytes(), &seal_context(owner.tenant()))
}

/// Changes a trunk: the result is checked as a new trunk would be; new credentials are sealed.
#[tracing::instrument(skip_all, fields(trunk_id = %id))]
pub async fn update(
    p: &Platform,
    owner: Owner<'_>,
    id: &SipTrunkId,
    change: TrunkChange,
) -> Result<SipTrunk, CoreError> {
    owner.authorize(true)?;
    let mut trunk = p.calls.get_trunk(owner.tenant(), id).await?;
    let (username, password) = match &change.credentials {
        Some(Some((u, pw))) => (Some(u.clone()), Some(pw.clone())),
        _ => (None, None),
    };
    let merged = NewTrunk {
        name: change.name.unwrap_or(trunk.name),
        host: change.host.unwrap_or(trunk.host),
        port: change.port.unwrap_or(trunk.port),
        transport: change.transport.unwrap_or(trunk.transport),
        username,
        password,
        caller_id: change.caller_id.unwrap_or(trunk.caller_id),
        caller_id_mode: change.caller_id_mode.unwrap_or(trunk.caller_id_mode),
        number_format: change.number_format.unwrap_or(trunk.number_format),
        codecs: change.codecs.unwrap_or(trunk.codecs),
        max_calls: change.max_calls.unwrap_or(trunk.max_calls),
        rates: change.rates.unwrap_or(trunk.rates),
        currency: change.currency.unwrap_or(trunk.currency),
    };
    trunk.name = check(&merged)?;
    if let Some(credentials) = &change.credentials {
        trunk.sealed_credentials = credentials.as_ref().map(|(u, pw)| seal_credentials(p, &owner, u, pw));
    }
    trunk.host = merged.host;
    trunk.port = merged.port;
    trunk.transport = merged.transport;
    trunk.caller_id = merged.caller_id;
    trunk.caller_id_mode = merged.caller_id_mode;
    trunk.number_format = merged.number_format;
    trunk.codecs = if merged.codecs.is_empty() {
        default_codecs()
    } else {
        merged.codecs
    };
    trunk.max_calls = merged.max_calls;
    trunk.rates = merged.rates;
    trunk.currency = merged.currency;
    trunk.enabled = change.enabled.unwrap_or(trunk.enabled);
    let audit = owner
        .audit("sip_trunk.updated", "sip_trunk", trunk.id.as_str())
        .details(json!({"name": trunk.name, "host": trunk.host, "enabled": trunk.enabled}));
    p.calls.update_trunk(&trunk, &audit).await?;
    Ok(trunk)
}

fn default_codecs() -> Vec<String> {
    vec!["PCMU".into(), "PCMA".into()]
}

/// One trunk of the owner.
pub async fn get(p: &Platform, owner: Owner<'_>, id: &SipTrunkId) -> Result<SipTrunk, CoreError> {
    owner.authorize(false)?;
    Ok(p.calls.get_trunk(owner.tenant(), id).await?)
}

/// The owner's trunks.
pub async fn list(p: &Platform, owner: Owner<'_>, page: &PageRequest) -> Result<Page<SipTrunk>, CoreError> {
    owner.authorize(false)?;
    Ok(p.calls.list_trunks(owner.tenant(), page).await?)
}

/// Deletes a trunk.
pub async fn delete(p: &Platform, owner: Owner<'_>, id: &SipTrunkId) -> Result<(), CoreError> {
    owner.authorize(true)?;
    let audit = owner.audit("sip_trunk.deleted", "sip_trunk", id.as_str());
    Ok(p.calls.delete_trunk(owner.tenant(), id, &audit).await?)
}

/// The engine's view of a trunk, with its credentials opened.
pub fn target(p: &Platform, trunk: &SipTrunk) -> Result<TrunkTarget, CoreError> {
    let (username, password) = match &trunk.sealed_credentials {
        Some(sealed) => {
            let plain = p
                .secrets
                .open(sealed, &seal_context(trunk.tenant_id.as_ref()))
                .map_err(|e| CoreError::Internal(Box::new(e)))?;
            let v: serde_json::Value = serde_json::from_slice(&plain).map_err(|e| CoreError::Internal(Box::new(e)))?;
            (
                v["username"].as_str().map(str::to_owned),
                v["password"].as_str().map(str::to_owned),
            )
        }
        None => (None, None),
    };
    Ok(TrunkTarget {
        name: trunk.id.to_string(),
        host: trunk.host.clone(),
        port: trunk.port,
        transport: match trunk.transport {
            TrunkTransport::Udp => SipTransport::Udp,
            TrunkTransport::Tcp => SipTransport::Tcp,
        },
        username,
        password,
        codecs: trunk.codecs.clone(),
        caller_id: trunk.caller_id.clone(),
        strip_plus: trunk.number_format == NumberFormat::Digits,
    })
}

/// Where a tenant's call can go.
#[derive(Debug)]
pub enum Routing {
    /// Through these trunks, cheapest first, each with its rate per minute for the destination.
    Trunks(Vec<(SipTrunk, i64)>),
    /// The destination is on the platform's blocklist.
    Blocked,
    /// No enabled trunk with room serves the destination.
    NoRoute,
    /// Trunks serve it, but each takes only the tenant's own numbers as caller id, and `from` is not one.
    CallerIdRefused,
}

/// The trunks a tenant's call from `from` to `to` goes through, cheapest first: a trunk whose carrier's
/// concurrent-call limit is reached is left out, and so is one that takes only the tenant's own numbers as
/// caller id (without a fixed one of its own) when `from` is not one of them.
pub async fn route(p: &Platform, tenant: &TenantId, from: &str, to: &str) -> Result<Routing, CoreError> {
    if p.policy.voice.blocked(to).is_some() {
        return Ok(Routing::Blocked);
    }
    let trunks = p.calls.trunks_for(tenant).await?;
    let (mut open, mut refused) = (Vec::new(), false);
    let mut owned: Option<bool> = None;
    for (trunk, rate) in select_trunks(&trunks, to) {
        if trunk.caller_id.is_none() && trunk.caller_id_mode == CallerIdMode::Owned {
            let held = match owned {
                Some(held) => held,
                None => *owned.insert(p.calls.voice_route(from).await?.is_some_and(|r| &r.tenant_id == tenant)),
            };
            if !held {
                refused = true;
                continue;
            }
        }
        let full = trunk.max_calls > 0 && p.calls.live_calls_on_trunk(&trunk.id).await? >= i64::from(trunk.max_calls);
        if full {
            tracing::info!(trunk_id = %trunk.id, "the trunk is at its concurrent-call limit; skipping it");
        } else {
            open.push((trunk, rate));
        }
    }
    Ok(match (open.is_empty(), refused) {
        (false, _) => Routing::Trunks(open),
        (true, true) => Routing::CallerIdRefused,
        (true, false) => Routing::NoRoute,
    })
}
