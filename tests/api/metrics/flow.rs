//! One customer message through the real pipeline, then the page: every documented
//! series with its documented labels and the counts the message must have left; provider
//! failures under their outcome labels; no phone number, text, token or tenant id.

use mujibak_devtools::sandbox::openai::ModelFault;
use reqwest::StatusCode;
use sqlx::PgPool;

use super::{exposition::Page, scrape, scrape_until, scraper};
use crate::pipeline::{text, Options, Pipeline, TOKEN};

const PHONE: &str = "966512345678";
const WORDS: &str = "Do you have saffron buns today?";
const QUEUES: [&str; 3] = ["handle_inbound", "generate_reply", "send_message"];

/// The "Metrics" table of docs/operations.md: (name, type, label names).
fn documented() -> Vec<(String, String, Vec<String>)> {
    let doc = include_str!("../../../docs/operations.md");
    let section = doc.split("\n## Metrics\n").nth(1).expect("docs/operations.md has a Metrics section");
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| `mujibak_"))
        .map(|row| {
            let cells: Vec<&str> = row.split(" | ").collect();
            let ticked = |cell: &str| -> Vec<String> {
                cell.split('`').skip(1).step_by(2).map(str::to_owned).collect::<Vec<_>>()
            };
            let mut labels = ticked(cells[2]);
            labels.sort();
            (ticked(cells[0]).remove(0), cells[1].trim().to_owned(), labels)
        })
        .collect()
}

async fn start(pool: PgPool) -> Pipeline {
    Pipeline::start_opts(pool, "owner@metrics.sa", "PN-MET", Options::default()).await
}

#[sqlx::test(migrations = false)]
async fn after_one_message_every_documented_series_shows_with_its_labels_and_counts(pool: PgPool) {
    // Arrange
    let p = start(pool).await;
    let scrape_token = scraper(&p.pool).await;

    // Act
    assert_eq!(p.deliver(&text("PN-MET", "wamid.MET1", PHONE, WORDS, 1)).await, StatusCode::OK);
    p.sends(1).await;
    p.until_finished(&QUEUES).await;

    // Assert: the counts one message leaves.
    let page = scrape_until(p.addr, &scrape_token, "the message's counts", |page| {
        QUEUES
            .iter()
            .all(|q| page.value("mujibak_jobs_total", &[("queue", q), ("outcome", "done")]).is_some())
            && page.value("mujibak_reply_latency_seconds_count", &[]).is_some()
    })
    .await;
    for q in QUEUES {
        let done = page.value("mujibak_jobs_total", &[("queue", q), ("outcome", "done")]).unwrap();
        assert!(done >= 1.0, "{q}: {done}");
        let ran = page.value("mujibak_job_duration_seconds_count", &[("queue", q)]).unwrap();
        assert!(ran >= 1.0, "{q}: {ran}");
        let inf = page.value("mujibak_job_duration_seconds_bucket", &[("queue", q), ("le", "+Inf")]);
        assert_eq!(inf, Some(ran), "{q}: the +Inf bucket counts every attempt");
        assert!(page.value("mujibak_queue_depth", &[("queue", q), ("state", "pending")]).is_some());
        assert!(page.value("mujibak_queue_oldest_pending_seconds", &[("queue", q)]).is_some());
    }
    assert!(page.value("mujibak_webhook_deliveries_total", &[("outcome", "accepted")]).unwrap() >= 1.0);
    assert!(page.value("mujibak_webhook_ingest_seconds_count", &[]).unwrap() >= 1.0);
    assert_eq!(page.value("mujibak_reply_latency_seconds_count", &[]), Some(1.0));
    let latency = page.value("mujibak_reply_latency_seconds_sum", &[]).unwrap();
    assert!(latency > 0.0 && latency < 60.0, "{latency}");
    let ok =
        |provider| page.value("mujibak_outbound_calls_total", &[("provider", provider), ("outcome", "ok")]);
    assert!(ok("openai").unwrap() >= 1.0 && ok("meta").unwrap() >= 1.0, "{:?}", page.samples);

    // Assert: the page and the documented table agree, names, types and labels.
    let docs = documented();
    assert_eq!(docs.len(), 8, "{docs:?}");
    for (name, kind, labels) in &docs {
        assert_eq!(page.kind(name), Some(kind.as_str()), "{name} is documented as a {kind}");
        let wanted: Vec<String> = labels.iter().filter(|l| l.as_str() != "none").cloned().collect();
        assert_eq!(&page.label_names(name), &wanted, "labels of {name}");
    }
    for name in page.types.keys() {
        assert!(
            docs.iter().any(|(d, _, _)| d == name),
            "{name} is served but not in docs/operations.md \"Metrics\""
        );
    }

    // Assert: nothing of the tenant or the customer in any label.
    let tenant: String =
        sqlx::query_scalar("select tenant_id::text from tenants limit 1").fetch_one(&p.pool).await.unwrap();
    let key = p.webhook_url.rsplit('/').next().unwrap().to_owned();
    let raw = scrape(p.addr, Some(&scrape_token)).await.1;
    for secret in [PHONE, WORDS, "saffron", TOKEN, &tenant, &key, "PN-MET", &scrape_token[10..]] {
        assert!(!raw.contains(secret), "the page contains {secret:?}");
    }
}

#[sqlx::test(migrations = false)]
async fn model_server_errors_and_rate_limits_show_under_their_outcomes(pool: PgPool) {
    // Arrange: the model fails twice (500, then 429) before it answers.
    let p = start(pool).await;
    let scrape_token = scraper(&p.pool).await;
    p.model.fail_next(ModelFault::ServerError, 1);
    p.model.fail_next(ModelFault::RateLimited { retry_after_secs: 0 }, 1);

    // Act
    assert_eq!(p.deliver(&text("PN-MET", "wamid.MET2", PHONE, WORDS, 1)).await, StatusCode::OK);
    p.sends(1).await;

    // Assert
    let outcome = |page: &Page, o| {
        page.value("mujibak_outbound_calls_total", &[("provider", "openai"), ("outcome", o)])
    };
    let page = scrape_until(p.addr, &scrape_token, "the model's failures", |page| {
        outcome(page, "ok").is_some()
            && page
                .value("mujibak_jobs_total", &[("queue", "generate_reply"), ("outcome", "retry")])
                .is_some()
    })
    .await;
    assert_eq!(outcome(&page, "5xx"), Some(1.0));
    assert_eq!(outcome(&page, "429"), Some(1.0));
    assert_eq!(outcome(&page, "ok"), Some(1.0));
    assert_eq!(
        page.value("mujibak_jobs_total", &[("queue", "generate_reply"), ("outcome", "retry")]),
        Some(2.0)
    );
}
