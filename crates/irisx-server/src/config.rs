//! Configuration: embedded defaults → optional `irisx.toml` → `IRISX_*` environment, validated once at start.
//!
//! An error names the bad key (and where it came from). Secrets are `SecretString`, redacted in `Debug`.
//! `IRISX_*` variables that name no setting (a client's `IRISX_URL`, the test suites' `IRISX_TEST_*`) are left
//! alone and listed in a warning; unknown keys in the file are errors.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// Every setting of `irisx serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP API listens on (`IRISX_LISTEN`); port 0 picks a free port.
    pub listen: SocketAddr,
    /// The address providers and browsers reach this IRISX at (`IRISX_PUBLIC_URL`), used in delivery-receipt
    /// URLs; default `http://<listen address>`.
    pub public_url: Option<String>,
    /// Where embedded data lives: the SQLite file, local objects, generated secrets (`IRISX_DATA_DIR`).
    pub data_dir: PathBuf,
    /// `sqlite://path` (default: `<data_dir>/irisx.db`) or `postgres://...` (`IRISX_DATABASE_URL`).
    pub database_url: Option<String>,
    /// Pooled database connections.
    pub database_pool_size: u32,
    /// `memory` (default) or `nats://host:port` (`IRISX_QUEUE_URL`).
    pub queue_url: String,
    /// JetStream stream name.
    pub nats_stream: String,
    /// JetStream subject prefix.
    pub nats_subject_prefix: String,
    /// `memory` (default) or `redis://host:port` (`IRISX_CACHE_URL`).
    pub cache_url: String,
    /// Prefix of every cache key.
    pub cache_key_prefix: String,
    /// `file://path` (default: `<data_dir>/objects`) or `s3://bucket` (`IRISX_OBJECT_STORE_URL`).
    pub object_store_url: Option<String>,
    /// S3 endpoint, for S3-compatible servers.
    pub s3_endpoint: Option<String>,
    /// S3 region.
    pub s3_region: Option<String>,
    /// S3 access key id.
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key.
    #[serde(skip_serializing)]
    pub s3_secret_access_key: Option<SecretString>,
    /// Allow plain-HTTP S3 endpoints (local servers).
    pub s3_allow_http: bool,
    /// Customer token secret (at least 32 bytes); generated into the data dir when absent.
    #[serde(skip_serializing)]
    pub jwt_secret: Option<SecretString>,
    /// Staff token secret (at least 32 bytes); generated into the data dir when absent.
    #[serde(skip_serializing)]
    pub admin_jwt_secret: Option<SecretString>,
    /// AES-256-GCM key for credentials at rest, 64 hex digits; generated into the data dir when absent.
    #[serde(skip_serializing)]
    pub encryption_key: Option<SecretString>,
    /// Whether `POST /v1/auth/signup` is open.
    pub signup_enabled: bool,
    /// CORS origins; `["*"]` for any.
    pub cors_origins: Vec<String>,
    /// Largest request body in bytes.
    pub body_limit_bytes: usize,
    /// Seconds a request may take before 408.
    pub request_timeout_secs: u64,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `irisx=debug,info`.
    pub log_level: String,
    /// Serve `/metrics`.
    pub metrics_enabled: bool,
    /// Failed logins before a lockout.
    pub login_max_failures: u32,
    /// Lockout length in seconds.
    pub login_lockout_secs: u64,
    /// Requests per minute per client IP on sign-up and login.
    pub public_rate_per_minute: u32,
    /// SMS per second by sender type and per provider account (`IRISX_SMS_PACE__LONG_CODE=1`, `__TOLL_FREE`,
    /// `__SHORT_CODE`, `__PER_PROVIDER`).
    pub sms_pace: irisx_core::usecase::SmsPace,
    /// Webhook delivery (`IRISX_WEBHOOKS__TIMEOUT_SECS`, `__SCHEDULE_SECS`, `__ALLOWLIST`, ...).
    pub webhooks: WebhookSettings,
    /// Days events (and their webhook deliveries) are kept.
    pub event_retention_days: u32,
    /// Voice: SIP address and port, RTP ports, public address, call limits, blocked prefixes, billing
    /// increments (`IRISX_VOICE__SIP_PORT`, `__SIP_BIND`, `__RTP_PORT_MIN`, ...).
    pub voice: crate::voice::VoiceSettings,
    /// Per-plan limits: requests per minute per key (`free`, `starter`, `growth`, `enterprise`).
    pub plan_key_limits: PlanNumbers,
    /// Per-plan markup over provider cost, in percent (`IRISX_PLAN_MARKUP_PERCENT__FREE=20`, …).
    pub plan_markup_percent: PlanNumbers,
    /// Per-plan limits: requests per minute per tenant.
    pub plan_tenant_limits: PlanNumbers,
    /// How often the outbox relay polls when not woken, in milliseconds.
    pub relay_poll_ms: u64,
    /// Rows the relay publishes per batch.
    pub relay_batch: u32,
    /// Tasks published and not yet finished at most; the rest wait in the outbox, where the relay takes them
    /// round-robin across tenants, so one tenant's burst does not queue ahead of everyone else.
    pub relay_max_in_flight: u32,
    /// Tasks a worker fetches and runs at once, per subject.
    pub worker_batch: usize,
    /// Seconds after which a published, unfinished task is published again (its message may be lost).
    pub republish_after_secs: u64,
    /// Seconds allowed for in-flight work at shutdown.
    pub shutdown_grace_secs: u64,
    /// Milliseconds a provider API call may take before its outcome counts as unknown.
    pub provider_timeout_ms: u64,
    /// Seconds a delivered task may stay unacknowledged before the queue delivers it again.
    pub queue_ack_wait_secs: u64,
    /// Crash testing only: `worker-before-effect` or `worker-after-effect` makes the worker stop there on its
    /// first task so a test can kill it. Never set in production.
    pub failpoint: Option<String>,
    /// `IRISX_*` environment variables that name no setting; logged as a warning at start.
    #[serde(skip)]
    pub ignored_env: Vec<String>,
}

