//! Concurrency that fits the connection pool, decided at start-up.
//!
//! A job holds at most one pooled connection at a time and none across an outside call
//! (Graph API, model, SMTP), so jobs never need more connections than the number running
//! at once. If the queues' concurrency adds up to more than the pool can give after the
//! runtime's own reserve (the LISTEN connection, heartbeats and outcome writes, the web
//! server in `mujibak dev`), each queue's share is cut in proportion (at least one each)
//! and one log line says so; if even one job per queue does not fit, the worker refuses
//! to start. A run-time surprise (acquire timeouts, missed heartbeats) becomes a start-up
//! decision. A queue whose jobs wait outside (the model, the Graph API, SMTP) is not cut
//! to the pool: its jobs hold a connection only for their short database steps, so it
//! counts as one connection, and how many of its jobs run at once is a setting of its own
//! ([`plan`], `WorkerOptions::outside_concurrency`). The occasional queues (pruning,
//! billing, exports, deletions, sweeps: `Job::OCCASIONAL`) share
//! [`OCCASIONAL_CONNECTIONS`] between them, enforced by a semaphore of the process
//! (`Workers::occasional`): at the Procfile's pool of 15, one connection each left the
//! queue that stores customers' messages one of the four it asks for.

/// The pool cannot run one job of every queue beside the runtime's reserve.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "DATABASE_MAX_CONNECTIONS={pool} is too small: {queues} queues need at least one connection each \
     beside {reserved} reserved for the runtime; raise it to at least {needed}"
)]
pub struct PoolFitError {
    pub pool: u32,
    pub queues: usize,
    pub reserved: u32,
    pub needed: u32,
}

/// Each queue's concurrency, cut to fit `pool - reserved` connections if needed (largest
/// remainder, at least one per queue).
pub fn fit_concurrency(
    wanted: &[(&'static str, usize)],
    pool: u32,
    reserved: u32,
) -> Result<Vec<usize>, PoolFitError> {
    let wanted_n: Vec<usize> = wanted.iter().map(|(_, n)| (*n).max(1)).collect();
    let available = pool.saturating_sub(reserved) as usize;
    if available < wanted.len() {
        return Err(PoolFitError {
            pool,
            queues: wanted.len(),
            reserved,
            needed: reserved + wanted.len() as u32,
        });
    }
    let total: usize = wanted_n.iter().sum();
    if total <= available {
        return Ok(wanted_n);
    }
    // Everyone gets one; the rest is shared in proportion to what was wanted beyond one.
    let spare = available - wanted.len();
    let beyond: Vec<usize> = wanted_n.iter().map(|n| n - 1).collect();
    let beyond_total: usize = beyond.iter().sum();
    let mut fitted: Vec<usize> = beyond.iter().map(|b| 1 + b * spare / beyond_total).collect();
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((beyond[i] * spare) % beyond_total));
    let mut left = available - fitted.iter().sum::<usize>();
    for i in order {
        if left == 0 {
            break;
        }
        if fitted[i] < wanted_n[i] {
            fitted[i] += 1;
            left -= 1;
        }
    }
    let shares: Vec<String> =
        wanted.iter().zip(&fitted).map(|((name, want), got)| format!("{name} {got}/{want}")).collect();
    tracing::warn!(
        pool,
        reserved,
        wanted = total,
        shares = %shares.join(", "),
        "queue concurrency cut to fit the connection pool; raise DATABASE_MAX_CONNECTIONS to run more jobs at once"
    );
    Ok(fitted)
}

/// How many jobs of the occasional queues (`Job::OCCASIONAL`) run at once in one process,
/// all of them together: their attempts are rare and short, so they share these places
/// instead of taking a connection each from the queues that carry customers' messages.
pub const OCCASIONAL_CONNECTIONS: usize = 2;

/// One queue of a worker process, as [`plan`] reads it.
#[derive(Debug, Clone, Copy)]
pub struct Wanted {
    pub name: &'static str,
    pub concurrency: usize,
    /// `Job::WAITS_OUTSIDE`.
    pub waits_outside: bool,
    /// `Job::OCCASIONAL`.
    pub occasional: bool,
}

/// What [`plan`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Each queue's concurrency, in the order asked.
    pub per_queue: Vec<usize>,
    /// Jobs of the occasional queues at once, all of them together (0: there are none).
    pub occasional: usize,
}

