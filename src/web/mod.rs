//! The axum router: every area's `routes()` merged (only through `routes::Routes`, so every
//! route is in the table `routes::ROUTES`), then the layers every response passes:
//! security headers (outermost, so error pages get them too), trace, timeout, body limit,
//! and sessions + CSRF (the ops console has its own staff sessions: `ops::auth`).
//! `server.rs` serves it.

mod account;
mod auth;
pub mod background;
mod billing;
pub mod capacity;
pub mod connection_cache;
mod csrf;
mod customer_data;
mod email;
pub mod error;
mod export;
pub mod extract;
mod follow_up;
mod forms;
mod gate;
mod health;
mod inbox;
mod inbox_events;
mod incidents;
pub mod input;
mod invoice;
pub mod limits;
pub mod live;
pub mod next;
pub mod ops;
pub(crate) mod origin;
mod pages;
mod payments;
mod profile;
pub mod routes;
#[cfg(feature = "dev")]
mod sandbox;
mod server;
pub mod session;
mod settings;
pub mod streams;
mod team;
mod team_inbox;
mod thread_view;
mod usage;
pub mod views;
pub mod webhook_body;
mod webhooks;

use std::time::Duration;

use axum::{
    extract::DefaultBodyLimit,
    http::{header, HeaderName, HeaderValue, StatusCode},
    middleware, Router,
};
use tower::ServiceBuilder;
use tower_http::{set_header::SetResponseHeaderLayer, timeout::TimeoutLayer, trace::TraceLayer};

pub use error::WebError;
pub use server::{serve, serve_app, ServeLimits};

use crate::state::AppState;

/// Largest request body accepted anywhere but the WhatsApp webhooks (which take
/// `webhook_body::WEBHOOK_BODY_LIMIT`).
pub const BODY_LIMIT: usize = 256 * 1024;

/// Content-Security-Policy: our own origin only, no inline script, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
    frame-ancestors 'none'";

/// The production router.
pub fn router(state: AppState) -> Router {
    router_and_paths(state).0
}

/// The production router, and the route paths it serves (the security suite checks them
/// against `routes::ROUTES`).
pub fn router_and_paths(state: AppState) -> (Router, Vec<&'static str>) {
    let hsts =
        state.config.http.is_https().then(|| HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    #[cfg(feature = "dev")]
    let sandbox = if state.sandbox { sandbox::routes() } else { routes::Routes::new() };
    #[cfg(not(feature = "dev"))]
    let sandbox = routes::Routes::new();
    let (pages, mut paths) = routes::Routes::new()
        .merge(sandbox)
        .merge(pages::routes())
        .merge(auth::routes())
        .merge(email::routes())
        .merge(profile::routes())
        .merge(account::routes())
        .merge(export::routes())
        .merge(billing::routes())
        .merge(invoice::routes())
        .merge(team::routes())
        .merge(settings::routes())
        .merge(inbox::routes())
        .merge(follow_up::routes())
        .merge(incidents::routes())
        .into_parts();
    let pages = pages
        .fallback(|| async { WebError::NotFound })
        .layer(middleware::from_fn_with_state(state.clone(), session::middleware));
    let (outside, more) = health::routes()
        .merge(webhooks::routes())
        .merge(payments::routes())
        .merge(ops::routes(&state))
        .into_parts();
    paths.extend(more);
    let router = outside
        .merge(pages)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(15)))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(
            ServiceBuilder::new()
                .layer(header_layer(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
                .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
                .layer(header_layer(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
                .layer(header_layer(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
                .layer(header_layer(
                    HeaderName::from_static("permissions-policy"),
                    HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(header::STRICT_TRANSPORT_SECURITY, hsts)),
        )
        .with_state(state);
    (router, paths)
}

/// The request's span names the route pattern, never the URI: paths and queries can hold
/// search terms, phone numbers or a webhook's secret key.
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = req.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned());
    tracing::info_span!("request", method = %req.method(), route = route.as_deref().unwrap_or("unmatched"))
}

fn header_layer(name: HeaderName, value: HeaderValue) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, value)
}
