//! The per-tenant concurrent-call limit every voice engine keeps: a slot is taken when a call is originated or
//! an incoming call is answered for a tenant, and given back when that call ends.

use std::collections::HashMap;
use std::sync::Mutex;

/// Live calls per tenant, at most `max` each.
#[derive(Debug)]
pub struct CallLimits {
    max: usize,
    active: Mutex<HashMap<String, usize>>,
}

impl CallLimits {
    /// At most `max` concurrent calls per tenant.
    pub fn new(max: usize) -> Self {
        CallLimits {
            max,
            active: Mutex::default(),
        }
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Takes a call slot for `tenant`; `false` when it is at its limit.
    pub fn acquire(&self, tenant: &str) -> bool {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        let n = active.entry(tenant.to_owned()).or_default();
        if *n >= self.max {
            return false;
        }
        *n += 1;
        true
    }

    /// Gives a slot back.
    pub fn release(&self, tenant: &str) {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = active.get_mut(tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                active.remove(tenant);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_at_its_limit_gets_no_slot_until_one_is_given_back_and_others_are_not_affected() {
        let limits = CallLimits::new(2);
        assert!(limits.acquire("t1") && limits.acquire("t1"));
        assert!(!limits.acquire("t1"));
        assert!(limits.acquire("t2"));
        limits.release("t1");
        assert!(limits.acquire("t1"));
    }
}