/// Webhook delivery settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookSettings {
    /// Seconds an attempt waits for the answer (1 to 30, default 10).
    pub timeout_secs: u64,
    /// The waits between attempts, in seconds, comma-separated: `5,300,1800,7200` (the default) makes five
    /// attempts; a multi-day schedule such as `5,300,1800,7200,18000,36000,36000,86400` is allowed.
    #[serde(deserialize_with = "text_or_number")]
    pub schedule_secs: String,
    /// Days an endpoint may fail without a single success before it is disabled (default 5).
    pub disable_after_days: u32,
    /// Attempts in flight to one endpoint at most (default 4).
    pub per_endpoint_concurrency: u32,
    /// Destinations exempt from the SSRF rules, comma-separated CIDRs, addresses or host names
    /// (`127.0.0.0/8` for local development and tests). Empty in production.
    pub allowlist: String,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout_secs: 10,
            schedule_secs: "5,300,1800,7200".into(),
            disable_after_days: 5,
            per_endpoint_concurrency: 4,
            allowlist: String::new(),
        }
    }
}

/// A text setting that the environment may also give as one number (`IRISX_WEBHOOKS__SCHEDULE_SECS=5`).
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

impl WebhookSettings {
    /// The retry schedule, or what is wrong with it.
    pub fn schedule(&self) -> Result<irisx_core::webhook::RetrySchedule, String> {
        let delays = self
            .schedule_secs
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| format!("`{s}` is not a number of seconds"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if delays.len() > 30
            || delays
                .iter()
                .any(|d| d.is_zero() || *d > Duration::from_secs(7 * 24 * 3600))
        {
            return Err("give at most 30 waits of 1 second to 7 days".into());
        }
        Ok(irisx_core::webhook::RetrySchedule::new(delays))
    }

    /// The allowlist entries.
    pub fn allowlist(&self) -> Vec<String> {
        self.allowlist
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// One number per plan.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanNumbers {
    /// Free plan.
    pub free: u32,
    /// Starter plan.
    pub starter: u32,
    /// Growth plan.
    pub growth: u32,
    /// Enterprise plan.
    pub enterprise: u32,
}

impl Default for Config {
    fn default() -> Self {
        let plans = irisx_core::usecase::PlanLimits::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: PathBuf::from("./irisx-data"),
            database_url: None,
            database_pool_size: 16,
            queue_url: "memory".into(),
            nats_stream: "IRISX".into(),
            nats_subject_prefix: "irisx".into(),
            cache_url: "memory".into(),
            cache_key_prefix: "irisx:".into(),
            object_store_url: None,
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
            jwt_secret: None,
            admin_jwt_secret: None,
            encryption_key: None,
            signup_enabled: true,
            cors_origins: Vec::new(),
            body_limit_bytes: 1024 * 1024,
            request_timeout_secs: 30,
            log_format: "text".into(),
            log_level: "info".into(),
            metrics_enabled: true,
            login_max_failures: 5,
            login_lockout_secs: 900,
            public_rate_per_minute: 30,
            sms_pace: irisx_core::usecase::SmsPace::default(),
            webhooks: WebhookSettings::default(),
            event_retention_days: 30,
            voice: crate::voice::VoiceSettings::default(),
            plan_key_limits: PlanNumbers {
                free: plans.free.per_key_per_minute,
                starter: plans.starter.per_key_per_minute,
                growth: plans.growth.per_key_per_minute,
                enterprise: plans.enterprise.per_key_per_minute,
            },
            plan_markup_percent: {
                let m = irisx_core::usecase::PlanMarkup::default();
                PlanNumbers {
                    free: m.free,
                    starter: m.starter,
                    growth: m.growth,
                    enterprise: m.enterprise,
                }
            },
            plan_tenant_limits: PlanNumbers {
                free: plans.free.per_tenant_per_minute,
                starter: plans.starter.per_tenant_per_minute,
                growth: plans.growth.per_tenant_per_minute,
                enterprise: plans.enterprise.per_tenant_per_minute,
            },
            relay_poll_ms: 200,
            relay_batch: 256,
            relay_max_in_flight: 512,
            worker_batch: 32,
            republish_after_secs: 300,
            shutdown_grace_secs: 30,
            queue_ack_wait_secs: 30,
            provider_timeout_ms: 15_000,
            failpoint: None,
            ignored_env: Vec::new(),
        }
    }
}

/// Settings that are never serialized (so absent from the defaults) but may be given.
const SECRET_KEYS: &[&str] = &[
    "s3_secret_access_key",
    "jwt_secret",
    "admin_jwt_secret",
    "encryption_key",
];

/// The setting an environment key (without `IRISX_`) belongs to: `PLAN_KEY_LIMITS__FREE` → `plan_key_limits`.
fn top_level(key: &str) -> String {
    key.split("__").next().unwrap_or(key).to_ascii_lowercase()
}

/// A configuration that could not be loaded or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Parsing failed; figment's message names the key and its source.
    #[error("invalid configuration: {0}")]
    Parse(#[from] Box<figment::Error>),
    /// A value parsed but is not acceptable.
    #[error("invalid configuration: `{key}` {problem}")]
    Invalid {
        /// The key, as its environment variable.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
}

impl Config {
    /// Loads defaults, then `file` (or `./irisx.toml` when present), then the `IRISX_*` environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(f) => fig = fig.merge(Toml::file_exact(f)),
            None => fig = fig.merge(Toml::file("irisx.toml")),
        }
        let known = Self::known_keys();
        let env = Env::prefixed("IRISX_")
            .filter(move |k| known.iter().any(|n| n == &top_level(k.as_str())))
            .split("__");
        let mut cfg: Config = fig.merge(env).extract().map_err(Box::new)?;
        cfg.validate()?;
        cfg.ignored_env = Self::unknown_env();
        Ok(cfg)
    }