/// Each queue's concurrency: a queue whose jobs wait outside runs `outside` jobs at once
/// and counts as one connection in the fit (its jobs hold one only for short database
/// steps); the occasional queues count together as at most [`OCCASIONAL_CONNECTIONS`]
/// (their jobs then wait for one of those places); the others share what is left of the
/// pool as [`fit_concurrency`] cuts them. `outside == 0` fits every queue to the pool. One
/// log line gives every queue's share.
pub fn plan(wanted: &[Wanted], pool: u32, reserved: u32, outside: usize) -> Result<Planned, PoolFitError> {
    let apart = |w: &Wanted| outside > 0 && w.waits_outside;
    let shared = |w: &Wanted| w.occasional && !apart(w);
    let group: usize = wanted.iter().filter(|w| shared(w)).map(|w| w.concurrency.max(1)).sum();
    let group = group.min(OCCASIONAL_CONNECTIONS);
    let mut asked: Vec<_> = wanted
        .iter()
        .filter(|w| !shared(w))
        .map(|w| (w.name, if apart(w) { 1 } else { w.concurrency }))
        .collect();
    if group > 0 {
        asked.push(("occasional queues", group));
    }
    let mut fitted = fit_concurrency(&asked, pool, reserved)?;
    let occasional = if group > 0 { fitted.pop().unwrap_or(1) } else { 0 };
    let mut others = fitted.into_iter();
    let per_queue: Vec<usize> = wanted
        .iter()
        .map(|w| match (apart(w), shared(w)) {
            (true, _) => {
                others.next();
                outside
            }
            (false, true) => w.concurrency.max(1).min(occasional),
            (false, false) => others.next().unwrap_or(1),
        })
        .collect();
    let shares: Vec<String> = wanted
        .iter()
        .zip(&per_queue)
        .map(|(w, n)| {
            let how = match (apart(w), shared(w)) {
                (true, _) => " (waits outside)",
                (false, true) => " (occasional)",
                _ => "",
            };
            format!("{} {n}{how}", w.name)
        })
        .collect();
    tracing::info!(pool, reserved, occasional, shares = %shares.join(", "), "jobs at once per queue");
    Ok(Planned { per_queue, occasional })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(name: &'static str, concurrency: usize, waits_outside: bool) -> Wanted {
        Wanted { name, concurrency, waits_outside, occasional: false }
    }

    #[test]
    fn a_queue_waiting_outside_runs_its_own_concurrency_and_counts_one_connection() {
        let queues = [w("reply", 4, true), w("inbound", 4, false), w("email", 2, true), w("prune", 1, false)];
        let per_queue = |pool, outside| plan(&queues, pool, 2, outside).map(|p| p.per_queue);
        // 15 - 2 reserved = 13: reply and email count one each, inbound keeps its 4.
        assert_eq!(per_queue(15, 64).unwrap(), vec![64, 4, 64, 1]);
        // 6 - 2 = 4 for four queues: inbound is cut to one, the outside queues are not.
        assert_eq!(per_queue(6, 64).unwrap(), vec![64, 1, 64, 1]);
        // Off: every queue shares the pool, as before.
        assert_eq!(per_queue(6, 0).unwrap(), vec![1, 1, 1, 1]);
        assert!(per_queue(5, 64).is_err(), "still one connection per queue");
    }

    #[test]
    fn occasional_queues_share_their_places_and_leave_the_rest_to_the_busy_ones() {
        let occasional = |name, concurrency| Wanted { occasional: true, ..w(name, concurrency, false) };
        let mut queues = vec![w("inbound", 4, false), w("reply", 4, true)];
        queues.extend(["prune", "billing", "export", "sweep", "delete", "breach"].map(|n| occasional(n, 1)));
        queues.push(occasional("notify", 2));
        // 15 - 2 = 13: one for the replies, two shared by the seven occasional queues,
        // and inbound keeps its 4 (one each would have left it 1).
        let planned = plan(&queues, 15, 2, 64).unwrap();
        assert_eq!(planned.per_queue, vec![4, 64, 1, 1, 1, 1, 1, 1, 2]);
        assert_eq!(planned.occasional, OCCASIONAL_CONNECTIONS);
        // A pool with room for one each of three: the group is cut to one place.
        let planned = plan(&queues, 5, 2, 64).unwrap();
        assert_eq!(planned.per_queue, vec![1, 64, 1, 1, 1, 1, 1, 1, 1]);
        assert_eq!(planned.occasional, 1);
        assert!(plan(&queues, 4, 2, 64).is_err());
    }

    #[test]
    fn concurrency_that_fits_is_kept() {
        assert_eq!(fit_concurrency(&[("a", 4), ("b", 4)], 10, 2).unwrap(), vec![4, 4]);
    }

    #[test]
    fn too_much_concurrency_is_cut_in_proportion_to_exactly_the_pool() {
        let fitted = fit_concurrency(&[("a", 16), ("b", 16), ("c", 1), ("d", 4)], 20, 2).unwrap();
        assert_eq!(fitted.iter().sum::<usize>(), 18);
        assert_eq!(fitted[2], 1);
        assert!(fitted[0] >= 7 && fitted[1] >= 7 && fitted[3] >= 1, "{fitted:?}");
        for (got, want) in fitted.iter().zip([16, 16, 1, 4]) {
            assert!(*got >= 1 && *got <= want);
        }
    }

    #[test]
    fn a_pool_too_small_for_one_job_per_queue_is_refused_with_the_size_needed() {
        let e = fit_concurrency(&[("a", 4), ("b", 4), ("c", 1)], 4, 2).unwrap_err();
        assert_eq!(e.needed, 5);
        assert!(e.to_string().contains("DATABASE_MAX_CONNECTIONS=4"));
    }
}
