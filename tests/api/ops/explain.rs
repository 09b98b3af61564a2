//! With a million finished job rows (and a live backlog) the queues page's statements and
//! every variant of the job list read the jobs table through indexes: no plan holds a
//! sequential scan of `apalis.jobs`.

use mujibak_core::{
    db::{ops_jobs, ops_queues},
    ops::stats,
};
use sqlx::PgPool;

const SEED: &str = "
insert into apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, lock_at, done_at, last_result, metadata)
select 'X' || lpad(i::text, 12, '0'),
       (array['handle_inbound', 'generate_reply', 'send_message', 'send_email'])[1 + i % 4],
       '\\x7b7d'::bytea, 'Done', 1, 8,
       now() - make_interval(secs => i * 0.08), now() - make_interval(secs => i * 0.08 - 0.01),
       now() - make_interval(secs => i * 0.08 - 0.05), '{\"Ok\": null}',
       hstore('tenant', '00000000-0000-0000-0000-' || lpad((i % 200)::text, 12, '0'))
  from generate_series(1, 1000000) i";

const BACKLOG: &str = "
insert into apalis.jobs (id, job_type, job, status, attempts, max_attempts, run_at, done_at, metadata)
select 'B' || lpad(i::text, 12, '0'), 'send_message', '\\x7b7d'::bytea,
       (array['Pending', 'Pending', 'Failed', 'Killed'])[1 + i % 4], 1 + i % 9, 8,
       now() + make_interval(secs => (i % 3 - 1) * 60), case when i % 4 >= 2 then now() end,
       hstore('tenant', '00000000-0000-0000-0000-' || lpad((i % 200)::text, 12, '0'))
  from generate_series(1, 2000) i";

async fn plan(pool: &PgPool, sql: &str, binds: &[Option<String>]) -> String {
    let mut query = sqlx::query_scalar::<_, serde_json::Value>(sqlx::AssertSqlSafe(format!(
        "explain (format json) {sql}"
    )));
    for b in binds {
        query = query.bind(b.clone());
    }
    query.fetch_one(pool).await.unwrap_or_else(|e| panic!("explain {sql}: {e}")).to_string()
}

fn assert_no_seq_scan_of_jobs(what: &str, plan: &str) {
    let v: serde_json::Value = serde_json::from_str(plan).unwrap();
    let mut stack = vec![&v];
    while let Some(node) = stack.pop() {
        match node {
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(map) => {
                let seq = map.get("Node Type").and_then(|t| t.as_str()) == Some("Seq Scan");
                let jobs = map.get("Relation Name").and_then(|t| t.as_str()) == Some("jobs");
                assert!(!(seq && jobs), "{what}: sequential scan of apalis.jobs\n{plan}");
                stack.extend(map.values());
            }
            _ => {}
        }
    }
}

#[sqlx::test(migrations = false)]
async fn the_queues_page_and_the_job_list_read_a_million_finished_rows_through_indexes(pool: PgPool) {
    crate::helpers::migrated(&pool).await;
    sqlx::query(SEED).execute(&pool).await.unwrap();
    sqlx::query(BACKLOG).execute(&pool).await.unwrap();
    sqlx::query("analyze apalis.jobs").execute(&pool).await.unwrap();

    assert_no_seq_scan_of_jobs("queue counts", &plan(&pool, ops_queues::COUNTS_SQL, &[]).await);
    let tenant = Some("00000000-0000-0000-0000-000000000007".to_owned());
    for state in ops_jobs::State::ALL {
        for queue in [None, Some("send_message".to_owned())] {
            for tenant in [None, tenant.clone()] {
                let filter =
                    ops_jobs::Filter { queue: queue.clone(), state: Some(state), tenant: tenant.clone() };
                let sql = ops_jobs::list_sql(&filter).replace("$3", "100");
                let what = format!("job list {filter:?}");
                assert_no_seq_scan_of_jobs(&what, &plan(&pool, &sql, &[queue.clone(), tenant.clone()]).await);
            }
        }
    }

    // The page itself answers from these statements and the rollup (a day of minutes).
    let now = chrono::Utc::now();
    let rolled = stats::rollup(&pool, now - chrono::Duration::hours(25), now).await.unwrap().unwrap();
    assert!(rolled > 1000, "{rolled} minute rows");
    let overview = stats::overview(&pool, &["handle_inbound", "send_message"]).await.unwrap();
    let send = overview.queues.iter().find(|q| q.counts.queue == "send_message").unwrap();
    assert_eq!((send.counts.pending + send.counts.scheduled + send.counts.retrying + send.counts.dead), 2000);
    assert!(send.done_24h > 200_000, "{}", send.done_24h);
    assert_eq!(send.hour.run_p50_ms, Some(50.0), "run time is 40 ms: the 20..50 ms bucket");
}
