//! The voice role's settings (`IRISX_VOICE__*`) and its wiring: the native engine on the configured SIP
//! address and RTP ports with agents' credentials from the store (or FreeSWITCH through its event socket), and
//! the runtime the worker places calls with.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use irisx_core::calls::{BillingIncrements, VoicePolicy};
use irisx_core::ports::voice::{AgentCredentials, SipRegistrar, VoiceEngine};
use irisx_core::usecase::{Platform, agents};
use irisx_voice::{NativeVoiceEngine, VoiceConfig};
use irisx_worker::VoiceRuntime;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::config::PlanNumbers;

/// Which engine carries calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// The built-in SIP/RTP engine.
    Native,
    /// A FreeSWITCH server through its event socket (`IRISX_VOICE__FREESWITCH__*`).
    FreeSwitch,
}

/// Voice settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceSettings {
    /// Whether `serve --role all` runs the voice engine (`--role voice` always does).
    pub enabled: bool,
    /// `native` (default) or `freeswitch` (`IRISX_VOICE__ENGINE`). With FreeSWITCH, the SIP and RTP settings
    /// below are FreeSWITCH's own business and agents register with its directory.
    pub engine: EngineKind,
    /// The FreeSWITCH engine's settings.
    pub freeswitch: crate::freeswitch::FreeSwitchSettings,
    /// The address SIP and RTP bind to (`IRISX_VOICE__SIP_BIND`, default `0.0.0.0`).
    pub sip_bind: String,
    /// The SIP port, UDP and TCP (`IRISX_VOICE__SIP_PORT`, default 5060; 0 picks a free port).
    pub sip_port: u16,
    /// The lowest RTP port (`IRISX_VOICE__RTP_PORT_MIN`, default 20000).
    pub rtp_port_min: u16,
    /// The highest RTP port (`IRISX_VOICE__RTP_PORT_MAX`, default 30000).
    pub rtp_port_max: u16,
    /// The address written into SIP Contact headers and SDP, the public address behind NAT
    /// (`IRISX_VOICE__PUBLIC_IP`); default: the bind address, or the host's first IPv4 address.
    pub public_ip: Option<String>,
    /// Concurrent calls per tenant (`IRISX_VOICE__MAX_CALLS_PER_TENANT`, default 100).
    pub max_calls_per_tenant: usize,
    /// Destination prefixes nobody may call, comma-separated (`IRISX_VOICE__BLOCKED_PREFIXES=+882,+883`).
    #[serde(deserialize_with = "text_or_number")]
    pub blocked_prefixes: String,
    /// Billing increments per plan in seconds (`IRISX_VOICE__BILLING_INCREMENT_SECS__FREE=60`, ...).
    pub billing_increment_secs: PlanNumbers,
    /// Ring time of calls that name none, seconds (`IRISX_VOICE__RING_TIMEOUT_SECS`, default 30).
    pub ring_timeout_secs: u64,
    /// What an answered incoming call costs per minute, micro-units (`IRISX_VOICE__INBOUND_RATE_MICROS_PER_MINUTE`,
    /// default 0: free); billed in the plan's increments with its markup, like outbound calls.
    pub inbound_rate_micros_per_minute: i64,
    /// The inbound rate's currency (`IRISX_VOICE__INBOUND_CURRENCY`, default USD).
    pub inbound_currency: String,
    /// How often a voice node records that it is alive, seconds (`IRISX_VOICE__HEARTBEAT_SECS`, default 10).
    pub heartbeat_secs: u64,
    /// How long a voice node may stay silent before another ends its live calls with `voice_node_lost`,
    /// seconds (`IRISX_VOICE__NODE_TIMEOUT_SECS`, default 60; at least twice the heartbeat).
    pub node_timeout_secs: u64,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        let inc = BillingIncrements::default();
        Self {
            enabled: true,
            engine: EngineKind::Native,
            freeswitch: crate::freeswitch::FreeSwitchSettings::default(),
            sip_bind: "0.0.0.0".into(),
            sip_port: 5060,
            rtp_port_min: 20000,
            rtp_port_max: 30000,
            public_ip: None,
            max_calls_per_tenant: 100,
            blocked_prefixes: String::new(),
            billing_increment_secs: PlanNumbers {
                free: inc.free,
                starter: inc.starter,
                growth: inc.growth,
                enterprise: inc.enterprise,
            },
            ring_timeout_secs: 30,
            inbound_rate_micros_per_minute: 0,
            inbound_currency: "USD".into(),
            heartbeat_secs: irisx_worker::voice_nodes::HEARTBEAT.as_secs(),
            node_timeout_secs: irisx_worker::voice_nodes::NODE_TIMEOUT.as_secs(),
        }
    }
}

/// A comma-separated list the environment may also give as one number (`+882` reads as 882).
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(u64),
    }
    Ok(match Either::deserialize(d)? {
        Either::Text(t) => t,
        Either::Number(n) => n.to_string(),
    })
}

