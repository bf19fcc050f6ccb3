//! Use cases: what the HTTP layer and the CLI ask the platform to do.
//!
//! Each use case takes the [`Platform`] (the ports and policies), an authenticated principal where one is
//! needed, and parsed input; it checks permissions, applies the rules, and writes through the store with the
//! audit entry in the same transaction.

pub mod accounts;
pub mod agents;
pub mod api_keys;
pub mod auth;
pub mod calls;
pub mod email;
pub mod email_inbound;
pub mod email_input;
pub mod email_templates;
pub mod email_tracking;
pub mod objects;
pub mod principal;
pub mod rate;
pub mod receipts;
pub mod sms;
pub mod staff_auth;
pub mod tenants;
pub mod trunks;
pub mod users;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::auth::TokenSigner;
use crate::crypto::SecretBox;
use crate::domain::Plan;
use crate::ports::cache::{Cache, Rate};
use crate::ports::calls::CallStore;
use crate::ports::email::EmailStore;
use crate::ports::messaging::MessagingStore;
use crate::ports::objects::{ObjectIndex, Objects};
use crate::ports::providers::ProviderFactory;
use crate::ports::store::Store;
use crate::ports::webhooks::WebhookSender;

/// The ports and policies every use case works with. Built once by the binary.
pub struct Platform {
    /// The system of record.
    pub store: Arc<dyn Store>,
    /// The system of record's messaging side (the same database).
    pub messaging: Arc<dyn MessagingStore>,
    /// The system of record's email side (the same database).
    pub email: Arc<dyn EmailStore>,
    /// The system of record's calls side: trunks, agents, calls, recordings (the same database).
    pub calls: Arc<dyn CallStore>,
    /// Attachments, recordings and exports: a local directory or an S3 bucket.
    pub objects: Arc<dyn Objects>,
    /// The records of stored objects (the same database).
    pub object_index: Arc<dyn ObjectIndex>,
    /// Seals provider credentials at rest.
    pub secrets: SecretBox,
    /// Builds vendor adapters.
    pub providers: Arc<dyn ProviderFactory>,
    /// Rate limits, blacklist, counters, locks.
    pub cache: Arc<dyn Cache>,
    /// Token signing.
    pub tokens: TokenSigner,
    /// Rules that configuration may change.
    pub policy: Policy,
    /// Notified after a commit that wrote outbox rows, so the relay publishes at once.
    pub outbox_wake: Arc<Notify>,
    /// The address providers reach this IRISX at, for delivery receipts (`https://irisx.example.com`).
    pub public_url: String,
    /// Posts signed webhooks under the SSRF rules.
    pub webhook_sender: Arc<dyn WebhookSender>,
}

/// Rules that configuration may change.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Whether `POST /v1/auth/signup` creates tenants.
    pub signup_enabled: bool,
    /// Failed-login slowdown and lockout.
    pub login: LoginPolicy,
    /// Rate limits per plan.
    pub plans: PlanLimits,
    /// Rate limit per client IP on the unauthenticated routes (signup, login).
    pub public_rate: Rate,
    /// SMS messages per second per sender type and per provider account.
    pub sms_pace: SmsPace,
    /// What each plan pays over the provider's cost, in percent.
    pub markup: PlanMarkup,
    /// Webhook delivery: schedule, timeout, disabling, concurrency, retention.
    pub webhooks: webhooks::WebhookPolicy,
    /// Voice: billing increments per plan, blocked destinations, ring time.
    pub voice: crate::calls::VoicePolicy,
}

/// The markup over provider cost each plan pays, in percent: price = cost × (100 + markup) / 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanMarkup {
    /// Free plan (default 20).
    pub free: u32,
    /// Starter plan (default 15).
    pub starter: u32,
    /// Growth plan (default 10).
    pub growth: u32,
    /// Enterprise plan (default 5).
    pub enterprise: u32,
}

impl Default for PlanMarkup {
    fn default() -> Self {
        Self {
            free: 20,
            starter: 15,
            growth: 10,
            enterprise: 5,
        }
    }
}

