//! Rate limits: per API key (or user) and per tenant, by plan; per client IP on public routes.

use super::Platform;
use super::principal::TenantPrincipal;
use crate::error::CoreError;
use crate::ports::cache::{Rate, RateDecision};
use std::time::Duration;

const MINUTE: Duration = Duration::from_secs(60);

/// Counts one request of `principal` against its key and tenant limits. Returns the tighter decision (for the
/// `RateLimit-*` headers), or [`CoreError::RateLimited`] when either limit is exhausted.
pub async fn check_tenant(platform: &Platform, principal: &TenantPrincipal) -> Result<RateDecision, CoreError> {
    let limits = platform.policy.plans.of(principal.tenant.plan);
    let key_rate = Rate {
        limit: limits.per_key_per_minute,
        period: MINUTE,
    };
    let tenant_rate = Rate {
        limit: limits.per_tenant_per_minute,
        period: MINUTE,
    };
    let by_key = platform
        .cache
        .rate_limit(&format!("rl:k:{}", principal.rate_key()), key_rate)
        .await?;
    if !by_key.allowed {
        return Err(CoreError::RateLimited(by_key));
    }
    let by_tenant = platform
        .cache
        .rate_limit(&format!("rl:t:{}", principal.tenant_id()), tenant_rate)
        .await?;
    if !by_tenant.allowed {
        return Err(CoreError::RateLimited(by_tenant));
    }
    Ok(if by_tenant.remaining < by_key.remaining {
        by_tenant
    } else {
        by_key
    })
}

/// Counts one unauthenticated request from `ip` against the public limit.
pub async fn check_public(platform: &Platform, ip: &str) -> Result<RateDecision, CoreError> {
    let d = platform
        .cache
        .rate_limit(&format!("rl:ip:{ip}"), platform.policy.public_rate)
        .await?;
    if d.allowed {
        Ok(d)
    } else {
        Err(CoreError::RateLimited(d))
    }
}
