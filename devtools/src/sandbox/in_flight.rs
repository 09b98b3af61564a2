//! How many requests a fake holds at once (while its latency switch delays them), and the
//! most it has held: what a test or the bench reads as the app's concurrency towards a
//! provider.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

/// Shared by every clone of a fake.
#[derive(Clone, Default)]
pub struct InFlight(Arc<(AtomicUsize, AtomicUsize)>);

/// One request in flight; dropped (answered, or abandoned by the client) it leaves.
pub struct Entered(InFlight);

impl InFlight {
    /// A request arrives.
    pub fn enter(&self) -> Entered {
        let now = self.0 .0.fetch_add(1, Ordering::SeqCst) + 1;
        self.0 .1.fetch_max(now, Ordering::SeqCst);
        Entered(self.clone())
    }

    /// Requests held now.
    pub fn now(&self) -> usize {
        self.0 .0.load(Ordering::SeqCst)
    }

    /// The most requests held at once.
    pub fn peak(&self) -> usize {
        self.0 .1.load(Ordering::SeqCst)
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.0 .0 .0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_the_most_held_at_once() {
        let f = InFlight::default();
        let a = f.enter();
        let b = f.enter();
        drop(a);
        let c = f.enter();
        assert_eq!(f.peak(), 2);
        drop((b, c));
        let _d = f.enter();
        assert_eq!(f.peak(), 2);
    }
}
