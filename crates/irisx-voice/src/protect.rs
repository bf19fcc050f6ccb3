//! Protection at the SIP edge: requests from known scanner user agents are dropped unanswered, an IP address
//! with too many failed digest authentications in a window is banned (everything from it is dropped). The
//! per-tenant concurrent-call limit is core's `CallLimits`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many addresses with failures are tracked before the stale ones are dropped.
const MAX_TRACKED: usize = 10_000;

/// Scanner and ban checks, and the failure counts behind bans.
#[derive(Debug)]
pub struct Guard {
    scanners: Vec<String>,
    limit: u32,
    window: Duration,
    ban_for: Duration,
    state: Mutex<GuardState>,
}

#[derive(Debug, Default)]
struct GuardState {
    failures: HashMap<IpAddr, Vec<Instant>>,
    banned: HashMap<IpAddr, Instant>,
}

impl Guard {
    /// A guard banning after `limit` failures within `window`, for `ban_for`.
    pub fn new(scanners: &[String], limit: u32, window: Duration, ban_for: Duration) -> Self {
        Guard {
            scanners: scanners.iter().map(|s| s.to_ascii_lowercase()).collect(),
            limit: limit.max(1),
            window,
            ban_for,
            state: Mutex::default(),
        }
    }

    /// Whether a User-Agent belongs to a known scanner.
    pub fn is_scanner(&self, user_agent: &str) -> bool {
        let ua = user_agent.to_ascii_lowercase();
        self.scanners.iter().any(|s| ua.contains(s.as_str()))
    }

    /// Whether `ip` is banned now.
    pub fn is_banned(&self, ip: IpAddr) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match state.banned.get(&ip) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                state.banned.remove(&ip);
                false
            }
            None => false,
        }
    }

    /// Counts one failed authentication; returns `true` when this one bans the address.
    pub fn auth_failed(&self, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.failures.len() >= MAX_TRACKED {
            // Many addresses failing (spoofed sources): keep only those with failures inside the window.
            let window = self.window;
            state
                .failures
                .retain(|_, times| times.last().is_some_and(|t| now.duration_since(*t) < window));
            state.banned.retain(|_, until| *until > now);
        }
        let failures = state.failures.entry(ip).or_default();
        failures.retain(|t| now.duration_since(*t) < self.window);
        failures.push(now);
        if failures.len() as u32 >= self.limit {
            state.failures.remove(&ip);
            state.banned.insert(ip, now + self.ban_for);
            tracing::warn!(%ip, "banned after repeated SIP authentication failures");
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_user_agents_are_recognised_in_any_case() {
        let guard = Guard::new(
            &["friendly-scanner".into(), "sipvicious".into()],
            3,
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        assert!(guard.is_scanner("Friendly-Scanner"));
        assert!(guard.is_scanner("SIPVicious 0.3"));
        assert!(!guard.is_scanner("Linphone/5.0"));
    }

    #[test]
    fn an_address_is_banned_at_the_nth_failure_within_the_window() {
        let guard = Guard::new(&[], 3, Duration::from_secs(60), Duration::from_secs(60));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(!guard.auth_failed(ip));
        assert!(!guard.auth_failed(ip));
        assert!(!guard.is_banned(ip));
        assert!(guard.auth_failed(ip));
        assert!(guard.is_banned(ip));
        assert!(!guard.is_banned("192.0.2.2".parse().unwrap()));
    }
}
