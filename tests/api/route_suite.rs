//! The security suite, generated from the router's own route list (`web::routes::ROUTES`,
//! which the router is built from): every route for every kind of visitor (`matrix`), CSRF
//! on every state-changing route (`csrf`), and hostile text in every field (`injection`).
//! A route added to the table without its expectations here fails `matrix`; a route served
//! without an entry in the table stops the app (and so every test).

mod csrf;
mod injection;
mod matrix;

use mujibak::web::routes::{Access, ROUTES};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    pipeline::{text, Options, Pipeline},
    web::{link_path, mail_to, verify_email, Browser, PASSWORD},
};

/// Tenant A (owner, agent, connected number, a conversation) and tenant B's owner.
pub struct World {
    pub p: Pipeline,
    pub anonymous: Browser,
    pub other: Browser,
    pub agent: Browser,
    pub conversation: String,
    pub agent_id: String,
    pub webhook_key: String,
    /// Mujibak staff, signed in to the ops console with every scope.
    pub staff: Browser,
}

impl World {
    pub async fn start(pool: PgPool) -> Self {
        let p = Pipeline::start_opts(
            pool,
            "owner@a.example",
            "PN-A",
            Options {
                dev: true,
                vars: &[
                    ("MOYASAR_SECRET_KEY", "sk_test_route_suite_key"),
                    ("MOYASAR_WEBHOOK_SECRET", "route-suite-webhook-secret"),
                ],
                ..Options::default()
            },
        )
        .await;
        assert_eq!(p.deliver(&text("PN-A", "wamid.S1", "966500000001", "Hello", 1)).await, StatusCode::OK);
        p.until_count("select count(*) from conversations", 1).await;
        let conversation = p.conversation_id().await;
        p.owner.get("/team").await;
        p.owner.post("/team/invite", &[("email", "agent@a.example")]).await;
        let link = link_path(&mail_to(&p.mail, "agent@a.example", "/invite/").await.1, "/invite/");
        let agent = Browser::with_headers(p.addr, &[("accept-language", "en")]);
        let joined =
            agent.post(&link, &[("name", "Agent A"), ("password", PASSWORD), ("locale", "en")]).await;
        assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
        let other = Browser::with_headers(p.addr, &[("accept-language", "en")]);
        other.sign_up("Owner B", "owner@b.example", "Tenant B", "en").await;
        verify_email(&other, &p.mail, "owner@b.example").await;
        let agent_id = sqlx::query_scalar("select user_id::text from users where email = 'agent@a.example'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
        let webhook_key = p.webhook_url.rsplit('/').next().unwrap().to_owned();
        let anonymous = Browser::with_headers(p.addr, &[("accept-language", "en")]);
        let scopes = mujibak_core::ops::Scope::ALL.map(|s| s.as_str()).join(",");
        let token = crate::ops::token(&p.pool, "suite", &scopes).await;
        let staff = Browser::new(p.addr);
        assert_eq!(staff.post_raw("/ops/signin", &[("token", &token)]).await.status, StatusCode::SEE_OTHER);
        staff.get("/ops/queues").await;
        Self { p, anonymous, other, agent, conversation, agent_id, webhook_key, staff }
    }

    /// `pattern` with tenant A's ids (and an unknown token) in its parameters.
    pub fn url(&self, pattern: &str) -> String {
        pattern
            .replace("{key}", &self.webhook_key)
            .replace("{token}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .replace("{id}", &self.conversation)
            .replace("{user_id}", &self.agent_id)
            .replace("{job}", "job-1")
            .replace("{export}", "00000000-0000-0000-0000-000000000002")
            .replace("{message}", "00000000-0000-0000-0000-000000000004")
            .replace("{invoice}", "00000000-0000-0000-0000-000000000003")
            .replace("{event}", "00000000-0000-0000-0000-000000000001")
            .replace("{tenant}", "00000000-0000-0000-0000-000000000000")
            .replace("{incident}", "00000000-0000-0000-0000-000000000002")
    }
}

/// A valid value for each field a route reads (the suite fails on a field without one).
pub fn sample(path: &str, field: &str) -> &'static str {
    match (path, field) {
        ("/signup", "password") => "x", // invalid on purpose: no account is made
        ("/password", "current_password") => "not-the-password-1",
        // Wrong on purpose: the suite's accounts must not be deleted.
        ("/account/delete" | "/account/deletion/cancel", "password") => "not-the-password-1",
        (_, "current_password") => PASSWORD,
        (_, "password" | "new_password") => "fresh-lantern-harbor-62",
        ("/profile", "email") => "owner@a.example",
        (_, "email") => "someone@c.example",
        (_, "name") => "Sample Name",
        ("/signup" | "/profile", "business_name") => "Sample Business",
        (_, "locale" | "lang") => "en",
        (_, "calendar") => "gregorian",
        (_, "next") => "/dashboard",
        (_, "q") => "hello",
        (_, "before") => "",
        (_, "text") => "A reply",
        ("/inbox/{id}/template", "template") => "follow_up|en",
        ("/inbox/{id}/template", f) if f.starts_with('p') => "Sara",
        (_, "note") => "A note for the team",
        (_, "labels") => "vip, wholesale",
        (_, "label") => "vip",
        (_, "shortcut") => "/hours",
        (_, "question") => "Do you deliver?",
        (_, "samples") => "Do you deliver? => Riyadh",
        (_, "answer") => "Yes, across Riyadh.",
        (_, "body") => "We open daily at 9.",
        (_, "user") => "me",
        (_, "phone") => "966500000002",
        (_, "phone_number_id") => "PN-SAMPLE",
        (_, "waba_id") => "WABA-SAMPLE",
        (_, "display_number") => "+966 50 000 0009",
        (_, "access_token") => "junk-token",
        (_, "app_secret") => "sample-secret",
        (_, "enabled") => "on",
        (_, "token") => "not-a-staff-token",
        (_, "queue") => "send_message",
        (_, "state") => "dead",
        (_, "plan") => "starter",
        (_, "paid") => "0",
        (_, "filter") => "person",
        (_, "tenant") => "",
        (_, "reason") => "Ticket 42: a customer complaint",
        (_, "title") => "Sample incident",
        (_, "description_ar" | "description_en") => "Some words",
        (_, "detected_at") => "2026-01-02T03:04",
        // Every tenant: the sample records an incident (nobody is notified by recording).
        (_, "affects") => "all",
        (_, "tenants") => "",
        (_, "actor") => "staff",
        (_, "action") => "job_*",
        (_, "reply_language") => "match",
        (_, "model") => "",
        (_, f) if f.starts_with("hours_") => "09:00-17:00",
        (_, "away_mode") => "notice_only",
        (_, "handoff_email_minutes") => "5",
        (
            _,
            "description" | "instructions" | "knowledge" | "away_message" | "fallback_message"
            | "welcome_message" | "handoff_message" | "handoff_phrases",
        ) => "Some words",
        (path, field) => {
            panic!("no sample value for field {field} of {path}: add one to route_suite::sample")
        }
    }
}

/// The sample form of a route.
pub fn form(path: &str, fields: &[&str]) -> Vec<(String, String)> {
    fields.iter().map(|f| (f.to_string(), sample(path, f).to_owned())).collect()
}

#[sqlx::test(migrations = false)]
async fn the_router_serves_exactly_the_route_table(pool: PgPool) {
    crate::helpers::migrated(&pool).await;
    let config =
        mujibak_core::Config::from_lookup(|n| (n == "DATABASE_URL").then(|| "postgres://x".into())).unwrap();
    for dev in [false, true] {
        let state = mujibak::AppState::new(pool.clone(), config.clone(), dev).unwrap();
        let mut served = mujibak::web::router_and_paths(state).1;
        served.sort();
        let mut listed: Vec<&str> =
            ROUTES.iter().filter(|r| dev || r.access != Access::Sandbox).map(|r| r.path).collect();
        listed.sort();
        assert_eq!(served, listed, "dev = {dev}");
    }
}
