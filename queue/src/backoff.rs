//! Retry delays: exponential with jitter, capped. Pure, so it is unit-tested here.

use std::time::Duration;

use rand::Rng;

/// Backoff policy of one job type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failed attempt (before jitter).
    pub base: Duration,
    /// No delay exceeds this (before jitter).
    pub cap: Duration,
}

impl Backoff {
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// Delay before the attempt after `failed_attempt` (1-based): `base * 2^(n-1)`, capped,
    /// then scaled by a random factor in [0.75, 1.25) so retries of many jobs spread out.
    pub fn delay(&self, failed_attempt: u32) -> Duration {
        self.delay_with(failed_attempt, rand::rng().random_range(0.75..1.25))
    }

    fn delay_with(&self, failed_attempt: u32, jitter: f64) -> Duration {
        let exp = failed_attempt.saturating_sub(1).min(30);
        let raw = self.base.saturating_mul(1u32 << exp).min(self.cap);
        raw.mul_f64(jitter)
    }
}

impl Default for Backoff {
    /// 5 s, 10 s, 20 s … up to an hour.
    fn default() -> Self {
        Self::new(Duration::from_secs(5), Duration::from_secs(3600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_until_the_cap() {
        let b = Backoff::new(Duration::from_secs(2), Duration::from_secs(10));
        let d: Vec<u64> = (1..=5).map(|n| b.delay_with(n, 1.0).as_secs()).collect();
        assert_eq!(d, vec![2, 4, 8, 10, 10]);
    }

    #[test]
    fn jitter_stays_within_a_quarter_either_side() {
        let b = Backoff::new(Duration::from_secs(8), Duration::from_secs(3600));
        for _ in 0..1000 {
            let d = b.delay(1).as_secs_f64();
            assert!((6.0..10.0).contains(&d), "{d}");
        }
    }

    #[test]
    fn jitter_actually_varies() {
        let b = Backoff::default();
        let first = b.delay(3);
        assert!((0..50).any(|_| b.delay(3) != first));
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        let b = Backoff::default();
        assert!(b.delay(u32::MAX) <= Duration::from_secs(4500));
    }
}
