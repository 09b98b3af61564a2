//! What a chaos run must find afterwards, read from the database and from the Graph fake's
//! own record of the sends it accepted. Each check is a line of the report; any violation
//! fails the run.

use std::collections::HashMap;

use sqlx::PgPool;

use crate::sandbox::graph::GraphFake;

/// One check's outcome.
pub struct Finding {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// Jobs that will still run (pending, running, or failed with a retry due).
pub async fn live_jobs(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from apalis.jobs
          where status in ('Pending', 'Queued', 'Running') or (status = 'Failed' and attempts < max_attempts)",
    )
    .fetch_one(pool)
    .await
}

/// One line per job still live after the run (what it is, where it stands, who holds it and
/// the errors of its attempts), so a run that does not settle says why.
pub async fn live_job_report(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "select format('%s %s: %s, attempt %s of %s, run_at %s s from now, held by %s (seen %s s ago), last_result %s; errors [%s]',
                       j.job_type, j.id, j.status, j.attempts, j.max_attempts,
                       round(extract(epoch from j.run_at - now())::numeric, 1),
                       coalesce(j.lock_by, 'nobody'),
                       coalesce(round(extract(epoch from now() - w.last_seen)::numeric, 1)::text, '-'),
                       coalesce(j.last_result::text, '-'),
                       (select string_agg(format('%s %s: %s', e.attempt, e.kind, e.message), '; ' order by e.attempt)
                          from job_errors e where e.task_id = j.id))
           from apalis.jobs j left join apalis.workers w on w.id = j.lock_by
          where j.status in ('Pending', 'Queued', 'Running') or (j.status = 'Failed' and j.attempts < j.max_attempts)
          order by j.run_at limit 20",
    )
    .fetch_all(pool)
    .await
}

/// Webhook events not processed yet.
pub async fn unprocessed_events(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from inbound_events where processed_at is null").fetch_one(pool).await
}

