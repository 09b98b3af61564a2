//! Extractors: [`Page`] (what every page handler renders with; for a signed-in user it also
//! loads the security incident banners of the user's tenant), [`CurrentUser`] (signed in,
//! else off to sign-in), [`Owner`] (owner-only pages: 403 for agents) and [`ClientIp`].
//! The tenant of every query comes from `CurrentUser`, never from the request.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Path},
    http::{request::Parts, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
};
use mujibak_core::{
    db::users::User,
    domain::{IncidentId, Role, TenantId},
    incidents,
};
use serde::Serialize;

use super::{
    error::WebError,
    session::SessionCtx,
    views::{Chrome, ChromeUser, FlashView, Views},
};
use crate::state::AppState;

/// Layout data for `ctx`.
pub fn chrome(state: &AppState, ctx: &SessionCtx, path: &str) -> Chrome {
    chrome_with(state, ctx, path, Vec::new(), Vec::new())
}

fn chrome_with(
    state: &AppState,
    ctx: &SessionCtx,
    path: &str,
    alerts: Vec<String>,
    incidents: Vec<IncidentId>,
) -> Chrome {
    Chrome {
        lang: ctx.locale.as_str(),
        dir: ctx.locale.dir(),
        csrf: ctx.csrf.clone(),
        path: path.to_owned(),
        user: ctx.user.as_ref().map(|u| ChromeUser {
            name: u.name.clone(),
            is_owner: u.role == Role::Owner,
            email_verified: u.email_verified,
        }),
        flash: ctx
            .flash
            .iter()
            .map(|(kind, key)| FlashView { kind: kind.clone(), text: state.views.text(ctx.locale, key) })
            .collect(),
        support_email: state.config.mail.support_address.clone(),
        sandbox: state.sandbox,
        alerts,
        incidents,
        calendar: if ctx.user.as_ref().is_some_and(|u| u.hijri) { "hijri" } else { "gregorian" },
    }
}

/// A page being answered: the session, the app state, the path, and messages to show atop
/// the page when it renders.
pub struct Page {
    pub state: AppState,
    pub session: SessionCtx,
    pub path: String,
    alerts: std::sync::Mutex<Vec<String>>,
    /// Security incidents whose banner the signed-in user sees.
    incidents: Vec<IncidentId>,
}

impl Page {
    /// Renders `template` with `data` inside the layout.
    pub fn render(&self, template: &str, data: &impl Serialize) -> Result<Html<String>, WebError> {
        let alerts = self.alerts.lock().map(|a| a.clone()).unwrap_or_default();
        let chrome = chrome_with(&self.state, &self.session, &self.path, alerts, self.incidents.clone());
        Ok(Html(self.state.views.render(template, data, &chrome)?))
    }

    /// Shows the catalog text `key` atop this page (an error about the whole form).
    pub fn alert(&self, key: &str) {
        self.alert_text(self.text(key));
    }

    /// An alert atop the page, already in the page's language.
    pub fn alert_text(&self, text: String) {
        if let Ok(mut alerts) = self.alerts.lock() {
            if !alerts.contains(&text) {
                alerts.push(text);
            }
        }
    }
}

impl FromRequestParts<AppState> for Page {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let session = parts
            .extensions
            .get::<SessionCtx>()
            .cloned()
            .ok_or_else(|| WebError::Internal(anyhow::anyhow!("no session on a page route")))?;
        let incidents = match &session.user {
            Some(user) => incidents::banners(&mut *state.db.acquire().await?, user.tenant_id).await?,
            None => Vec::new(),
        };
        Ok(Page {
            state: state.clone(),
            session,
            path: parts.uri.path().to_owned(),
            alerts: Default::default(),
            incidents,
        })
    }
}

/// The signed-in user; signed-out visitors are sent to sign in and brought back.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, WebError> {
        let next = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
        parts
            .extensions
            .get::<SessionCtx>()
            .and_then(|s| s.user.clone())
            .map(CurrentUser)
            .ok_or(WebError::SignInRequired(next))
    }
}

/// The tenant of the signed-in user: the only source of a tenant id for tenant-owned queries.
pub struct CurrentTenant(pub TenantId);

impl FromRequestParts<AppState> for CurrentTenant {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        Ok(CurrentTenant(user.tenant_id))
    }
}

/// The signed-in owner of the tenant; agents get 403.
pub struct Owner(pub User);

impl FromRequestParts<AppState> for Owner {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.role == Role::Owner {
            Ok(Owner(user))
        } else {
            Err(WebError::Forbidden)
        }
    }
}

/// The client's address: the socket peer, or with `TRUST_PROXY` the last
/// `X-Forwarded-For` hop (what Heroku's router appends; earlier hops are the client's own
/// word). An IPv6 address stands for its /64, which one client usually holds whole.
pub struct ClientIp(pub String);

fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// The client of a request from `peer` with `headers` (see [`ClientIp`]).
pub fn client_of(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> Option<String> {
    if trust_proxy {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        if let Some(ip) = forwarded {
            return Some(client_key(ip));
        }
    }
    peer.map(|p| client_key(p.ip()))
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        // Every connection carries its peer (`web::serve`); without one, refuse rather than
        // put every client in one bucket.
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        client_of(&parts.headers, peer, state.config.session.trust_proxy)
            .map(ClientIp)
            .ok_or_else(|| WebError::Internal(anyhow::anyhow!("no peer address on the request")))
    }
}

/// An id in the path (`/replies/{id}/delete`), parsed: one that does not parse is a page
/// that does not exist (404), like an id of another business.
pub struct PathId<T>(pub T);

impl<T, S> FromRequestParts<S> for PathId<T>
where
    T: std::str::FromStr + Send,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, WebError> {
        let Path(raw) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|_| WebError::NotFound)?;
        raw.parse().map(PathId).map_err(|_| WebError::NotFound)
    }
}

/// The error page for `status` with message `key`, in the visitor's language.
pub fn render_error_page(
    state: &AppState,
    ctx: &SessionCtx,
    status: StatusCode,
    key: &'static str,
    path: &str,
) -> Response {
    #[derive(serde::Serialize)]
    struct ErrorView {
        status: u16,
        key: &'static str,
    }
    let view = ErrorView { status: status.as_u16(), key };
    let body =
        state.views.render("errors/error.html", &view, &chrome(state, ctx, path)).unwrap_or_else(|e| {
            tracing::error!(error = ?e, "error page failed to render");
            Views::FALLBACK_ERROR.to_owned()
        });
    (status, Html(body)).into_response()
}
