//! Smaller abuses, each closed: parallel invitation accepts never exceed the plan's seats;
//! the console's sign-in refuses a cross-site POST (no session swapping); quick replies,
//! internal notes and exports are capped per business.

use mujibak_core::{
    auth,
    db::tokens::{self, Purpose},
    domain::{Locale, NewPassword, TenantId},
};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    billing::invoice_run::business,
    helpers::{migrated, spawn_app},
    ops::token,
    pipeline::{text, Pipeline},
    web::Browser,
};

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = false)]
async fn parallel_invitation_accepts_never_exceed_the_seats(pool: PgPool) {
    // Arrange: a business on the trial (two seats: the owner and one more), with six open
    // invitations; another join holds the business's row while the six arrive.
    let pool = crate::helpers::sized_pool(&pool, 12).await;
    let tenant: TenantId = business(&pool, "Seats", "trial", "2026-10-01 10:00+03").await;
    let mut links = Vec::new();
    let mut conn = pool.acquire().await.unwrap();
    for n in 0..6 {
        let (link, digest) = auth::new_token();
        let email = format!("agent{n}@seats.sa");
        let expires = chrono::Utc::now() + chrono::Duration::days(1);
        tokens::insert(&mut conn, &digest, Purpose::Invitation, tenant, None, Some(&email), expires)
            .await
            .unwrap();
        links.push(link);
    }
    drop(conn);
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("select 1 from tenants where tenant_id = $1 for update")
        .bind(tenant)
        .execute(&mut *holder)
        .await
        .unwrap();

    // Act: all six accepted at once; they queue behind the held row, which is then let go.
    let accepts = links.into_iter().map(|link| {
        let pool = pool.clone();
        let password = NewPassword::parse("camel-lantern-harbor-41", &[]).unwrap();
        async move {
            mujibak_core::accounts::accept_invitation(&pool, &link, "Agent", password, Locale::En)
                .await
                .is_ok()
        }
    });
    let accepting = tokio::spawn(futures::future::join_all(accepts));
    crate::helpers::eventually(std::time::Duration::from_secs(20), "six joins waiting", || async {
        let waiting = scalar(&pool, "select count(*) from pg_locks where not granted").await;
        (waiting >= 6).then_some(())
    })
    .await;
    holder.commit().await.unwrap();
    let joined = accepting.await.unwrap().into_iter().filter(|ok| *ok).count();

    // Assert: one joined; the business has exactly its two seats filled.
    let members = scalar(&pool, "select count(*) from users").await;
    assert_eq!((joined, members), (1, 2), "{joined} joined: {members} members on 2 seats");
}

#[sqlx::test(migrations = false)]
async fn the_console_sign_in_refuses_a_cross_site_post(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let addr = spawn_app(pool.clone()).await;
    let staff_token = token(&pool, "oncall", "ops:read").await;
    let browser = Browser::new(addr);

    // Act: another site's page posts the attacker's token to the console's sign-in.
    for (name, value) in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
        let page = browser.post_raw_with("/ops/signin", &[("token", &staff_token)], &[(name, value)]).await;

        // Assert: refused; no console session was made.
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{name}: {value}");
    }
    assert!(browser.set_cookies.lock().unwrap().iter().all(|c| !c.starts_with("mujibak_ops=")));
    assert_eq!(scalar(&pool, "select count(*) from staff_sessions").await, 0);

    // Assert: the console's own form (same origin) and a script without an Origin still sign in.
    let base = format!("http://{addr}");
    let own = browser.post_raw_with("/ops/signin", &[("token", &staff_token)], &[("origin", &base)]).await;
    assert_eq!(own.status, StatusCode::SEE_OTHER);
    assert_eq!(
        Browser::new(addr).post_raw("/ops/signin", &[("token", &staff_token)]).await.status,
        StatusCode::SEE_OTHER
    );
}

#[sqlx::test(migrations = false)]
async fn quick_replies_notes_and_exports_are_capped(pool: PgPool) {
    // Arrange: a business with a conversation, already at its caps of quick replies and
    // notes.
    let p = Pipeline::start(pool, "owner@caps.sa", "PN3210").await;
    p.deliver(&text("PN3210", "wamid.C1", "966500003210", "Hello", 1)).await;
    p.until_count("select count(*) from conversations", 1).await;
    let conversation = p.conversation_id().await;
    sqlx::query(
        "insert into quick_replies (tenant_id, quick_reply_id, shortcut, body)
         select tenant_id, gen_random_uuid(), '/r' || n, 'Saved answer ' || n from tenants, generate_series(1, 100) n",
    )
    .execute(&p.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into notes (tenant_id, note_id, conversation_id, author_user_id, body)
         select c.tenant_id, gen_random_uuid(), c.conversation_id, u.user_id, 'Note ' || n
           from conversations c join users u using (tenant_id), generate_series(1, 200) n",
    )
    .execute(&p.pool)
    .await
    .unwrap();

    // Act + Assert: one more quick reply is refused, saying why.
    p.owner.get("/settings/replies").await;
    let reply = p.owner.post("/settings/replies", &[("shortcut", "more"), ("body", "One more")]).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", reply.body);
    assert!(reply.body.contains("at most 100 quick replies"), "{}", reply.body);
    assert_eq!(p.count("select count(*) from quick_replies").await, 100);

    // Act + Assert: one more note is refused.
    p.owner.get(&format!("/inbox/{conversation}")).await;
    let note = p.owner.post(&format!("/inbox/{conversation}/notes"), &[("note", "One more")]).await;
    let shown = p.owner.follow(&note).await;
    assert!(shown.body.contains("at most 200 notes"), "{}", shown.body);
    assert_eq!(p.count("select count(*) from notes").await, 200);

    // Act: exports, each finished before the next is asked for.
    p.owner.get("/account/export").await;
    for _ in 0..4 {
        p.owner.post("/account/export", &[]).await;
        sqlx::query(
            "update exports set status = 'ready', ready_at = now(), expires_at = now() + interval '7 days'",
        )
        .execute(&p.pool)
        .await
        .unwrap();
    }
    let page = p.owner.get("/account/export").await;

    // Assert: three a day.
    assert_eq!(p.count("select count(*) from exports").await, 3);
    assert!(page.body.contains("three exports a day"), "{}", page.body);
}
