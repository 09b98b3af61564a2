//! The scope matrix: every ops route × a token of each scope → its answer or 403; no
//! token, a revoked and an expired token → 401. The expectations are written here, apart
//! from the route table, and the test checks they cover exactly the table's staff routes.

use mujibak::web::routes::{Access, ROUTES};
use mujibak_core::ops::Scope;
use reqwest::StatusCode;
use sqlx::PgPool;

use super::{token, Api};
use crate::pipeline::{text, Options, Pipeline};

/// (method, route, the scope it needs, its answer to a token with that scope).
const EXPECT: &[(&str, &str, Scope, u16)] = &[
    ("GET", "/ops", Scope::OpsRead, 303),
    ("GET", "/ops/queues", Scope::OpsRead, 200),
    ("GET", "/ops/jobs", Scope::OpsRead, 200),
    ("GET", "/ops/jobs/{job}", Scope::OpsRead, 200),
    // The job is done: every action is refused as a conflict, but only after the scope.
    ("POST", "/ops/jobs/{job}/retry", Scope::OpsWrite, 409),
    ("POST", "/ops/jobs/{job}/cancel", Scope::OpsWrite, 409),
    ("POST", "/ops/jobs/{job}/discard", Scope::OpsWrite, 409),
    ("GET", "/ops/deliveries", Scope::OpsRead, 200),
    // No such event: refused as a conflict, after the scope.
    ("POST", "/ops/deliveries/{tenant}/{event}/reprocess", Scope::OpsWrite, 409),
    ("POST", "/ops/deliveries/{tenant}/{event}/handled", Scope::OpsWrite, 409),
    ("GET", "/ops/tenants", Scope::OpsRead, 200),
    ("GET", "/ops/tenants/{tenant}", Scope::OpsRead, 200),
    ("GET", "/ops/tenants/{tenant}/conversations", Scope::SupportRead, 200),
    ("GET", "/ops/tenants/{tenant}/conversations/{id}", Scope::SupportRead, 200),
    // Without a reason, or with nothing to lift: refused, but only after the scope.
    ("POST", "/ops/tenants/{tenant}/suspend", Scope::TenantsWrite, 422),
    ("POST", "/ops/tenants/{tenant}/unsuspend", Scope::TenantsWrite, 409),
    ("POST", "/ops/tenants/{tenant}/delete", Scope::TenantsWrite, 422),
    // An empty form is refused, but only after the scope; notifying an incident answers
    // with how many it queued (the first call all users, later ones none).
    ("GET", "/ops/incidents", Scope::IncidentsWrite, 200),
    ("POST", "/ops/incidents", Scope::IncidentsWrite, 422),
    ("GET", "/ops/incidents/new", Scope::IncidentsWrite, 200),
    ("GET", "/ops/incidents/{incident}", Scope::IncidentsWrite, 200),
    ("POST", "/ops/incidents/{incident}/notify", Scope::IncidentsWrite, 200),
    ("GET", "/ops/audit", Scope::OpsRead, 200),
    ("GET", "/metrics", Scope::OpsRead, 200),
];

struct Ids {
    job: String,
    tenant: String,
    conversation: String,
    incident: String,
}

fn url(path: &str, ids: &Ids) -> String {
    let base = path
        .replace("{job}", &ids.job)
        .replace("{tenant}", &ids.tenant)
        .replace("{id}", &ids.conversation)
        .replace("{incident}", &ids.incident)
        .replace("{event}", "00000000-0000-0000-0000-000000000001");
    let query = match path {
        "/ops/jobs" => format!("?queue=handle_inbound&state=done&tenant={}", ids.tenant),
        "/ops/tenants" => "?q=Alnoor".to_owned(),
        p if p.contains("/conversations") => {
            "?reason=Ticket+42%3A+customer+reports+a+double+reply".to_owned()
        }
        "/ops/audit" => "?actor=staff&action=job_*".to_owned(),
        _ => String::new(),
    };
    format!("{base}{query}")
}

async fn call(api: &Api, method: &str, path: &str) -> StatusCode {
    if method == "GET" {
        api.get(path).await.status
    } else {
        api.post(path, &[]).await.status
    }
}