    /// Every top-level setting name.
    fn known_keys() -> Vec<String> {
        let mut keys: Vec<String> = figment::Provider::data(&Serialized::defaults(Config::default()))
            .ok()
            .and_then(|mut d| d.remove(&figment::Profile::Default))
            .map(|dict| dict.into_keys().collect())
            .unwrap_or_default();
        keys.extend(SECRET_KEYS.iter().map(|k| (*k).to_owned()));
        keys
    }

    /// `IRISX_*` variables that name no setting (the test suites' `IRISX_TEST_*` and the CLI's own excepted).
    fn unknown_env() -> Vec<String> {
        let known = Self::known_keys();
        std::env::vars()
            .filter_map(|(k, _)| k.strip_prefix("IRISX_").map(str::to_owned))
            .filter(|k| !k.starts_with("TEST_") && k != "CONFIG" && k != "ADMIN_PASSWORD")
            .filter(|k| !known.contains(&top_level(k)))
            .map(|k| format!("IRISX_{k}"))
            .collect()
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, problem: &str| {
            Err(ConfigError::Invalid {
                key,
                problem: problem.to_owned(),
            })
        };
        let db = self.database_url();
        if !(db.starts_with("sqlite:") || db.starts_with("postgres://") || db.starts_with("postgresql://")) {
            return bad("IRISX_DATABASE_URL", "must start with sqlite:// or postgres://");
        }
        if !(self.queue_url == "memory" || self.queue_url.starts_with("nats://")) {
            return bad("IRISX_QUEUE_URL", "must be `memory` or start with nats://");
        }
        if !(self.cache_url == "memory"
            || self.cache_url.starts_with("redis://")
            || self.cache_url.starts_with("rediss://"))
        {
            return bad("IRISX_CACHE_URL", "must be `memory` or start with redis://");
        }
        let obj = self.object_store_url();
        if !(obj.starts_with("file://") || obj.starts_with("s3://")) {
            return bad("IRISX_OBJECT_STORE_URL", "must start with file:// or s3://");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return bad("IRISX_LOG_FORMAT", "must be `text` or `json`");
        }
        if self.body_limit_bytes < 1024 {
            return bad("IRISX_BODY_LIMIT_BYTES", "must be at least 1024");
        }
        if self.database_pool_size == 0 {
            return bad("IRISX_DATABASE_POOL_SIZE", "must be at least 1");
        }
        for (key, s) in [
            ("IRISX_JWT_SECRET", &self.jwt_secret),
            ("IRISX_ADMIN_JWT_SECRET", &self.admin_jwt_secret),
        ] {
            if s.as_ref()
                .is_some_and(|s| secrecy::ExposeSecret::expose_secret(s).len() < 32)
            {
                return bad(key, "must be at least 32 characters");
            }
        }
        if let Some(k) = &self.encryption_key {
            let k = secrecy::ExposeSecret::expose_secret(k);
            if k.len() != 64 || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
                return bad("IRISX_ENCRYPTION_KEY", "must be 64 hex digits (32 bytes)");
            }
        }
        if let Some(f) = &self.failpoint
            && let Err(problem) = f.parse::<irisx_worker::Failpoint>()
        {
            return Err(ConfigError::Invalid {
                key: "IRISX_FAILPOINT",
                problem,
            });
        }
        if self.provider_timeout_ms < 100 {
            return bad("IRISX_PROVIDER_TIMEOUT_MS", "must be at least 100");
        }
        if let Err(why) = self.webhooks.schedule() {
            return bad("IRISX_WEBHOOKS__SCHEDULE_SECS", &why);
        }
        if !(1..=30).contains(&self.webhooks.timeout_secs) {
            return bad("IRISX_WEBHOOKS__TIMEOUT_SECS", "must be 1 to 30 seconds");
        }
        for (key, value) in [
            (
                "IRISX_WEBHOOKS__DISABLE_AFTER_DAYS",
                self.webhooks.disable_after_days as usize,
            ),
            (
                "IRISX_WEBHOOKS__PER_ENDPOINT_CONCURRENCY",
                self.webhooks.per_endpoint_concurrency as usize,
            ),
            ("IRISX_EVENT_RETENTION_DAYS", self.event_retention_days as usize),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        for (key, value) in [
            ("IRISX_RELAY_BATCH", self.relay_batch as usize),
            ("IRISX_RELAY_MAX_IN_FLIGHT", self.relay_max_in_flight as usize),
            ("IRISX_WORKER_BATCH", self.worker_batch),
        ] {
            if value == 0 {
                return bad(key, "must be at least 1");
            }
        }
        if let Err((key, problem)) = self.voice.check() {
            return Err(ConfigError::Invalid { key, problem });
        }
        if self.queue_ack_wait_secs == 0 {
            return bad("IRISX_QUEUE_ACK_WAIT_SECS", "must be at least 1");
        }
        Ok(())
    }

    /// The database URL, defaulting to SQLite in the data dir.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("irisx.db").display()))
    }

    /// The object store URL, defaulting to a directory in the data dir.
    pub fn object_store_url(&self) -> String {
        self.object_store_url
            .clone()
            .unwrap_or_else(|| format!("file://{}", self.data_dir.join("objects").display()))
    }
}