impl PlanMarkup {
    /// The markup of a plan.
    pub fn of(&self, plan: Plan) -> u32 {
        match plan {
            Plan::Free => self.free,
            Plan::Starter => self.starter,
            Plan::Growth => self.growth,
            Plan::Enterprise => self.enterprise,
        }
    }

    /// The tenant's price for a provider cost, rounded down to the micro-unit.
    pub fn price(&self, plan: Plan, cost_micros: i64) -> i64 {
        cost_micros * (100 + i64::from(self.of(plan))) / 100
    }
}

/// SMS messages per second: carriers' limits per kind of sender, and a ceiling per provider account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SmsPace {
    /// A 10-digit long code (default 1).
    pub long_code: u32,
    /// A toll-free number (default 3).
    pub toll_free: u32,
    /// A short code or an alphanumeric sender id (default 100).
    pub short_code: u32,
    /// One provider account, all senders together (default 500).
    pub per_provider: u32,
}

impl Default for SmsPace {
    fn default() -> Self {
        Self {
            long_code: 1,
            toll_free: 3,
            short_code: 100,
            per_provider: 500,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            signup_enabled: true,
            login: LoginPolicy::default(),
            plans: PlanLimits::default(),
            public_rate: Rate {
                limit: 30,
                period: Duration::from_secs(60),
            },
            sms_pace: SmsPace::default(),
            markup: PlanMarkup::default(),
            webhooks: webhooks::WebhookPolicy::default(),
            voice: crate::calls::VoicePolicy::default(),
        }
    }
}

/// Failed-login slowdown and lockout, counted per email whether or not the account exists.
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    /// Failures after which answers slow down.
    pub slowdown_after: u32,
    /// The first delay; it doubles with each further failure.
    pub slowdown_step: Duration,
    /// The longest delay.
    pub slowdown_max: Duration,
    /// Failures that lock the account.
    pub max_failures: u32,
    /// How long a lock lasts (and how long failures are remembered).
    pub lockout: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            slowdown_after: 3,
            slowdown_step: Duration::from_millis(250),
            slowdown_max: Duration::from_secs(2),
            max_failures: 5,
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

/// Requests per minute allowed per API key (or user) and per tenant, for one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimit {
    /// Per API key or logged-in user.
    pub per_key_per_minute: u32,
    /// Per tenant, all keys and users together.
    pub per_tenant_per_minute: u32,
}

/// Limits for every plan.
#[derive(Debug, Clone)]
pub struct PlanLimits {
    /// Free plan.
    pub free: PlanLimit,
    /// Starter plan.
    pub starter: PlanLimit,
    /// Growth plan.
    pub growth: PlanLimit,
    /// Enterprise plan.
    pub enterprise: PlanLimit,
}

impl Default for PlanLimits {
    fn default() -> Self {
        Self {
            free: PlanLimit {
                per_key_per_minute: 100,
                per_tenant_per_minute: 300,
            },
            starter: PlanLimit {
                per_key_per_minute: 600,
                per_tenant_per_minute: 3_000,
            },
            growth: PlanLimit {
                per_key_per_minute: 6_000,
                per_tenant_per_minute: 30_000,
            },
            enterprise: PlanLimit {
                per_key_per_minute: 600_000,
                per_tenant_per_minute: 3_000_000,
            },
        }
    }
}

impl PlanLimits {
    /// The limits of a plan.
    pub fn of(&self, plan: Plan) -> PlanLimit {
        match plan {
            Plan::Free => self.free,
            Plan::Starter => self.starter,
            Plan::Growth => self.growth,
            Plan::Enterprise => self.enterprise,
        }
    }
}

/// Where a request came from, for the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

/// Runs CPU-heavy work (password hashing) off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, crate::CoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| crate::CoreError::Internal(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_price_is_the_cost_plus_the_plans_markup() {
        let m = PlanMarkup::default();
        assert_eq!(m.price(Plan::Free, 5000), 6000);
        assert_eq!(m.price(Plan::Enterprise, 10_000), 10_500);
        assert_eq!(m.price(Plan::Growth, 0), 0);
    }
}
