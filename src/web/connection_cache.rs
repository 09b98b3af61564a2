//! The webhook path's cache of connections by URL key: every delivery names its
//! connection, and Meta sends many a second per number, so each web process keeps the
//! rows it looked up for [`TTL`] instead of asking Postgres on every delivery. A change
//! to a connection (a new app secret, a disconnect) reaches a web process within `TTL`;
//! meanwhile a delivery signed with the new secret is refused with a 401, which Meta
//! retries, so nothing is lost. Keys naming no connection are not cached (a 404 asks the
//! database every time: it is not the path that needs to be fast).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use mujibak_core::db::connections::{self as db, Connection};
use sqlx::PgPool;

/// How long a looked-up connection is used without asking again.
pub const TTL: Duration = Duration::from_secs(5);

/// Entries kept at most; the cache is emptied when it would grow past this.
const CAPACITY: usize = 10_000;

/// Connections by webhook key, each with when it was read.
#[derive(Debug, Default)]
pub struct ConnectionCache {
    entries: Mutex<HashMap<String, (Connection, Instant)>>,
}

impl ConnectionCache {
    /// The connection `key` names, from the cache if read within [`TTL`].
    pub async fn get(&self, db: &PgPool, key: &str) -> Result<Option<Connection>, sqlx::Error> {
        if let Some((conn, at)) = self.lock().get(key) {
            if at.elapsed() < TTL {
                return Ok(Some(conn.clone()));
            }
        }
        let found = db::by_webhook_key(db, key).await?;
        let mut entries = self.lock();
        match &found {
            Some(conn) => {
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
                entries.insert(key.to_owned(), (conn.clone(), Instant::now()));
            }
            None => {
                entries.remove(key);
            }
        }
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Connection, Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
