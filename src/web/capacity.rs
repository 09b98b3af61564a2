//! What one connection holds of the server's capacity, and who holds it. The server
//! (`server.rs`) gives each connection a [`Slot`]: a place among the connections that serve
//! requests, or one of the few reserved for Meta's webhooks and health checks (a connection
//! in a reserved place is answered 503 for anything else). A live stream frees its
//! connection's place (`Slot::release`): streams count against their own budget
//! (`streams`). [`Clients`] counts each client's open connections (the peer address, or
//! behind Heroku's router the last `X-Forwarded-For` hop of the connection's first
//! request), so that one client past its cap is answered 503 and closed while everyone
//! else is served; when the server's bound is hit, the top clients are logged.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    body::Body,
    http::{header, HeaderValue, Response, StatusCode},
};
use tokio::sync::OwnedSemaphorePermit;

/// Paths served even on a reserved connection: Meta's webhooks and the probes.
pub fn essential(path: &str) -> bool {
    path.starts_with("/webhooks/") || path == "/healthz" || path == "/readyz"
}

/// A connection's place, seen by handlers as a request extension.
#[derive(Clone)]
pub struct Slot(Arc<SlotInner>);

struct SlotInner {
    permit: Mutex<Option<OwnedSemaphorePermit>>,
    reserved: bool,
    client: Mutex<Option<ClientGuard>>,
}

impl Slot {
    /// A connection holding `permit`; `reserved` if it is one of the reserved places.
    pub fn new(permit: OwnedSemaphorePermit, reserved: bool) -> Self {
        Self(Arc::new(SlotInner { permit: Mutex::new(Some(permit)), reserved, client: Mutex::default() }))
    }

    /// Whether the connection took a reserved place (only essential paths are served).
    pub fn reserved(&self) -> bool {
        self.0.reserved
    }

    /// Gives the connection's place back: it now holds a live stream, counted apart, and
    /// closes when the stream ends.
    pub fn release(&self) {
        lock(&self.0.permit).take();
    }

    /// Counts the connection for `client` once (at its first request); `false` if the
    /// client is past its cap.
    pub fn attribute(&self, clients: &Arc<Clients>, client: &str) -> bool {
        let mut held = lock(&self.0.client);
        if held.is_some() {
            return true;
        }
        match clients.enter(client) {
            Some(guard) => {
                *held = Some(guard);
                true
            }
            None => false,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Open connections by client.
pub struct Clients {
    open: Mutex<HashMap<String, usize>>,
    cap: usize,
}

/// One connection counted for a client; uncounted when dropped.
struct ClientGuard {
    clients: Arc<Clients>,
    key: String,
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        let mut open = lock(&self.clients.open);
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl Clients {
    /// At most `cap` open connections per client.
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self { open: Mutex::default(), cap })
    }

    fn enter(self: &Arc<Self>, key: &str) -> Option<ClientGuard> {
        let mut open = lock(&self.open);
        let n = open.entry(key.to_owned()).or_default();
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        Some(ClientGuard { clients: self.clone(), key: key.to_owned() })
    }

    /// The `n` clients with the most open connections, most first.
    pub fn top(&self, n: usize) -> Vec<(String, usize)> {
        let mut all: Vec<(String, usize)> = lock(&self.open).iter().map(|(k, v)| (k.clone(), *v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }
}

/// 503, try again in a second, and close the connection.
pub fn busy() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The top clients as one log field: `a.b.c.d=12 e.f.g.h=3`.
pub fn describe(top: &[(String, usize)]) -> String {
    top.iter().map(|(k, n)| format!("{k}={n}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_past_its_cap_is_refused_and_a_closed_connection_frees_its_place() {
        let clients = Clients::new(2);
        let semaphore = Arc::new(tokio::sync::Semaphore::new(10));
        let slots: Vec<Slot> =
            (0..3).map(|_| Slot::new(semaphore.clone().try_acquire_owned().unwrap(), false)).collect();
        assert!(slots[0].attribute(&clients, "10.0.0.1") && slots[0].attribute(&clients, "10.0.0.1"));
        assert!(slots[1].attribute(&clients, "10.0.0.1"));
        assert!(!slots[2].attribute(&clients, "10.0.0.1"), "a third connection of the client");
        assert!(slots[2].attribute(&clients, "10.0.0.2"), "another client");
        assert_eq!(describe(&clients.top(5)), "10.0.0.1=2 10.0.0.2=1");
        drop(slots);
        assert!(clients.top(5).is_empty());
        assert_eq!(semaphore.available_permits(), 10);
    }
}
