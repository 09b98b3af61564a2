//! How many jobs at once a queue that waits on a provider runs (`Job::WAITS_OUTSIDE`): as
//! many as the provider takes, never more than the configured ceiling. When an attempt ends
//! because the provider refused us for going too fast (`JobError::RateLimited` with
//! `slows_queue`), the limit drops to what was running besides the refused attempt (a
//! provider refuses at once, so after a burst of refusals what still runs is what it took),
//! and the queue claims nothing new until the provider's wait has passed; each success
//! while at least half the limit is in use raises it by one per round of successes, back up
//! to the ceiling (TCP's additive increase). Under a provider's limit the queue settles at
//! it instead of spending every job's attempts on refusals.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// One queue's adaptive limit in one worker process.
#[derive(Debug)]
pub struct Throttle {
    ceiling: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    limit: f64,
    paused_until: Option<Instant>,
    refusals: u64,
}

impl Throttle {
    /// Starts at `ceiling` (at least one) jobs at once.
    pub fn new(ceiling: usize) -> Self {
        let ceiling = ceiling.max(1);
        Self { ceiling, state: Mutex::new(State { limit: ceiling as f64, paused_until: None, refusals: 0 }) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Jobs that may be in flight at `now`; 0 while the provider's wait lasts.
    pub fn allowed(&self, now: Instant) -> usize {
        let state = self.state();
        match state.paused_until {
            Some(until) if until > now => 0,
            _ => state.limit as usize,
        }
    }

    /// How long claiming stays paused after `now`, if it is.
    pub fn paused_for(&self, now: Instant) -> Option<Duration> {
        self.state().paused_until.and_then(|until| until.checked_duration_since(now)).filter(|d| !d.is_zero())
    }

    /// The current limit, whatever the pause (for logs and tests).
    pub fn limit(&self) -> usize {
        self.state().limit as usize
    }

    /// Refusals seen so far.
    pub fn refusals(&self) -> u64 {
        self.state().refusals
    }

    /// An attempt succeeded while `in_flight` jobs (itself included) were running: the limit
    /// grows by one per round of successes, if it is being used.
    pub fn succeeded(&self, in_flight: usize) {
        let mut state = self.state();
        if (in_flight as f64) * 2.0 >= state.limit {
            state.limit = (state.limit + 1.0 / state.limit).min(self.ceiling as f64);
        }
    }

    /// The provider refused an attempt at `now` while `in_flight` jobs (it included) were
    /// running, and asked for `wait`: no more at once than the others running, and no new
    /// claim before `now + wait`.
    pub fn refused(&self, wait: Duration, in_flight: usize, now: Instant) {
        let mut state = self.state();
        state.refusals += 1;
        state.limit = state.limit.min(in_flight.saturating_sub(1).max(1) as f64);
        let until = now + wait;
        state.paused_until = Some(state.paused_until.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_cuts_to_what_else_ran_and_pauses_claims_for_the_providers_wait() {
        let t = Throttle::new(100);
        let now = Instant::now();
        assert_eq!(t.allowed(now), 100);

        t.refused(Duration::from_secs(3), 60, now);

        assert_eq!(t.limit(), 59, "the fifty-nine others were taken");
        assert_eq!(t.allowed(now + Duration::from_secs(2)), 0, "paused while the wait lasts");
        assert_eq!(t.paused_for(now + Duration::from_secs(2)), Some(Duration::from_secs(1)));
        assert_eq!(t.allowed(now + Duration::from_secs(3)), 59);
        assert_eq!(t.paused_for(now + Duration::from_secs(3)), None);
    }

    #[test]
    fn a_storm_of_refusals_ends_at_what_the_provider_took_never_zero() {
        let t = Throttle::new(256);
        let now = Instant::now();
        // 250 sent at once; the provider takes 6 and refuses the rest, which come back
        // one by one while the 6 still run.
        for left in (7..=250).rev() {
            t.refused(Duration::from_secs(1), left, now);
        }
        assert_eq!(t.limit(), 6);
        assert_eq!(t.refusals(), 244);
        t.refused(Duration::from_secs(1), 1, now);
        assert_eq!(t.limit(), 1, "never below one");
        assert_eq!(t.allowed(now + Duration::from_secs(2)), 1);
    }

    #[test]
    fn successes_raise_it_one_per_round_up_to_the_ceiling_only_while_it_is_used() {
        let t = Throttle::new(12);
        t.refused(Duration::ZERO, 5, Instant::now());
        assert_eq!(t.limit(), 4);

        // About a round: as many successes as the limit, with the limit in use.
        for _ in 0..5 {
            t.succeeded(4);
        }
        assert_eq!(t.limit(), 5);
        // One job running of five: the limit is not what holds the queue back.
        for _ in 0..20 {
            t.succeeded(1);
        }
        assert_eq!(t.limit(), 5);
        for _ in 0..200 {
            t.succeeded(12);
        }
        assert_eq!(t.limit(), 12, "never above the ceiling");
    }
}