/// Every check, given the customer messages the run delivered (`wamids`).
pub async fn all(pool: &PgPool, graph: &GraphFake, wamids: &[String]) -> Result<Vec<Finding>, sqlx::Error> {
    let mut out = Vec::new();

    let stored: Vec<String> =
        sqlx::query_scalar("select wamid from messages where direction = 'in' and wamid = any($1)")
            .bind(wamids)
            .fetch_all(pool)
            .await?;
    let missing = wamids.len() - stored.len().min(wamids.len());
    out.push(Finding {
        name: "every delivered customer message stored once",
        ok: stored.len() == wamids.len(),
        detail: format!(
            "{} delivered, {} stored, {missing} missing (unique per wamid by index)",
            wamids.len(),
            stored.len()
        ),
    });

    // A turn is what the customer said between two replies, in the order the pipeline
    // took it in (its event's processed_at: when the message joined the conversation; not
    // Meta's one-second timestamps, and not receipt, since an event delayed by a kill is
    // answered when it is taken in). Two replies with no customer message taken in between
    // answer one turn twice.
    let twice: i64 = sqlx::query_scalar(
        "with replies as (
            select tenant_id, conversation_id, created_at,
                   lag(created_at) over (partition by tenant_id, conversation_id order by created_at) as prev
              from messages where author = 'bot')
         select count(*) from replies r
          where r.prev is not null and not exists (
            select 1 from messages m join inbound_events e
                on e.tenant_id = m.tenant_id and e.dedupe_key = 'message:' || m.wamid
             where m.tenant_id = r.tenant_id and m.conversation_id = r.conversation_id and m.direction = 'in'
               and e.processed_at > r.prev and e.processed_at <= r.created_at)",
    )
    .fetch_one(pool)
    .await?;
    // The last customer message taken into every conversation has a reply after it.
    let unanswered: i64 = sqlx::query_scalar(
        "select count(*) from conversations c
          where not exists (
            select 1 from messages r where r.tenant_id = c.tenant_id and r.conversation_id = c.conversation_id
               and r.author = 'bot'
               and r.created_at >= (select max(e.processed_at) from messages m join inbound_events e
                                      on e.tenant_id = m.tenant_id and e.dedupe_key = 'message:' || m.wamid
                                   where m.tenant_id = c.tenant_id and m.conversation_id = c.conversation_id
                                     and m.direction = 'in'))",
    )
    .fetch_one(pool)
    .await?;
    let conversations: i64 = sqlx::query_scalar("select count(*) from conversations").fetch_one(pool).await?;
    out.push(Finding {
        name: "every customer turn answered once (in the database)",
        ok: twice == 0 && unanswered == 0,
        detail: format!("{conversations} conversations; turns answered twice: {twice}; last turn unanswered: {unanswered}"),
    });

    // A reply whose send and resend both ended without an answer stays `uncertain` with
    // the note `unconfirmed` (the inbox says so); anything else short of `sent` is a
    // reply lost.
    let by_status: Vec<(String, i64)> = sqlx::query_as(
        "select case when status = 'uncertain' and delivery_note = 'unconfirmed' then 'uncertain after a resend'
                     else status end, count(*)
           from messages where author = 'bot' group by 1 order by 1",
    )
    .fetch_all(pool)
    .await?;
    let delivered_ok = by_status
        .iter()
        .all(|(s, _)| matches!(s.as_str(), "sent" | "delivered" | "read" | "uncertain after a resend"));
    out.push(Finding {
        name: "every reply reached WhatsApp, or is shown unconfirmed after its one resend",
        ok: delivered_ok,
        detail: by_status.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", "),
    });

    let mut sends: HashMap<String, usize> = HashMap::new();
    for s in graph.sends() {
        let key = s.callback().unwrap_or("(none)").to_owned();
        *sends.entry(key).or_default() += 1;
    }
    let resent: Vec<String> = sqlx::query_scalar(
        "select message_id::text from messages where author = 'bot' and resent_at is not null",
    )
    .fetch_all(pool)
    .await?;
    let dup: Vec<(&String, &usize)> = sends.iter().filter(|(_, n)| **n > 1).collect();
    let unexplained = dup.iter().filter(|(id, _)| !resent.contains(id)).count();
    out.push(Finding {
        name: "no reply sent twice (Graph fake's count), outside reconciled uncertain sends",
        ok: unexplained == 0,
        detail: format!(
            "{} sends for {} messages; sent twice: {} ({} after an unconfirmed uncertain send, {unexplained} unexplained)",
            sends.values().sum::<usize>(),
            sends.len(),
            dup.len(),
            dup.len() - unexplained
        ),
    });

    let live = live_jobs(pool).await?;
    let events = unprocessed_events(pool).await?;
    let dead: Vec<(String, i64)> = sqlx::query_as(
        "select job_type, count(*) from apalis.jobs
          where status = 'Killed' or (status = 'Failed' and attempts >= max_attempts) group by 1 order by 1",
    )
    .fetch_all(pool)
    .await?;
    let unexplained_dead: i64 = sqlx::query_scalar(
        "select count(*) from apalis.jobs j
          where (j.status = 'Killed' or (j.status = 'Failed' and j.attempts >= j.max_attempts))
            and not exists (select 1 from job_errors e where e.task_id = j.id)",
    )
    .fetch_one(pool)
    .await?;
    out.push(Finding {
        name: "no job left pending or running; dead ones have a reason",
        ok: live == 0 && events == 0 && unexplained_dead == 0,
        detail: format!(
            "live jobs {live}, unprocessed webhook events {events}, dead: [{}], dead without a recorded error {unexplained_dead}",
            dead.iter().map(|(q, n)| format!("{q} {n}")).collect::<Vec<_>>().join(", ")
        ),
    });
    Ok(out)
}

/// A line on what the run put the system through: attempt errors by kind, and how the
/// uncertain sends ended.
pub async fn what_happened(pool: &PgPool) -> Result<String, sqlx::Error> {
    let kinds: Vec<(String, i64)> =
        sqlx::query_as("select kind, count(*) from job_errors group by kind order by kind")
            .fetch_all(pool)
            .await?;
    let notes: Vec<(String, i64)> = sqlx::query_as(
        "select coalesce(delivery_note, status), count(*) from messages
          where author = 'bot' and (delivery_note is not null or status = 'uncertain') group by 1 order by 1",
    )
    .fetch_all(pool)
    .await?;
    let list = |v: &[(String, i64)]| v.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ");
    Ok(format!("attempt errors: [{}]; uncertain sends ended: [{}]", list(&kinds), list(&notes)))
}
