//! Fair claims: one tenant's backlog does not hold up another tenant's jobs. Claims go
//! round-robin by tenant, so a newcomer waits at most one round, not the whole backlog.

use std::time::Duration;

use chrono::{DateTime, Utc};
use mujibak_core::domain::TenantId;
use mujibak_jobs::{enqueue, enqueue_many, worker::WorkerOptions, Job, JobContext, JobError};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::helpers::{eventually, log_run, migrated, runs, TestWorker};

/// A tenant's job of about the cost of a `handle_inbound` (20 ms).
#[derive(Serialize, Deserialize)]
struct TenantWork {
    tenant_id: TenantId,
    key: Option<String>,
}

impl Job for TenantWork {
    const QUEUE: &'static str = "test_tenant_work";
    const CONCURRENCY: usize = 3;

    fn tenant(&self) -> Option<TenantId> {
        Some(self.tenant_id)
    }

    async fn run(self, ctx: &JobContext) -> Result<(), JobError> {
        if let Some(key) = &self.key {
            log_run(&ctx.db, key).await?;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(())
    }
}

async fn pending(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from apalis.jobs where job_type = $1 and status = 'Pending'")
        .bind(TenantWork::QUEUE)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = false)]
async fn another_tenants_job_starts_within_a_second_of_a_ten_thousand_job_backlog(pool: PgPool) {
    // Arrange: tenant A floods the queue with 10,000 jobs (about a minute of work).
    migrated(&pool).await;
    let (a, b) = (TenantId::new(), TenantId::new());
    let flood: Vec<_> = (0..10_000).map(|_| TenantWork { tenant_id: a, key: None }).collect();
    let mut tx = pool.begin().await.unwrap();
    enqueue_many(&mut tx, &flood).await.unwrap();
    tx.commit().await.unwrap();
    // Production's worker settings: fairness needs no fast rescue, and a one-second orphan
    // window (the fast options) can count a heartbeat slowed by a busy machine as a lost
    // lease, which makes the worker wait for Postgres before its next claims.
    let _worker = TestWorker::start::<TenantWork>(&pool, &WorkerOptions::default());
    eventually(Duration::from_secs(20), "the backlog to be worked on", || async {
        (pending(&pool).await <= 9_950).then_some(())
    })
    .await;

    // Act: one job of tenant B.
    let mut tx = pool.begin().await.unwrap();
    enqueue(&mut tx, &TenantWork { tenant_id: b, key: Some("b".into()) }).await.unwrap();
    let committed_at: DateTime<Utc> =
        sqlx::query_scalar("select clock_timestamp()").fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    let started = eventually(Duration::from_secs(120), "tenant B's job to start", || async {
        runs(&pool, "b").await.first().copied()
    })
    .await;

    // Assert
    let waited = (started - committed_at).to_std().unwrap_or_default();
    assert!(waited < Duration::from_secs(1), "tenant B waited {waited:?} behind tenant A's backlog");
    assert!(pending(&pool).await > 9_000, "B did not wait for the backlog to drain");
}
