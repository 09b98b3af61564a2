//! Scale: the inbox and thread pages' p99 with a million messages and a million finished
//! job rows in the database (the seeded rows share one business: its pages are the ones
//! that would slow down), and the ops console's queues page (called with a staff token,
//! after the per-minute rollup has taken in the seeded rows), against the same pages with
//! a small business's rows, same run.

use std::time::Duration;

use mujibak_core::{
    accounts::{self, SignUp},
    domain::{DisplayName, EmailAddress, Locale, NewPassword, TenantId},
    ops::{stats, tokens, Scope},
};

use super::{
    report::{quantile, Figure},
    stage::Stage,
    Options,
};

const PASSWORD: &str = "bench-lantern-harbor-42";

pub async fn run(opts: &Options) -> anyhow::Result<Vec<Figure>> {
    let (messages, conversations, jobs, requests) =
        if opts.quick { (10_000, 100, 10_000, 10) } else { (1_000_000, 10_000, 1_000_000, 200) };
    let stage = Stage::start(opts, "scale", 0, 0).await?;
    let signup = SignUp {
        name: DisplayName::parse("Bench Owner", 100).map_err(anyhow::Error::msg)?,
        email: EmailAddress::parse("owner@bench.mujibak.test").map_err(anyhow::Error::msg)?,
        business_name: DisplayName::parse("Bench Bakery", 80).map_err(anyhow::Error::msg)?,
        password: NewPassword::parse(PASSWORD, &[]).map_err(anyhow::Error::msg)?,
        locale: Locale::En,
    };
    let mut tx = stage.db.begin().await?;
    let (owner, _) = accounts::sign_up(&mut tx, signup).await?;
    tx.commit().await?;
    let browser = sign_in(&stage).await?;
    let staff = staff_client(&stage).await?;
    // Baseline: the same pages with a small business's rows (20 conversations, 1,000
    // messages, 1,000 job rows).
    seed(&stage, owner.tenant_id, 20, 1_000, 1_000, 0).await?;
    rollup(&stage).await?;
    let small = pages(&stage, &browser, owner.tenant_id, requests).await?;
    let small_ops = p99(&staff, &format!("{}/ops/queues", stage.base_url), requests).await?;
    let seeding = std::time::Instant::now();
    seed(&stage, owner.tenant_id, conversations, messages, jobs, 1_000).await?;
    println!(
        "scale: seeded {messages} messages in {conversations} conversations and {jobs} job rows in {:.0} s",
        seeding.elapsed().as_secs_f64()
    );
    let rolled = std::time::Instant::now();
    rollup(&stage).await?;
    println!(
        "scale: the per-minute job rollup took in {jobs} rows in {:.1} s",
        rolled.elapsed().as_secs_f64()
    );
    let large = pages(&stage, &browser, owner.tenant_id, requests).await?;
    let large_ops = p99(&staff, &format!("{}/ops/queues", stage.base_url), requests).await?;
    stage.stop().await?;
    Ok(vec![
        Figure::new("inbox_page_p99_ms", large.0, "ms", "≤ 50 ms").against(small.0),
        Figure::new("thread_page_p99_ms", large.1, "ms", "≤ 50 ms").against(small.1),
        Figure::new("ops_queues_page_p99_ms", large_ops, "ms", "≤ 50 ms").against(small_ops),
    ])
}

pub(super) async fn seed(
    stage: &Stage,
    tenant: TenantId,
    conversations: i64,
    messages: i64,
    jobs: i64,
    from: i64,
) -> anyhow::Result<()> {
    sqlx::query(include_str!("seed.sql"))
        .bind(tenant)
        .bind(conversations)
        .bind(messages)
        .bind(jobs)
        .bind(from)
        .execute(&stage.db)
        .await?;
    // What storing each customer message does to its conversation (nobody of the team has
    // opened any: every seeded conversation is unread).
    sqlx::query(
        "update conversations c set customer_wrote_at = m.at
           from (select conversation_id, max(received_at) as at from messages
                  where tenant_id = $1 and direction = 'in' group by conversation_id) m
          where c.tenant_id = $1 and c.conversation_id = m.conversation_id",
    )
    .bind(tenant)
    .execute(&stage.db)
    .await?;
    sqlx::query("analyze").execute(&stage.db).await?;
    Ok(())
}

/// A client signed in as the bench business's owner.
async fn sign_in(stage: &Stage) -> anyhow::Result<reqwest::Client> {
    let browser = reqwest::Client::builder().cookie_store(true).timeout(Duration::from_secs(30)).build()?;
    let signin = browser.get(format!("{}/signin", stage.base_url)).send().await?.text().await?;
    let csrf = csrf_token(&signin).ok_or_else(|| anyhow::anyhow!("no CSRF token on /signin"))?;
    let signed_in = browser
        .post(format!("{}/signin", stage.base_url))
        .header("origin", &stage.base_url)
        .form(&[("csrf_token", csrf.as_str()), ("email", "owner@bench.mujibak.test"), ("password", PASSWORD)])
        .send()
        .await?;
    anyhow::ensure!(signed_in.status().is_success() || signed_in.status().is_redirection(), "sign-in failed");
    Ok(browser)
}

/// A browser signed in to the ops console with an ops:read staff token (the page as HTML).
async fn staff_client(stage: &Stage) -> anyhow::Result<reqwest::Client> {
    let (token, _, _) =
        tokens::create(&stage.db, "bench", &[Scope::OpsRead], Duration::from_secs(3600)).await?;
    let browser = reqwest::Client::builder().cookie_store(true).timeout(Duration::from_secs(30)).build()?;
    let signed_in =
        browser.post(format!("{}/ops/signin", stage.base_url)).form(&[("token", token)]).send().await?;
    anyhow::ensure!(
        signed_in.status().is_success() || signed_in.status().is_redirection(),
        "ops sign-in failed"
    );
    Ok(browser)
}

/// What each worker's statistics rollup does once a minute, over the last day at once
/// (waiting for a worker of the stage that holds the rollup's lock).
async fn rollup(stage: &Stage) -> anyhow::Result<()> {
    loop {
        let now = chrono::Utc::now();
        if stats::rollup(&stage.db, now - chrono::Duration::hours(25), now).await?.is_some() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// p99 (ms) of `requests` sequential loads of `url`.
async fn p99(client: &reqwest::Client, url: &str, requests: usize) -> anyhow::Result<f64> {
    let mut ms = Vec::with_capacity(requests);
    for _ in 0..requests {
        let started = std::time::Instant::now();
        let page = client.get(url).send().await?;
        anyhow::ensure!(page.status().is_success(), "{url} answered {}", page.status());
        let _ = page.bytes().await?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(quantile(&mut ms, 0.99))
}

/// The inbox page's and the busiest thread page's p99 (ms) over `requests` loads each.
async fn pages(
    stage: &Stage,
    browser: &reqwest::Client,
    tenant: TenantId,
    requests: usize,
) -> anyhow::Result<(f64, f64)> {
    let busiest: String = sqlx::query_scalar(
        "select conversation_id::text from conversations where tenant_id = $1 order by last_message_at desc limit 1",
    )
    .bind(tenant)
    .fetch_one(&stage.db)
    .await?;
    let inbox = p99(browser, &format!("{}/inbox", stage.base_url), requests).await?;
    let thread = p99(browser, &format!("{}/inbox/{busiest}", stage.base_url), requests).await?;
    Ok((inbox, thread))
}

fn csrf_token(body: &str) -> Option<String> {
    let marker = r#"name="csrf_token" value=""#;
    let start = body.find(marker)? + marker.len();
    Some(body[start..].split('"').next()?.to_owned())
}
