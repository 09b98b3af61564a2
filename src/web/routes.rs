//! Every route of the app in one table, [`ROUTES`]: its path, methods, who may use it and
//! the fields its handlers read. The router is built only through [`Routes::route`], which
//! refuses (at start-up, so in every test) a path the table does not list, and the security
//! suite (`tests/api/route_suite`) generates its cases from the table and checks the
//! router serves exactly it: a route cannot be added without an entry, nor an entry
//! without its cases.

use axum::{routing::MethodRouter, Router};

use mujibak_core::ops::Scope;

use crate::state::AppState;

/// Who a route is for (the security suite derives its expected answers from this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Probes and assets: no session, anyone.
    Open,
    /// Pages and forms for anyone, signed in or not.
    Public,
    /// An emailed link: its token is the key (unknown, used or expired: 410).
    Link,
    /// Signed-in users of any role; tenant-owned ids of another tenant: 404.
    SignedIn,
    /// The tenant's owner: agents get 403.
    Owner,
    /// Meta's and Moyasar's webhooks: a URL key, a signature or a secret token, never a session.
    Webhook,
    /// `mujibak dev` only, the owner.
    Sandbox,
    /// The ops console and its JSON API: a staff token (Bearer) or a console session, with
    /// this scope (no credentials or a dead token: 401; a token without it: 403).
    Staff(Scope),
    /// The ops console's sign-in and sign-out: no credentials needed.
    StaffSignIn,
}

impl Access {
    /// The ops console's routes (staff credentials, or its own sign-in).
    pub fn is_staff(self) -> bool {
        matches!(self, Access::Staff(_) | Access::StaffSignIn)
    }
}

/// One route of the table.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub access: Access,
    /// The fields its handlers read: the form of its POST, or the query of its GET.
    pub fields: &'static [&'static str],
}

const fn r(
    path: &'static str,
    methods: &'static [&'static str],
    access: Access,
    fields: &'static [&'static str],
) -> RouteSpec {
    RouteSpec { path, methods, access, fields }
}

const G: &[&str] = &["GET"];
const P: &[&str] = &["POST"];
const GP: &[&str] = &["GET", "POST"];
const NONE: &[&str] = &[];
const BOT: &[&str] = &[
    "enabled",
    "description",
    "instructions",
    "knowledge",
    "reply_language",
    "hours_sat",
    "hours_sun",
    "hours_mon",
    "hours_tue",
    "hours_wed",
    "hours_thu",
    "hours_fri",
    "away_message",
    "away_mode",
    "handoff_message",
    "handoff_phrases",
    "handoff_email_minutes",
    "fallback_message",
    "welcome_message",
    "model",
    "media_understanding",
];

