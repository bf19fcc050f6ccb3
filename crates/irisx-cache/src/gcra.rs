//! The generic cell rate algorithm, in integer microseconds, shared by the memory backend and mirrored line
//! for line by the Redis Lua script (so both backends answer the same).
//!
//! The state is one number per key, the theoretical arrival time (TAT). A request at `now` is allowed when
//! `max(tat, now) + interval - period <= now`; allowing it stores the new TAT, which may be forgotten once
//! `now` passes it (the limiter is then fully reset).

use std::time::Duration;

use irisx_core::ports::cache::{Rate, RateDecision};

/// The emission interval of a rate in microseconds: `period / limit`, at least 1.
pub(crate) fn interval_us(rate: Rate) -> i64 {
    (period_us(rate) / i64::from(rate.limit.max(1))).max(1)
}

/// The period of a rate in microseconds, at least 1.
pub(crate) fn period_us(rate: Rate) -> i64 {
    i64::try_from(rate.period.as_micros()).unwrap_or(i64::MAX / 4).max(1)
}

/// The outcome of one GCRA step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// The TAT to store when allowed (`None` when refused: the state is left unchanged).
    pub new_tat: Option<i64>,
    /// The decision to return.
    pub decision: RateDecision,
}

/// One request at `now_us` against the stored TAT (`None` when the key is absent or expired).
pub(crate) fn step(rate: Rate, stored_tat: Option<i64>, now_us: i64) -> Step {
    if rate.limit == 0 {
        return Step {
            new_tat: None,
            decision: refused(rate, rate.period, rate.period),
        };
    }
    let period = period_us(rate);
    let interval = interval_us(rate);
    let tat = stored_tat.unwrap_or(now_us).max(now_us);
    let new_tat = tat + interval;
    let allow_at = new_tat - period;
    if now_us < allow_at {
        return Step {
            new_tat: None,
            decision: refused(rate, micros(tat - now_us), micros(allow_at - now_us)),
        };
    }
    let remaining = (period - (new_tat - now_us)) / interval;
    Step {
        new_tat: Some(new_tat),
        decision: RateDecision {
            allowed: true,
            limit: rate.limit,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(u32::MAX).min(rate.limit),
            reset_after: micros(new_tat - now_us),
            retry_after: Duration::ZERO,
        },
    }
}

/// A reservation at `now_us`: the TAT to store and the wait until the reserved slot. Mirrored by the Redis
/// script. A rate of zero is treated as one per period.
pub(crate) fn reserve(rate: Rate, stored_tat: Option<i64>, now_us: i64) -> (i64, Duration) {
    let period = period_us(rate);
    let interval = interval_us(rate);
    let tat = stored_tat.unwrap_or(now_us).max(now_us);
    let new_tat = tat + interval;
    (new_tat, micros(new_tat - period - now_us))
}

/// A refusal.
pub(crate) fn refused(rate: Rate, reset_after: Duration, retry_after: Duration) -> RateDecision {
    RateDecision {
        allowed: false,
        limit: rate.limit,
        remaining: 0,
        reset_after,
        retry_after,
    }
}

/// Microseconds (clamped at zero) as a duration.
pub(crate) fn micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reservations_take_consecutive_slots_after_the_burst() {
        let rate = super::Rate {
            limit: 2,
            period: std::time::Duration::from_secs(1),
        };
        let mut tat = None;
        let waits: Vec<_> = (0..5)
            .map(|_| {
                let (t, wait) = super::reserve(rate, tat, 0);
                tat = Some(t);
                wait.as_millis()
            })
            .collect();
        assert_eq!(waits, [0, 0, 500, 1000, 1500]);
    }

    use super::*;

    fn rate(limit: u32, ms: u64) -> Rate {
        Rate {
            limit,
            period: Duration::from_millis(ms),
        }
    }

    #[test]
    fn a_burst_of_exactly_limit_is_allowed_then_the_next_waits_one_interval() {
        let r = rate(3, 1_000);
        let mut tat = None;
        for expected_remaining in [2, 1, 0] {
            let s = step(r, tat, 0);
            assert!(s.decision.allowed);
            assert_eq!(s.decision.remaining, expected_remaining);
            tat = s.new_tat;
        }
        let s = step(r, tat, 0);
        assert!(!s.decision.allowed);
        assert_eq!(s.new_tat, None);
        assert_eq!(s.decision.retry_after, Duration::from_micros(333_332));
        assert_eq!(s.decision.reset_after, Duration::from_micros(999_999));
        assert!(step(r, tat, 333_332).decision.allowed);
    }

    #[test]
    fn a_zero_limit_refuses_everything_for_a_period() {
        let s = step(rate(0, 500), None, 0);
        assert!(!s.decision.allowed);
        assert_eq!(s.decision.retry_after, Duration::from_millis(500));
    }
}
