//! The live inbox's open streams, counted, so that no account can hold the server with
//! them: a process keeps at most `max` streams (a budget of their own, apart from the
//! connections that serve requests: `capacity::Slot`); a session keeps at most
//! [`PER_SESSION`] and a user [`PER_USER`] (opening one more ends the oldest, so a reload
//! or a new tab always works); a business keeps at most [`PER_TENANT`] (one more is
//! refused). Any stream can be ended from outside: by a newer one taking its place, by its
//! session signing out ([`Streams::end_session`]) or when its session or access has ended
//! ([`Streams::keep_sessions`], which `live` calls with what the database still allows).

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, MutexGuard},
};

use mujibak_core::domain::{TenantId, UserId};
use tokio::sync::oneshot;

/// Streams one session keeps (its tabs).
pub const PER_SESSION: usize = 3;
/// Streams one user keeps, over every session (browsers, devices).
pub const PER_USER: usize = 6;
/// Streams one business keeps, over its whole team.
pub const PER_TENANT: usize = 30;

/// Whose stream it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub session: Vec<u8>,
    pub user: UserId,
    pub tenant: TenantId,
}

/// Why a stream was not opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The process's stream budget is spent.
    Busy,
    /// The business has [`PER_TENANT`] streams open.
    TenantFull,
}

struct Entry {
    id: u64,
    owner: Owner,
    end: oneshot::Sender<()>,
}

#[derive(Default)]
struct Inner {
    next: u64,
    /// Oldest first.
    open: Vec<Entry>,
}

/// The process's open streams.
#[derive(Clone)]
pub struct Streams {
    inner: Arc<Mutex<Inner>>,
    max: usize,
}

/// An open stream's place: it ends when `ended` resolves, and leaves the count when dropped.
pub struct Ticket {
    id: u64,
    streams: Streams,
    pub ended: oneshot::Receiver<()>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.streams.lock().open.retain(|e| e.id != self.id);
    }
}

impl Streams {
    /// At most `max` streams at once.
    pub fn new(max: usize) -> Self {
        Self { inner: Arc::default(), max }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a stream for `owner`, ending its session's or user's oldest beyond their caps.
    pub fn open(&self, owner: Owner) -> Result<Ticket, Refused> {
        let mut inner = self.lock();
        if inner.open.iter().filter(|e| e.owner.tenant == owner.tenant).count() >= PER_TENANT {
            return Err(Refused::TenantFull);
        }
        end_oldest_beyond(&mut inner.open, PER_SESSION - 1, |e| e.owner.session == owner.session);
        end_oldest_beyond(&mut inner.open, PER_USER - 1, |e| e.owner.user == owner.user);
        if inner.open.len() >= self.max {
            return Err(Refused::Busy);
        }
        inner.next += 1;
        let id = inner.next;
        let (end, ended) = oneshot::channel();
        inner.open.push(Entry { id, owner, end });
        Ok(Ticket { id, streams: self.clone(), ended })
    }

    /// How many streams are open.
    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sessions with a stream open.
    pub fn sessions(&self) -> Vec<Vec<u8>> {
        let set: HashSet<Vec<u8>> = self.lock().open.iter().map(|e| e.owner.session.clone()).collect();
        set.into_iter().collect()
    }

    /// Ends the streams of `session` (it signed out).
    pub fn end_session(&self, session: &[u8]) -> usize {
        end_where(&mut self.lock().open, |e| e.owner.session == session)
    }

    /// Ends every stream whose session is not in `allowed`; how many ended.
    pub fn keep_sessions(&self, asked: &[Vec<u8>], allowed: &HashSet<Vec<u8>>) -> usize {
        end_where(&mut self.lock().open, |e| {
            asked.contains(&e.owner.session) && !allowed.contains(&e.owner.session)
        })
    }
}

/// Ends the oldest entries matching `of` until at most `keep` of them remain.
fn end_oldest_beyond(open: &mut Vec<Entry>, keep: usize, of: impl Fn(&Entry) -> bool) {
    let mut extra = open.iter().filter(|e| of(e)).count().saturating_sub(keep);
    end_where(open, |e| {
        let end = extra > 0 && of(e);
        extra -= usize::from(end);
        end
    });
}

/// Removes and ends the entries matching `which`; how many.
fn end_where(open: &mut Vec<Entry>, mut which: impl FnMut(&Entry) -> bool) -> usize {
    let mut ended = 0;
    let mut kept = Vec::with_capacity(open.len());
    for entry in open.drain(..) {
        if which(&entry) {
            let _ = entry.end.send(());
            ended += 1;
        } else {
            kept.push(entry);
        }
    }
    *open = kept;
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(session: u8, user: UserId, tenant: TenantId) -> Owner {
        Owner { session: vec![session], user, tenant }
    }

    fn ended(t: &mut Ticket) -> bool {
        !matches!(t.ended.try_recv(), Err(oneshot::error::TryRecvError::Empty))
    }

    #[test]
    fn a_session_and_a_user_keep_their_newest_streams_and_a_tenant_is_capped() {
        let (streams, tenant, user) = (Streams::new(100), TenantId::new(), UserId::new());
        let mut first: Vec<Ticket> =
            (0..PER_SESSION + 2).map(|_| streams.open(owner(1, user, tenant)).unwrap()).collect();
        // The session's two oldest ended; its newest are open.
        assert!(ended(&mut first[0]) && ended(&mut first[1]));
        assert!(!ended(&mut first[2]));
        assert_eq!(streams.len(), PER_SESSION);
        // Other sessions of the same user push the user's oldest out.
        let _more: Vec<Ticket> =
            (2..2 + PER_USER as u8).map(|s| streams.open(owner(s, user, tenant)).unwrap()).collect();
        assert_eq!(streams.len(), PER_USER);
        assert!(first.iter_mut().all(ended));
        // Other users fill the business up to its cap; one more is refused.
        let mut others = Vec::new();
        for session in 100..(100 + PER_TENANT - PER_USER) as u8 {
            others.push(streams.open(owner(session, UserId::new(), tenant)).unwrap());
        }
        assert_eq!(streams.len(), PER_TENANT);
        assert_eq!(streams.open(owner(201, UserId::new(), tenant)).err(), Some(Refused::TenantFull));
        // Another business is not affected; a dropped ticket frees its place.
        assert!(streams.open(owner(202, UserId::new(), TenantId::new())).is_ok());
        others.pop();
        assert!(streams.open(owner(203, UserId::new(), tenant)).is_ok());
    }

    #[test]
    fn the_budget_is_the_processs_and_ended_sessions_lose_their_streams() {
        let streams = Streams::new(2);
        let mut a = streams.open(owner(1, UserId::new(), TenantId::new())).unwrap();
        let mut b = streams.open(owner(2, UserId::new(), TenantId::new())).unwrap();
        assert_eq!(streams.open(owner(3, UserId::new(), TenantId::new())).err(), Some(Refused::Busy));
        let allowed: HashSet<Vec<u8>> = [vec![2]].into();
        assert_eq!(streams.keep_sessions(&streams.sessions(), &allowed), 1);
        assert!(ended(&mut a) && !ended(&mut b));
        assert_eq!(streams.end_session(&[2]), 1);
        assert!(streams.is_empty());
    }
}
