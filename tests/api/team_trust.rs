//! Small things that break trust, fixed: removing a member and disconnecting the number
//! each ask first (the button leads to a page saying what happens; only its POST acts);
//! inviting an address again replaces its open invitation (one link works, none stays
//! "open" after joining); an owner can revoke an invitation; a dead invitation link says
//! to ask for a new one instead of offering a password reset.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    pipeline::Pipeline,
    web::{link_path, mail_to, Browser, PASSWORD},
};

async fn open_invitations(p: &Pipeline) -> i64 {
    sqlx::query_scalar(
        "select count(*) from user_tokens where purpose = 'invitation' and used_at is null and expires_at > now()",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = false)]
async fn removing_and_disconnecting_ask_first_and_invitations_can_be_resent_and_revoked(pool: PgPool) {
    // Arrange: the owner with a connected number; the pro plan's seats.
    let p = Pipeline::start(pool, "owner@trust.sa", "PN1408").await;
    p.owner.get("/billing").await;
    p.owner.post("/billing/plan", &[("plan", "pro")]).await;

    // Act: invite an agent twice (a resend), then join from the newest email.
    p.owner.get("/team").await;
    p.owner.post("/team/invite", &[("email", "agent@trust.sa")]).await;
    let first = link_path(&mail_to(&p.mail, "agent@trust.sa", "/invite/").await.1, "/invite/");
    p.owner.post("/team/invite", &[("email", "agent@trust.sa")]).await;
    let second =
        crate::helpers::eventually(std::time::Duration::from_secs(15), "the second email", || async {
            let link = link_path(&mail_to(&p.mail, "agent@trust.sa", "/invite/").await.1, "/invite/");
            (link != first).then_some(link)
        })
        .await;
    assert_eq!(open_invitations(&p).await, 1, "one open invitation per address");
    let agent = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    let old = agent.get(&first).await;
    let joined = agent.post(&second, &[("name", "Agent"), ("password", PASSWORD), ("locale", "en")]).await;

    // Assert: the replaced link says what to do (no password reset); joining leaves nothing open.
    assert_eq!(old.status, StatusCode::GONE);
    assert!(old.body.contains("Ask the business owner to invite you again") && !old.body.contains("/forgot"));
    assert_eq!(joined.status, StatusCode::SEE_OTHER, "{}", joined.body);
    assert_eq!(open_invitations(&p).await, 0);
    assert!(p.owner.get("/team").await.body.contains("No open invitations."));

    // Act + Assert: an invitation revoked stops working.
    p.owner.post("/team/invite", &[("email", "temp@trust.sa")]).await;
    let temp = link_path(&mail_to(&p.mail, "temp@trust.sa", "/invite/").await.1, "/invite/");
    let team = p.owner.get("/team").await;
    assert!(team.body.contains(r#"action="/team/invitations/revoke""#) && team.body.contains("Send again"));
    let revoked = p.owner.post("/team/invitations/revoke", &[("email", "temp@trust.sa")]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    assert!(p.owner.get("/team").await.body.contains("The invitation is revoked"));
    assert_eq!(Browser::new(p.addr).get(&temp).await.status, StatusCode::GONE);
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'invitation_revoked'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);

    // Act + Assert: "Remove" leads to a page that asks; only its POST removes.
    let agent_id: String =
        sqlx::query_scalar("select user_id::text from users where email = 'agent@trust.sa'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    let team = p.owner.get("/team").await;
    assert!(team.body.contains(&format!(r#"href="/team/{agent_id}/remove""#)));
    assert!(!team.body.contains(&format!(r#"action="/team/{agent_id}/remove""#)), "no one-click removal");
    let ask = p.owner.get(&format!("/team/{agent_id}/remove")).await;
    assert!(ask.body.contains("Remove this team member?") && ask.body.contains("agent@trust.sa"));
    assert_eq!(agent.get("/dashboard").await.status, StatusCode::OK, "asking removed nobody");
    assert_eq!(p.owner.post(&format!("/team/{agent_id}/remove"), &[]).await.status, StatusCode::SEE_OTHER);
    assert_ne!(agent.get("/dashboard").await.status, StatusCode::OK, "removed");

    // Act + Assert: "Disconnect" leads to a page that asks; only its POST disconnects.
    let settings = p.owner.get("/settings/whatsapp").await;
    assert!(settings.body.contains(r#"href="/settings/whatsapp/disconnect""#));
    assert!(!settings.body.contains(r#"action="/settings/whatsapp/disconnect""#), "no one-click disconnect");
    let ask = p.owner.get("/settings/whatsapp/disconnect").await;
    assert!(ask.body.contains("Disconnect this number?"), "{}", ask.body);
    let live = "select count(*) from whatsapp_connections where unlinked_at is null";
    assert_eq!(p.count(live).await, 1, "asking disconnected nothing");
    assert_eq!(p.owner.post("/settings/whatsapp/disconnect", &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(p.count(live).await, 0);
}
