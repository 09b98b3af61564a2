//! The console in a browser's shoes: a staff token opens a session (an HttpOnly,
//! SameSite=Strict cookie), the queues page carries its self-refresh script and answers its own
//! JSON, forms need the session's CSRF token, and revoking the token ends the session.

use reqwest::StatusCode;
use sqlx::PgPool;

use super::{audited, token};
use crate::{
    pipeline::{Options, Pipeline},
    web::Browser,
};

#[sqlx::test(migrations = false)]
async fn a_token_opens_a_console_session_that_needs_csrf_and_dies_with_the_token(pool: PgPool) {
    let p = Pipeline::start_opts(pool.clone(), "owner@console.example", "PN-CON", Options::default()).await;
    let token = token(&pool, "oncall-noura", "ops:read,ops:write").await;
    let staff = Browser::with_headers(p.addr, &[("accept", "text/html,application/xhtml+xml")]);

    // Not signed in: sent to sign in, coming back to the page asked for.
    let page = staff.get("/ops/jobs?state=dead").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/ops/signin?next=%2Fops%2Fjobs%3Fstate%3Ddead");

    // A wrong token is refused; the right one opens a session.
    let page = staff.post_raw("/ops/signin", &[("token", "mjb_staff_wrong")]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("unknown, expired or revoked"));
    let page = staff.post_raw("/ops/signin", &[("token", &token), ("next", "/ops/jobs?state=dead")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/ops/jobs?state=dead");
    let cookie = staff.set_cookies.lock().unwrap().last().cloned().unwrap();
    for attribute in ["mujibak_ops=", "Path=/;", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert_eq!(audited(&pool, "staff_signed_in").await.len(), 1);

    // The queues page: every queue, the script that refreshes it, and its own JSON.
    let page = staff.get("/ops/queues").await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in
        ["data-queue=\"handle_inbound\"", "data-queue=\"send_message\"", "/static/ops.js", "Workers"]
    {
        assert!(page.body.contains(needle), "{needle}");
    }
    assert_eq!(page.headers["cache-control"], "no-store");
    let json = reqwest::Client::new()
        .get(format!("http://{}/ops/queues", p.addr))
        .header("cookie", cookie.split(';').next().unwrap())
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), StatusCode::OK);
    let data: serde_json::Value = json.json().await.unwrap();
    assert!(data["queues"].as_array().unwrap().iter().any(|q| q["queue"] == "send_message"));
    assert_eq!(data["queues"][0]["per_minute"].as_array().unwrap().len(), 60);
    assert_eq!(staff.get("/static/ops.js").await.status, StatusCode::OK);

    // A form POST needs the session's CSRF token.
    let job: String =
        sqlx::query_scalar("select id from apalis.jobs limit 1").fetch_one(&pool).await.unwrap();
    let page = staff.post_raw(&format!("/ops/jobs/{job}/cancel"), &[]).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "no CSRF token");
    staff.get(&format!("/ops/jobs/{job}")).await;
    let page = staff.post(&format!("/ops/jobs/{job}/retry"), &[]).await;
    assert_ne!(page.status, StatusCode::FORBIDDEN, "with the token the action is judged on the job");

    // Revoking the token ends the session at once.
    let id: uuid::Uuid =
        sqlx::query_scalar("select token_id from staff_tokens").fetch_one(&pool).await.unwrap();
    mujibak_core::ops::tokens::revoke(&pool, id).await.unwrap();
    let page = staff.get("/ops/queues").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(page.location().starts_with("/ops/signin"));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from staff_sessions").fetch_one(&pool).await.unwrap(),
        0
    );
}

/// `mujibak staff-token create | list | revoke`, the real binary: the token is printed once
/// and works; only its hash is stored; a bad scope or expiry is refused with a clear line;
/// a revoked token opens nothing.
#[sqlx::test(migrations = false)]
async fn the_staff_token_command_creates_lists_and_revokes_tokens(pool: PgPool) {
    crate::helpers::migrated(&pool).await;
    let url = crate::helpers::database_url(&pool);
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mujibak"))
            .env_clear()
            .env("DATABASE_URL", &url)
            .arg("staff-token")
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };

    let (ok, _, err) = cli(&["create", "--name", "x", "--scopes", "ops:read,ops:admin"]);
    assert!(!ok && err.contains("unknown scope \"ops:admin\""), "{err}");
    let (ok, _, err) = cli(&["create", "--name", "x", "--scopes", "ops:read", "--expires", "2y"]);
    assert!(!ok && err.contains("invalid expiry"), "{err}");

    let (ok, out, err) =
        cli(&["create", "--name", "Noura (on call)", "--scopes", "ops:read,ops:write", "--expires", "7d"]);
    assert!(ok, "{err}");
    let token = out.trim().to_owned();
    assert!(token.starts_with("mjb_staff_") && token.len() == 53, "{token}");
    let stored: Vec<u8> =
        sqlx::query_scalar("select token_hash from staff_tokens").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, mujibak_core::auth::token_digest(&token), "only the hash is stored");
    let dump =
        std::process::Command::new(crate::helpers::pg_dump()).arg("--no-owner").arg(&url).output().unwrap();
    let dump = String::from_utf8_lossy(&dump.stdout);
    assert!(dump.contains("staff_tokens"), "the dump holds the table");
    assert!(!dump.contains(&token[10..]), "the token itself is nowhere in the database");
    assert!(mujibak_core::ops::tokens::authenticate(&pool, &token).await.unwrap().is_some());

    let (ok, out, _) = cli(&["list"]);
    assert!(
        ok && out.contains("Noura (on call)") && out.contains("active") && out.contains("ops:read,ops:write"),
        "{out}"
    );
    assert!(!out.contains(&token[10..]), "list never shows the token");
    let id = out.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_owned();

    let (ok, out, err) = cli(&["revoke", &id]);
    assert!(ok && out.contains("revoked"), "{err}");
    assert!(mujibak_core::ops::tokens::authenticate(&pool, &token).await.unwrap().is_none());
    let (_, out, _) = cli(&["list"]);
    assert!(out.contains("revoked"), "{out}");
    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_log order by audit_id").fetch_all(&pool).await.unwrap();
    assert_eq!(actions, ["staff_token_created", "staff_token_revoked"]);
}
