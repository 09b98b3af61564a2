//! Staff actions on jobs: retry now, cancel, discard. Each runs in one transaction with
//! its audit row (action `job_retried`, `job_cancelled`, `job_discarded`, naming the job, its
//! queue and tenant), so an action that happened is always audited and an audited action
//! always happened. Why an action may be refused is in `db::ops_jobs`.

use serde_json::json;
use sqlx::PgPool;

use super::{tokens::Staff, OpsError};
use crate::{
    db::{audit, ops_jobs},
    domain::TenantId,
};

/// A staff action on one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Retry,
    Cancel,
    Discard,
}

impl Action {
    /// The audit log's action.
    pub fn audited_as(self) -> &'static str {
        match self {
            Action::Retry => "job_retried",
            Action::Cancel => "job_cancelled",
            Action::Discard => "job_discarded",
        }
    }

    fn refusal(self) -> &'static str {
        match self {
            Action::Retry => "only a scheduled, retrying or dead job can be retried now",
            Action::Cancel => {
                "only a pending, scheduled or retrying job can be cancelled (it is running or finished)"
            }
            Action::Discard => "only a dead job can be discarded",
        }
    }
}

/// Applies `action` to job `id` for `staff`, audited in the same transaction.
pub async fn apply(pool: &PgPool, staff: &Staff, id: &str, action: Action) -> Result<(), OpsError> {
    let mut tx = pool.begin().await?;
    let (queue, tenant) = ops_jobs::queue_and_tenant(&mut tx, id).await?.ok_or(OpsError::NoSuchJob)?;
    let applied = match action {
        Action::Retry => ops_jobs::retry_now(&mut tx, id).await?,
        Action::Cancel => {
            ops_jobs::cancel(&mut tx, id, &format!("cancelled by staff ({})", staff.name)).await?
        }
        Action::Discard => ops_jobs::discard(&mut tx, id).await?,
    };
    if !applied {
        return Err(OpsError::Conflict(action.refusal()));
    }
    let tenant: Option<TenantId> = tenant.and_then(|t| t.parse().ok());
    audit::record(&mut tx, tenant, &staff.actor(), action.audited_as(), json!({ "job": id, "queue": queue }))
        .await?;
    tx.commit().await?;
    Ok(())
}
