//! The changes an open inbox shows, on their way to the pages: the triggers of `messages`,
//! `conversations` and `notes` write one `inbox_news` row per change, inside the writer's
//! transaction (a NOTIFY there would make every writer's commit wait for every other's:
//! Postgres serialises the commits of notifying transactions database-wide), and the web
//! processes take the committed rows and announce them on the `inbox` channel, a batch per
//! statement (`web::live`).

use sqlx::PgPool;

/// The channel the live inbox listens on.
pub const CHANNEL: &str = "inbox";

/// Takes up to `limit` committed changes (rows another process is taking are skipped) and
/// announces them, one notification per conversation: `<tenant> <conversation>`, with
/// ` handoff` when the change made it need a person. How many changes were taken. One
/// statement; it does not wait for its commit to be flushed (the table is unlogged: a page
/// re-reads everything after a restart anyway).
pub async fn announce(pool: &PgPool, limit: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "with quiet as (select set_config('synchronous_commit', 'off', true)),
              taken as (
                delete from inbox_news
                 where ctid = any(array(select ctid from inbox_news limit $1 for update skip locked))
             returning tenant_id, conversation_id, handoff),
              sent as (
                select pg_notify($2, tenant_id::text || ' ' || conversation_id::text
                                     || case when bool_or(handoff) then ' handoff' else '' end)
                  from taken group by tenant_id, conversation_id)
         select count(*) from taken
          where (select count(*) from sent) >= 0 and (select count(*) from quiet) = 1",
    )
    .bind(limit)
    .bind(CHANNEL)
    .fetch_one(pool)
    .await
}