/// Every route.
pub const ROUTES: &[RouteSpec] = &[
    r("/healthz", G, Access::Open, NONE),
    r("/readyz", G, Access::Open, NONE),
    r("/static/app.css", G, Access::Open, NONE),
    r("/static/inbox.js", G, Access::Open, NONE),
    r("/static/copy.js", G, Access::Open, NONE),
    r("/webhooks/whatsapp/{key}", GP, Access::Webhook, NONE),
    r("/webhooks/moyasar", P, Access::Webhook, NONE),
    r("/webhooks/moyasar/invoice", P, Access::Webhook, NONE),
    r("/", G, Access::Public, NONE),
    r("/privacy", G, Access::Public, NONE),
    r("/privacy/processors", G, Access::Public, NONE),
    r("/lang", P, Access::Public, &["lang", "next"]),
    r("/signup", GP, Access::Public, &["name", "email", "business_name", "password", "locale"]),
    r("/signin", GP, Access::Public, &["email", "password", "next"]),
    r("/signout", P, Access::Public, NONE),
    r("/forgot", GP, Access::Public, &["email"]),
    r("/reset/{token}", GP, Access::Link, &["password"]),
    r("/verify/{token}", GP, Access::Link, NONE),
    r("/profile/email/{token}", GP, Access::Link, NONE),
    r("/profile/email/revert/{token}", GP, Access::Link, &["password"]),
    r("/invite/{token}", GP, Access::Link, &["name", "password", "locale"]),
    r("/dashboard", G, Access::SignedIn, NONE),
    r("/verify/resend", P, Access::SignedIn, NONE),
    r(
        "/profile",
        GP,
        Access::SignedIn,
        &["name", "email", "business_name", "locale", "calendar", "current_password"],
    ),
    r("/password", GP, Access::SignedIn, &["current_password", "new_password"]),
    r("/inbox", G, Access::SignedIn, &["q", "before", "filter", "label"]),
    r("/inbox/rows", G, Access::SignedIn, &["q", "before", "filter", "label"]),
    r("/inbox/events", G, Access::SignedIn, NONE),
    r("/inbox/{id}", G, Access::SignedIn, NONE),
    r("/inbox/{id}/thread", G, Access::SignedIn, NONE),
    r("/inbox/{id}/media/{message}", G, Access::SignedIn, NONE),
    r("/inbox/{id}/pause", P, Access::SignedIn, NONE),
    r("/inbox/{id}/resume", P, Access::SignedIn, NONE),
    r("/inbox/{id}/reply", P, Access::SignedIn, &["text"]),
    r(
        "/inbox/{id}/template",
        GP,
        Access::SignedIn,
        &["template", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10"],
    ),
    r("/inbox/{id}/assign", P, Access::SignedIn, &["user"]),
    r("/inbox/{id}/notes", P, Access::SignedIn, &["note"]),
    r("/inbox/{id}/labels", P, Access::SignedIn, &["labels"]),
    r("/inbox/{id}/export", P, Access::Owner, NONE),
    r("/inbox/{id}/erase", GP, Access::Owner, &["reason"]),
    r("/incidents/{incident}", G, Access::SignedIn, NONE),
    r("/account/delete", GP, Access::Owner, &["password"]),
    r("/account/deletion", G, Access::Owner, NONE),
    r("/account/deletion/cancel", P, Access::Owner, &["password"]),
    r("/account/export", GP, Access::Owner, NONE),
    r("/account/export/{export}/download", G, Access::Owner, NONE),
    r("/billing", G, Access::Owner, &["paid"]),
    r("/billing/plan", P, Access::Owner, &["plan"]),
    r("/billing/invoices/{invoice}", G, Access::Owner, NONE),
    r("/billing/invoices/{invoice}/pdf", G, Access::Owner, NONE),
    r("/team", G, Access::Owner, NONE),
    r("/team/invite", P, Access::Owner, &["email"]),
    r("/team/{user_id}/remove", GP, Access::Owner, NONE),
    r("/team/invitations/revoke", P, Access::Owner, &["email"]),
    r(
        "/settings/whatsapp",
        GP,
        Access::Owner,
        &["phone_number_id", "waba_id", "display_number", "access_token", "app_secret"],
    ),
    r("/settings/whatsapp/check", P, Access::Owner, NONE),
    r("/settings/whatsapp/token", P, Access::Owner, &["access_token"]),
    r("/settings/whatsapp/disconnect", GP, Access::Owner, NONE),
    r("/settings/bot", GP, Access::Owner, BOT),
    r("/settings/bot/try", P, Access::Owner, &["question", "samples"]),
    r("/settings/knowledge", G, Access::Owner, NONE),
    r("/settings/knowledge/faq", P, Access::Owner, &["question", "answer"]),
    r("/settings/knowledge/documents", P, Access::Owner, &["title", "text"]),
    r("/settings/knowledge/{id}/delete", P, Access::Owner, NONE),
    r("/settings/replies", GP, Access::Owner, &["shortcut", "body"]),
    r("/settings/replies/{id}/delete", P, Access::Owner, NONE),
    r("/sandbox/simulator", GP, Access::Sandbox, &["phone", "name", "text"]),
    r("/sandbox/billing/run", P, Access::Sandbox, NONE),
    r("/sandbox/connect", P, Access::Sandbox, NONE),
    r("/static/ops.js", G, Access::Open, NONE),
    r("/ops/signin", GP, Access::StaffSignIn, &["token"]),
    r("/ops/signout", P, Access::StaffSignIn, NONE),
    r("/ops", G, Access::Staff(Scope::OpsRead), NONE),
    r("/ops/queues", G, Access::Staff(Scope::OpsRead), NONE),
    r("/ops/jobs", G, Access::Staff(Scope::OpsRead), &["queue", "state", "tenant"]),
    r("/ops/jobs/{job}", G, Access::Staff(Scope::OpsRead), NONE),
    r("/ops/jobs/{job}/retry", P, Access::Staff(Scope::OpsWrite), NONE),
    r("/ops/jobs/{job}/cancel", P, Access::Staff(Scope::OpsWrite), NONE),
    r("/ops/jobs/{job}/discard", P, Access::Staff(Scope::OpsWrite), NONE),
    r("/ops/deliveries", G, Access::Staff(Scope::OpsRead), &["tenant"]),
    r("/ops/deliveries/{tenant}/{event}/reprocess", P, Access::Staff(Scope::OpsWrite), NONE),
    r("/ops/deliveries/{tenant}/{event}/handled", P, Access::Staff(Scope::OpsWrite), NONE),
    r("/ops/tenants", G, Access::Staff(Scope::OpsRead), &["q"]),
    r("/ops/tenants/{tenant}", G, Access::Staff(Scope::OpsRead), NONE),
    r("/ops/tenants/{tenant}/conversations", G, Access::Staff(Scope::SupportRead), &["reason"]),
    r("/ops/tenants/{tenant}/conversations/{id}", G, Access::Staff(Scope::SupportRead), &["reason"]),
    r("/ops/tenants/{tenant}/suspend", P, Access::Staff(Scope::TenantsWrite), &["reason"]),
    r("/ops/tenants/{tenant}/unsuspend", P, Access::Staff(Scope::TenantsWrite), NONE),
    r("/ops/tenants/{tenant}/delete", P, Access::Staff(Scope::TenantsWrite), &["reason"]),
    r(
        "/ops/incidents",
        GP,
        Access::Staff(Scope::IncidentsWrite),
        &["title", "description_ar", "description_en", "detected_at", "affects", "tenants"],
    ),
    r("/ops/incidents/new", G, Access::Staff(Scope::IncidentsWrite), NONE),
    r("/ops/incidents/{incident}", G, Access::Staff(Scope::IncidentsWrite), NONE),
    r("/ops/incidents/{incident}/notify", P, Access::Staff(Scope::IncidentsWrite), NONE),
    r("/ops/audit", G, Access::Staff(Scope::OpsRead), &["tenant", "actor", "action", "before"]),
    r("/metrics", G, Access::Staff(Scope::OpsRead), NONE),
];

/// The scope `path` needs, if it is a staff route.
pub fn scope(path: &str) -> Option<Scope> {
    match spec(path)?.access {
        Access::Staff(scope) => Some(scope),
        _ => None,
    }
}

/// The table's entry for `path`.
pub fn spec(path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.path == path)
}

/// A router being built, and the paths it was given.
pub struct Routes {
    router: Router<AppState>,
    paths: Vec<&'static str>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self { router: Router::new(), paths: Vec::new() }
    }

    /// Adds `path`, which must be in [`ROUTES`] (a route missing from it stops the app).
    pub fn route(mut self, path: &'static str, handlers: MethodRouter<AppState>) -> Self {
        assert!(spec(path).is_some(), "route {path} has no entry in web::routes::ROUTES");
        self.router = self.router.route(path, handlers);
        self.paths.push(path);
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.extend(other.paths);
        self
    }

    /// Applies `f` to the router built so far (layers, fallbacks).
    pub fn map(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<&'static str>) {
        (self.router, self.paths)
    }
}
