//! Purging a tenant's conversation content, the heart of an account deletion: messages,
//! raw webhook events, parked statuses, conversations and contacts in batches of
//! [`BATCH`] rows, pausing after each three times as long as it took (short transactions
//! at a quarter of the database's time: other tenants keep writing meanwhile), then the
//! email outbox, links, sessions, connections and their secrets, bot settings, data exports and the
//! tenant's job rows, with the business's name and its users anonymised, in one transaction
//! that also writes the audit row. Invoices and usage, the nameless tenant row and the audit
//! log stay. Idempotent: a
//! purge interrupted anywhere is finished by running it again. An account deletion runs
//! it through `crate::deletion::carry_out`; `scripts/bench` and the tests call it too.

use serde_json::json;
use sqlx::PgPool;

use crate::{
    db::{
        audit::{self, Actor},
        purge::{self, Content, Scope},
    },
    domain::TenantId,
};

/// Rows deleted per statement.
pub const BATCH: i64 = 1_000;

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Rows of the content tables.
    pub content_rows: u64,
    /// Job rows.
    pub jobs: u64,
}

/// Purges `tenant`'s conversation content; see the module doc.
pub async fn purge_content(pool: &PgPool, tenant: TenantId) -> Result<Purged, sqlx::Error> {
    let mut purged = Purged { content_rows: purge_rows(pool, tenant, Scope::Tenant).await?, jobs: 0 };
    let mut tx = pool.begin().await?;
    purged.jobs = purge::personal_rows(&mut tx, tenant).await?;
    let detail = json!({ "content_rows": purged.content_rows, "jobs": purged.jobs });
    audit::record(&mut tx, Some(tenant), &Actor::System, "content_purged", detail).await?;
    tx.commit().await?;
    Ok(purged)
}

/// Deletes the content rows of `scope` (a tenant's, or one customer's: the erasure uses
/// the same path) table by table in batches of [`BATCH`], pausing after each batch three
/// times as long as it took. How many rows went.
pub(crate) async fn purge_rows(pool: &PgPool, tenant: TenantId, scope: Scope) -> Result<u64, sqlx::Error> {
    let mut rows = 0;
    for table in Content::ALL {
        loop {
            let started = std::time::Instant::now();
            let n = purge::delete_batch(pool, tenant, table, scope, BATCH).await?;
            rows += n;
            if n < BATCH as u64 {
                break;
            }
            // Three quarters of the time for everyone else: other tenants' writes share
            // the database.
            tokio::time::sleep(started.elapsed() * 3).await;
        }
    }
    Ok(rows)
}
