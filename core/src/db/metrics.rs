//! `metric_samples`: every process's counts, one row per process × sample (see
//! `metrics::flush` for why rows hold increments added up, and what folding does). Not
//! tenant data: label values are queue names and constants, never ids or text.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::metrics::Sample;

/// The process name of the row that holds the folded counts of retired rows.
pub const RETIRED: &str = "";

/// Adds `deltas` to `process`'s rows, in one statement.
pub async fn add(pool: &PgPool, process: &str, deltas: &[Sample]) -> Result<(), sqlx::Error> {
    let names: Vec<&str> = deltas.iter().map(|s| s.name.as_str()).collect();
    let labels: Vec<&str> = deltas.iter().map(|s| s.labels.as_str()).collect();
    let values: Vec<f64> = deltas.iter().map(|s| s.value).collect();
    sqlx::query(
        "insert into metric_samples (process, name, labels, value, seen_at)
         select $1, n, l, v, now() from unnest($2::text[], $3::text[], $4::float8[]) as t(n, l, v)
         on conflict (process, name, labels)
           do update set value = metric_samples.value + excluded.value, seen_at = now()",
    )
    .bind(process)
    .bind(&names)
    .bind(&labels)
    .bind(&values)
    .execute(pool)
    .await?;
    Ok(())
}

/// Folds the rows not written since `before` into the retired row of their sample, in one
/// statement (no sum changes). Returns how many rows were folded.
pub async fn fold_stale(pool: &PgPool, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    sqlx::query_scalar(
        "with gone as (
           delete from metric_samples where process <> $2 and seen_at < $1
           returning name, labels, value),
         folded as (
           insert into metric_samples (process, name, labels, value, seen_at)
           select $2, name, labels, sum(value), now() from gone group by name, labels
           on conflict (process, name, labels)
             do update set value = metric_samples.value + excluded.value, seen_at = now()
           returning 1)
         select count(*) from gone",
    )
    .bind(before)
    .bind(RETIRED)
    .fetch_one(pool)
    .await
    .map(|n: i64| n as u64)
}

/// Every sample summed over the processes.
pub async fn totals(pool: &PgPool) -> Result<Vec<Sample>, sqlx::Error> {
    let rows: Vec<(String, String, f64)> =
        sqlx::query_as("select name, labels, sum(value) from metric_samples group by name, labels")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|(name, labels, value)| Sample { name, labels, value }).collect())
}
