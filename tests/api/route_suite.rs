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
    /// Tenant A's things the routes name, each real: another tenant asking for them gets 404
    /// because they are A's, not because they exist for nobody.
    pub ids: AIds,
}

/// Ids of tenant A's things (see [`World::url`]).
pub struct AIds {
    pub knowledge_entry: String,
    pub quick_reply: String,
    pub export: String,
    pub media_message: String,
    pub invoice: String,
    pub incident: String,
    pub tenant: String,
    /// Tenant B's id: the ops console's actions (suspend, delete) act on B, so that A's
    /// people stay signed in for the rest of a walk.
    pub other_tenant: String,
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
        let ids = AIds::make(&p, &conversation).await;
        Self { p, anonymous, other, agent, conversation, agent_id, webhook_key, staff, ids }
    }

    /// `pattern` with tenant A's real ids in its parameters (`{id}` is the knowledge entry,
    /// the quick reply or the conversation, by route; the ops console's tenant actions get
    /// B's), an unknown token, and ids of nothing for the console's jobs and deliveries
    /// (routes without fields, for staff only).
    pub fn url(&self, pattern: &str) -> String {
        let acts = ["/suspend", "/unsuspend", "/delete"].iter().any(|a| pattern.ends_with(a));
        let tenant = if pattern.starts_with("/ops/tenants/") && acts {
            &self.ids.other_tenant
        } else {
            &self.ids.tenant
        };
        let id = if pattern.starts_with("/settings/knowledge/") {
            &self.ids.knowledge_entry
        } else if pattern.starts_with("/settings/replies/") {
            &self.ids.quick_reply
        } else {
            &self.conversation
        };
        pattern
            .replace("{key}", &self.webhook_key)
            .replace("{token}", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .replace("{id}", id)
            .replace("{user_id}", &self.agent_id)
            .replace("{job}", "job-1")
            .replace("{export}", &self.ids.export)
            .replace("{message}", &self.ids.media_message)
            .replace("{invoice}", &self.ids.invoice)
            .replace("{event}", "00000000-0000-0000-0000-000000000001")
            .replace("{tenant}", tenant)
            .replace("{incident}", &self.ids.incident)
    }
}

impl AIds {
    async fn make(p: &Pipeline, conversation: &str) -> Self {
        use mujibak_core::{billing, domain::TenantId, export, incidents, ops::tokens::Staff};
        let pool = &p.pool;
        let text = |sql: &'static str| async move {
            sqlx::query_scalar::<_, String>(sql).fetch_one(pool).await.unwrap()
        };
        let tenant: TenantId =
            text("select tenant_id::text from users where email = 'owner@a.example'").await.parse().unwrap();

        // A knowledge entry and a quick reply, as the owner adds them.
        p.owner.get("/settings/knowledge").await;
        let added = p
            .owner
            .post("/settings/knowledge/faq", &[("question", "Do you deliver?"), ("answer", "Yes.")])
            .await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
        p.owner.get("/settings/replies").await;
        let added =
            p.owner.post("/settings/replies", &[("shortcut", "/hours"), ("body", "We open at 9.")]).await;
        assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);

        // An export asked for (not built yet), a customer's photo, an issued invoice.
        let owner: mujibak_core::domain::UserId =
            text("select user_id::text from users where email = 'owner@a.example'").await.parse().unwrap();
        let mut tx = pool.begin().await.unwrap();
        let export = export::request(&mut tx, tenant, owner, None).await.unwrap().export_id.to_string();
        let seller = billing::Seller {
            name: "مُجيب للتقنية".into(),
            vat_number: "300000000000003".into(),
            address: "Riyadh".into(),
        };
        let buyer = billing::Buyer { name: "Tenant A".into(), email: "owner@a.example".into() };
        let lines = vec![billing::NewLine {
            description_ar: "اشتراك".into(),
            description_en: "Plan".into(),
            quantity: 1,
            unit_halalas: 10_000,
        }];
        let period = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let (invoice, _) =
            billing::issue(&mut tx, tenant, period, &seller, &buyer, &lines, chrono::Utc::now())
                .await
                .unwrap();
        tx.commit().await.unwrap();
        let media_message: String = sqlx::query_scalar(
            "with m as (insert into messages (tenant_id, message_id, conversation_id, direction, author, kind, status)
                        values ($1, gen_random_uuid(), $2::uuid, 'in', 'customer', 'image', 'received')
                        returning message_id)
             insert into media (tenant_id, message_id, media_id, kind, mime_type, status, bytes, byte_size)
             select $1, message_id, 'MEDIA-A', 'image', 'image/png', 'ready', '\\x89504e47'::bytea, 4 from m
             returning message_id::text",
        )
        .bind(tenant)
        .bind(conversation)
        .fetch_one(pool)
        .await
        .unwrap();

        // A security incident that affected tenant A, its users notified.
        let staff = Staff {
            token_id: uuid::Uuid::new_v4(),
            name: "Suite".into(),
            scopes: mujibak_core::ops::Scope::ALL.to_vec(),
            expires_at: chrono::Utc::now() + chrono::Duration::hours(1),
        };
        let draft = incidents::Draft {
            title: "Suite incident".into(),
            description_ar: "وصف".into(),
            description_en: "What happened".into(),
            detected_at: (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339(),
            affects: "list".into(),
            tenants: tenant.to_string(),
        };
        let mut conn = pool.acquire().await.unwrap();
        let incident = incidents::record(&mut conn, &staff, &draft).await.unwrap();
        incidents::notify(&mut conn, &staff, incident).await.unwrap();

        Self {
            knowledge_entry: text("select entry_id::text from knowledge_entries").await,
            quick_reply: text("select quick_reply_id::text from quick_replies").await,
            export,
            media_message,
            invoice: invoice.invoice_id.to_string(),
            incident: incident.to_string(),
            tenant: tenant.to_string(),
            other_tenant: text("select tenant_id::text from users where email = 'owner@b.example'").await,
        }
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
        // Empty on purpose: the suite's customer must not be erased.
        ("/inbox/{id}/erase", "reason") => "",
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
        (_, "media_understanding") => "on",
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