#[sqlx::test(migrations = false)]
async fn every_ops_route_answers_each_scope_as_the_table_says_and_dead_tokens_get_401(pool: PgPool) {
    // Arrange: a tenant with a conversation and finished jobs; a token per scope, one with
    // every scope, one revoked, one expired.
    let p = Pipeline::start_opts(pool.clone(), "owner@ops.example", "PN-OPS", Options::default()).await;
    assert_eq!(p.deliver(&text("PN-OPS", "wamid.O1", "966500000001", "Hello", 1)).await, StatusCode::OK);
    p.sends(1).await;
    let (job, tenant): (String, String) = sqlx::query_as(
        "select id, metadata -> 'tenant' from apalis.jobs where job_type = 'handle_inbound' and status = 'Done' limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let incident: String = sqlx::query_scalar(
        "insert into incidents (incident_id, title, description_ar, description_en, detected_at,
                                recorded_by, recorded_by_name, affects_all)
         values (gen_random_uuid(), 'Scopes', 'وصف', 'Description', now(), 'test', 'test', true)
         returning incident_id::text",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let ids = Ids { job, tenant, conversation: p.conversation_id().await, incident };
    let mut by_scope = Vec::new();
    for scope in Scope::ALL {
        by_scope.push((scope, Api::new(p.addr, Some(&token(&pool, scope.as_str(), scope.as_str()).await))));
    }
    let all = Api::new(p.addr, Some(&token(&pool, "all", &Scope::ALL.map(|s| s.as_str()).join(",")).await));
    let revoked_token = token(&pool, "revoked", "ops:read,ops:write,support:read").await;
    let revoked_id: uuid::Uuid =
        sqlx::query_scalar("select token_id from staff_tokens where name = 'revoked'")
            .fetch_one(&pool)
            .await
            .unwrap();
    mujibak_core::ops::tokens::revoke(&pool, revoked_id).await.unwrap();
    let expired_token = token(&pool, "expired", "ops:read,ops:write,support:read").await;
    sqlx::query("update staff_tokens set expires_at = now() - interval '1 second' where name = 'expired'")
        .execute(&pool)
        .await
        .unwrap();
    let dead = [
        ("no token", Api::new(p.addr, None)),
        ("a revoked token", Api::new(p.addr, Some(&revoked_token))),
        ("an expired token", Api::new(p.addr, Some(&expired_token))),
        ("a malformed token", Api::new(p.addr, Some("mjb_staff_nonsense"))),
    ];

    // The expectations cover exactly the table's staff routes.
    let staff_routes: Vec<(&str, &str)> = ROUTES
        .iter()
        .filter(|r| matches!(r.access, Access::Staff(_)))
        .flat_map(|r| r.methods.iter().map(move |m| (*m, r.path)))
        .collect();
    for pair in &staff_routes {
        assert!(
            EXPECT.iter().any(|(m, p, _, _)| (m, p) == (&pair.0, &pair.1)),
            "no expectation for {pair:?}"
        );
    }
    assert_eq!(staff_routes.len(), EXPECT.len(), "an expectation names a route the table does not list");

    // Act + Assert.
    let mut checked = 0;
    for (method, path, needs, allowed) in EXPECT {
        let target = url(path, &ids);
        for (scope, api) in &by_scope {
            let want = if scope == needs { *allowed } else { 403 };
            assert_eq!(call(api, method, &target).await.as_u16(), want, "{method} {path} with {scope}");
            checked += 1;
        }
        assert_eq!(call(&all, method, &target).await.as_u16(), *allowed, "{method} {path} with every scope");
        for (who, api) in &dead {
            assert_eq!(
                call(api, method, &target).await,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {who}"
            );
        }
    }
    assert_eq!(checked, EXPECT.len() * Scope::ALL.len());

    // Each live token's use is recorded; the dead ones' are not.
    let used: Vec<(String, bool)> =
        sqlx::query_as("select name, last_used_at is not null from staff_tokens order by name")
            .fetch_all(&pool)
            .await
            .unwrap();
    for (name, was_used) in used {
        assert_eq!(was_used, !["revoked", "expired"].contains(&name.as_str()), "last use of {name}");
    }
}
