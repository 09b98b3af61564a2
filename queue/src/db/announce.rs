//! Announcing committed jobs (`crate::announce`): one transaction that finds which of the
//! ids it is given it can see (committed) and sends one NOTIFY per queue among them on
//! apalis' channel, with the payload apalis' insert trigger used to send.

use sqlx::PgPool;

/// The channel workers listen on (`crate::wake`).
pub const CHANNEL: &str = "apalis::job::insert";

/// Notifies the queues of the jobs of `ids` that are committed; those ids. One statement;
/// its transaction does not wait for its commit to be flushed (a wake-up lost in a crash is
/// caught by the workers' fallback poll).
pub async fn announce_committed(pool: &PgPool, ids: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "with quiet as (select set_config('synchronous_commit', 'off', true)),
              seen as (select id, job_type from apalis.jobs where id = any($1::text[])),
              sent as (select pg_notify($2, json_build_object('job_type', q)::text)
                         from (select distinct job_type as q from seen) d)
         select id from seen
          where (select count(*) from sent) >= 0 and (select count(*) from quiet) = 1",
    )
    .bind(ids)
    .bind(CHANNEL)
    .fetch_all(pool)
    .await
}
