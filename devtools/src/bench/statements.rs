//! Statements per message: what `pg_stat_statements` counted in one scenario's database
//! (every statement the web and worker processes sent, `BEGIN` and `COMMIT` included),
//! and the statements that cost most, per message. Only where the bench's Postgres loads
//! the extension (`shared_preload_libraries`; the project-local cluster of `scripts/bench`
//! does); elsewhere it says how to turn it on and measures nothing.

use sqlx::PgPool;

/// The counter, reset for one scenario's database.
pub(super) struct Counter {
    db: PgPool,
}

impl Counter {
    /// `None` (with a line saying why) where the server does not load the extension.
    pub async fn start(db: &PgPool) -> anyhow::Result<Option<Self>> {
        let preload: String =
            sqlx::query_scalar("select current_setting('shared_preload_libraries')").fetch_one(db).await?;
        if !preload.split(',').any(|l| l.trim() == "pg_stat_statements") {
            println!(
                "bench: statements per message not counted: the server does not load pg_stat_statements \
                 (shared_preload_libraries = 'pg_stat_statements', then restart)"
            );
            return Ok(None);
        }
        sqlx::query("create extension if not exists pg_stat_statements").execute(db).await?;
        sqlx::query(
            "select pg_stat_statements_reset(0, (select oid from pg_database where datname = current_database()), 0)",
        )
        .execute(db)
        .await?;
        Ok(Some(Self { db: db.clone() }))
    }

    /// Statements per message since the start, printing the ten most frequent.
    pub async fn per_message(&self, messages: usize) -> anyhow::Result<f64> {
        let per = |calls: i64| calls as f64 / messages.max(1) as f64;
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "select calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 110)
               from pg_stat_statements
              where dbid = (select oid from pg_database where datname = current_database())
                and query not like '%pg_stat_statements%'
              order by calls desc",
        )
        .fetch_all(&self.db)
        .await?;
        let total: i64 = rows.iter().map(|(c, _)| c).sum();
        println!("bench: {:.1} statements per message; the most frequent, per message:", per(total));
        for (calls, query) in rows.iter().take(10) {
            println!("  {:>6.2}  {query}", per(*calls));
        }
        Ok(per(total))
    }
}
