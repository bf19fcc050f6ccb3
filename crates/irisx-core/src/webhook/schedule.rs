//! When a failed delivery is tried again: exponential backoff with jitter, or the operator's own schedule.

use std::time::Duration;

use rand::Rng;

/// The delays between attempts: `delays[i]` is the wait after attempt `i + 1` failed, so a schedule of four
/// delays makes five attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    /// Five attempts: at once, then after 5 s, 5 min, 30 min and 2 h.
    fn default() -> Self {
        Self::new([5, 300, 1800, 7200].map(Duration::from_secs).to_vec())
    }
}

impl RetrySchedule {
    /// A schedule of these delays.
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    /// How many attempts the schedule makes.
    pub fn attempts(&self) -> u32 {
        self.delays.len() as u32 + 1
    }

    /// The wait before the attempt after `attempt` (counted from 1), with ±20 % jitter so endpoints that
    /// failed together are not retried together; `None` when no attempt is left. A receiver's `Retry-After`
    /// lengthens the wait, never shortens it.
    pub fn next_delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        let base = *self.delays.get(attempt.checked_sub(1)? as usize)?;
        let jitter = rand::rng().random_range(0.8..1.2);
        Some(base.mul_f64(jitter).max(retry_after.unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_makes_five_attempts_with_growing_waits() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.attempts(), 5);
        let waits: Vec<_> = (1..=4).map(|a| schedule.next_delay(a, None).unwrap()).collect();
        assert!(waits.windows(2).all(|w| w[0] < w[1]), "{waits:?}");
        assert!((4.0..=6.0).contains(&waits[0].as_secs_f64()));
        assert_eq!(schedule.next_delay(5, None), None);
    }

    #[test]
    fn retry_after_lengthens_the_wait_but_never_shortens_it() {
        let schedule = RetrySchedule::default();
        let long = schedule.next_delay(1, Some(Duration::from_secs(60))).unwrap();
        assert_eq!(long, Duration::from_secs(60));
        let short = schedule.next_delay(3, Some(Duration::from_secs(1))).unwrap();
        assert!(short >= Duration::from_secs(1440));
    }
}