impl VoiceSettings {
    /// What is wrong, as (environment key, problem).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.sip_bind.parse::<IpAddr>().is_err() {
            return Err(("IRISX_VOICE__SIP_BIND", "must be an IP address".into()));
        }
        if let Some(ip) = &self.public_ip
            && ip.parse::<IpAddr>().is_err()
        {
            return Err(("IRISX_VOICE__PUBLIC_IP", "must be an IP address".into()));
        }
        if self.rtp_port_min < 1024 || self.rtp_port_max <= self.rtp_port_min {
            return Err((
                "IRISX_VOICE__RTP_PORT_MIN",
                "the RTP range must be above 1023 and not empty".into(),
            ));
        }
        if self.engine == EngineKind::FreeSwitch {
            self.freeswitch.driver_config(self.max_calls_per_tenant.max(1))?;
        }
        if self.max_calls_per_tenant == 0 {
            return Err(("IRISX_VOICE__MAX_CALLS_PER_TENANT", "must be at least 1".into()));
        }
        if self.inbound_rate_micros_per_minute < 0 {
            return Err((
                "IRISX_VOICE__INBOUND_RATE_MICROS_PER_MINUTE",
                "must not be negative".into(),
            ));
        }
        if self.inbound_currency.len() != 3 || !self.inbound_currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err((
                "IRISX_VOICE__INBOUND_CURRENCY",
                "must be an ISO 4217 code such as USD".into(),
            ));
        }
        if self.heartbeat_secs == 0 || self.node_timeout_secs < 2 * self.heartbeat_secs {
            return Err((
                "IRISX_VOICE__NODE_TIMEOUT_SECS",
                "the heartbeat must be at least 1 s and the node timeout at least twice the heartbeat".into(),
            ));
        }
        if self.ring_timeout_secs == 0 || self.ring_timeout_secs > 120 {
            return Err(("IRISX_VOICE__RING_TIMEOUT_SECS", "must be 1 to 120 seconds".into()));
        }
        for p in self.blocked() {
            if p.len() < 2 || !p[1..].bytes().all(|b| b.is_ascii_digit()) {
                return Err(("IRISX_VOICE__BLOCKED_PREFIXES", format!("`{p}` is not `+` and digits")));
            }
        }
        Ok(())
    }

    /// The blocked prefixes, each starting with `+`.
    fn blocked(&self) -> Vec<String> {
        self.blocked_prefixes
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.starts_with('+') {
                    s.to_owned()
                } else {
                    format!("+{s}")
                }
            })
            .collect()
    }

    /// The voice policy of the platform.
    pub fn policy(&self) -> VoicePolicy {
        let i = self.billing_increment_secs;
        VoicePolicy {
            increments: BillingIncrements {
                free: i.free,
                starter: i.starter,
                growth: i.growth,
                enterprise: i.enterprise,
            },
            blocked_prefixes: self.blocked(),
            default_ring_timeout: Duration::from_secs(self.ring_timeout_secs),
            inbound_rate_micros_per_minute: self.inbound_rate_micros_per_minute,
            inbound_currency: self.inbound_currency.clone(),
        }
    }

    fn engine_config(&self) -> VoiceConfig {
        VoiceConfig {
            bind_ip: self.sip_bind.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])),
            sip_port: self.sip_port,
            rtp_ports: self.rtp_port_min..=self.rtp_port_max,
            public_ip: self.public_ip.as_deref().and_then(|ip| ip.parse().ok()),
            max_calls_per_tenant: self.max_calls_per_tenant,
            ..VoiceConfig::default()
        }
    }
}

/// Agents' digest credentials, from the store.
struct StoreRegistrar(Arc<Platform>);

#[async_trait]
impl SipRegistrar for StoreRegistrar {
    async fn credentials(&self, user: &str) -> Option<AgentCredentials> {
        match agents::credentials(&self.0, user).await {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "cannot look the agent up");
                None
            }
        }
    }
}

/// Starts the engine and builds the runtime the worker places and takes calls with.
pub async fn start(
    settings: &VoiceSettings,
    platform: &Arc<Platform>,
    allowlist: Vec<String>,
    cancel: CancellationToken,
) -> anyhow::Result<Arc<VoiceRuntime>> {
    let engine: Arc<dyn VoiceEngine> = match settings.engine {
        EngineKind::Native => {
            let registrar = Arc::new(StoreRegistrar(platform.clone()));
            let engine = NativeVoiceEngine::start(settings.engine_config(), registrar, cancel)
                .await
                .with_context(|| {
                    format!(
                        "starting the voice engine on {}:{}",
                        settings.sip_bind, settings.sip_port
                    )
                })?;
            tracing::info!(sip = %engine.sip_addr(), "voice engine started");
            println!("irisx voice on sip:{}", engine.sip_addr());
            Arc::new(engine)
        }
        EngineKind::FreeSwitch => {
            let config = settings
                .freeswitch
                .driver_config(settings.max_calls_per_tenant)
                .map_err(|(key, problem)| anyhow::anyhow!("{key}: {problem}"))?;
            let addr = config.esl_addr.clone();
            let engine = irisx_freeswitch::FreeSwitchEngine::connect(config, cancel)
                .await
                .with_context(|| format!("connecting to FreeSWITCH's event socket at {addr}"))?;
            tracing::info!(esl = %addr, "FreeSWITCH engine connected");
            Arc::new(engine)
        }
    };
    let fetcher = irisx_webhooks::HttpWebhookSender::new(irisx_webhooks::SenderConfig {
        allowlist,
        response_body_limit: irisx_core::usecase::calls::MAX_DOCUMENT + 1,
        ..Default::default()
    })
    .context("IRISX_WEBHOOKS__ALLOWLIST")?;
    let fetcher = Arc::new(fetcher);
    let beats = (
        Duration::from_secs(settings.heartbeat_secs),
        Duration::from_secs(settings.node_timeout_secs),
    );
    let runtime = VoiceRuntime::new(engine, fetcher.clone(), fetcher).with_heartbeat(beats.0, beats.1);
    tracing::info!(node = %runtime.node, "voice node id");
    Ok(Arc::new(runtime))
}
