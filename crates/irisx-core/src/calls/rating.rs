//! The voice rules configuration may change, trunk selection for a destination, and the rating of a finished
//! call: billable seconds rounded up to the plan's increment, cost at the trunk's per-minute rate, price with
//! the plan's markup.

use std::time::Duration;

use super::model::SipTrunk;
use crate::domain::Plan;

/// The billing increment of each plan, in seconds: a call is billed in whole increments, rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BillingIncrements {
    /// Free plan (default 60).
    pub free: u32,
    /// Starter plan (default 60).
    pub starter: u32,
    /// Growth plan (default 6).
    pub growth: u32,
    /// Enterprise plan (default 6).
    pub enterprise: u32,
}

impl Default for BillingIncrements {
    fn default() -> Self {
        Self {
            free: 60,
            starter: 60,
            growth: 6,
            enterprise: 6,
        }
    }
}

impl BillingIncrements {
    /// The increment of a plan (at least one second).
    pub fn of(&self, plan: Plan) -> u32 {
        let s = match plan {
            Plan::Free => self.free,
            Plan::Starter => self.starter,
            Plan::Growth => self.growth,
            Plan::Enterprise => self.enterprise,
        };
        s.max(1)
    }
}

/// Voice rules: billing increments, the destinations nobody may call, the default ring time, the inbound rate.
#[derive(Debug, Clone)]
pub struct VoicePolicy {
    /// Billing increments per plan.
    pub increments: BillingIncrements,
    /// Destination prefixes refused for every tenant (toll fraud: premium and high-cost ranges), `+` and digits.
    pub blocked_prefixes: Vec<String>,
    /// How long an outbound call rings when the request names no timeout.
    pub default_ring_timeout: Duration,
    /// What an answered incoming call costs per minute, micro-units of `inbound_currency` (0: free).
    pub inbound_rate_micros_per_minute: i64,
    /// The currency of the inbound rate (ISO 4217).
    pub inbound_currency: String,
}

impl Default for VoicePolicy {
    fn default() -> Self {
        Self {
            increments: BillingIncrements::default(),
            blocked_prefixes: Vec::new(),
            default_ring_timeout: Duration::from_secs(30),
            inbound_rate_micros_per_minute: 0,
            inbound_currency: "USD".into(),
        }
    }
}

impl VoicePolicy {
    /// The blocked prefix `to` starts with, if any.
    pub fn blocked(&self, to: &str) -> Option<&str> {
        self.blocked_prefixes
            .iter()
            .find(|p| !p.is_empty() && to.starts_with(p.as_str()))
            .map(String::as_str)
    }
}

/// The trunks that serve `to`, cheapest first: each trunk's rate is the one whose prefix is the longest
/// match for the destination; trunks with no matching rate are left out; equal costs keep id order.
pub fn select_trunks(trunks: &[SipTrunk], to: &str) -> Vec<(SipTrunk, i64)> {
    let mut chosen: Vec<(SipTrunk, i64)> = trunks
        .iter()
        .filter(|t| t.enabled)
        .filter_map(|t| {
            t.rates
                .iter()
                .filter(|r| to.starts_with(r.prefix.as_str()))
                .max_by_key(|r| r.prefix.len())
                .map(|r| (t.clone(), r.cost_micros_per_minute))
        })
        .collect();
    chosen.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.id.cmp(&b.0.id)));
    chosen
}

/// Seconds billed for a call of `duration_secs`: whole increments, rounded up (a call never answered is 0).
pub fn billable_seconds(duration_secs: i64, increment: u32) -> i64 {
    let inc = i64::from(increment.max(1));
    if duration_secs <= 0 {
        return 0;
    }
    (duration_secs + inc - 1) / inc * inc
}

/// The carrier's cost of `billable_secs` at `rate_per_minute` micro-units, rounded up to the micro-unit.
pub fn cost_micros(rate_per_minute: i64, billable_secs: i64) -> i64 {
    (rate_per_minute * billable_secs + 59) / 60
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::model::{TrunkRate, TrunkTransport};
    use crate::id::SipTrunkId;

    fn trunk(rates: &[(&str, i64)]) -> SipTrunk {
        SipTrunk {
            id: SipTrunkId::new(),
            tenant_id: None,
            name: "t".into(),
            host: "127.0.0.1".into(),
            port: 5060,
            transport: TrunkTransport::Udp,
            sealed_credentials: None,
            caller_id: None,
            caller_id_mode: crate::calls::CallerIdMode::Any,
            number_format: crate::calls::NumberFormat::E164,
            codecs: vec![],
            max_calls: 0,
            rates: rates
                .iter()
                .map(|(p, c)| TrunkRate {
                    prefix: (*p).into(),
                    cost_micros_per_minute: *c,
                })
                .collect(),
            currency: "USD".into(),
            enabled: true,
            created_at: time::OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn trunks_are_ordered_by_the_rate_of_their_longest_matching_prefix() {
        let a = trunk(&[("+", 5000), ("+44", 9000)]);
        let b = trunk(&[("+4420", 7000)]);
        let c = trunk(&[("+1", 1000)]);
        let picked = select_trunks(&[a.clone(), b.clone(), c], "+442071234567");
        let order: Vec<_> = picked.iter().map(|(t, r)| (t.id.clone(), *r)).collect();
        assert_eq!(order, vec![(b.id, 7000), (a.id, 9000)]);
    }

    #[test]
    fn billing_rounds_up_to_the_plans_increment_and_costs_by_the_minute() {
        assert_eq!(billable_seconds(0, 60), 0);
        assert_eq!(billable_seconds(1, 60), 60);
        assert_eq!(billable_seconds(61, 60), 120);
        assert_eq!(billable_seconds(7, 6), 12);
        assert_eq!(cost_micros(12_000, 60), 12_000);
        assert_eq!(cost_micros(12_000, 12), 2_400);
        assert_eq!(cost_micros(10, 1), 1);
    }

    #[test]
    fn a_blocked_prefix_refuses_its_destinations_only() {
        let p = VoicePolicy {
            blocked_prefixes: vec!["+882".into()],
            ..VoicePolicy::default()
        };
        assert_eq!(p.blocked("+88234"), Some("+882"));
        assert_eq!(p.blocked("+15551230000"), None);
    }
}
