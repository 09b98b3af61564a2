//! Account deletion, the privacy policy's 30-day promise: a request (by the owner, with
//! their password, or by staff for a request that came by email) disables the account at
//! once (the gate, `accounts::status`) and schedules the purge after a grace period the
//! owner can cancel within; [`carry_out`] then purges (`crate::purge`, plus the job error
//! history it does not cover) and closes the request. Each step writes an audit row.
//! Emailing and enqueueing are the callers' (web and jobs), on the same transaction.
//! Must not: render templates or know apalis (no jobs crate here).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

pub use crate::db::deletion_requests::Request;
use crate::{
    db::{
        audit::{self, Actor},
        deletion_requests::{self as db, NewRequest},
    },
    domain::{DeletionRequestId, EmailId, TenantId},
    purge::{purge_content, Purged},
};

/// The promise: content is gone within this long of the request.
pub const PROMISE: Duration = Duration::days(30);
/// Requests older than this are purged by the sweep whatever their grace (the sweep runs
/// daily, so a day's margin, and one more for a failed run).
pub const MUST_PURGE_AFTER: Duration = Duration::days(28);
/// The longest grace configuration accepts (`DELETION_GRACE_DAYS`).
pub const MAX_GRACE_DAYS: u32 = 29;

/// Why a deletion step was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeletionError {
    #[error("a deletion is already requested for this account")]
    AlreadyRequested,
    #[error("no deletion is pending for this account")]
    NotPending,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Records a deletion request of `tenant` by `actor` (audited; `reason` is staff's note),
/// purged after `grace`. The caller emails the confirmation ([`confirmation_queued`]) and
/// enqueues the purge at the returned request's `purge_after`, on the same transaction.
pub async fn request(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
    reason: Option<&str>,
    grace: Duration,
) -> Result<Request, DeletionError> {
    let grace = grace.clamp(Duration::zero(), Duration::days(MAX_GRACE_DAYS.into()));
    let (kind, by) = match actor {
        Actor::User(id) => ("user", Some(id.to_string())),
        Actor::Staff(id) => ("staff", Some(id.clone())),
        Actor::System => ("system", None),
    };
    let new = NewRequest {
        request_id: DeletionRequestId::new(),
        by_kind: kind,
        by: by.as_deref(),
        reason,
        grace_secs: grace.num_seconds(),
    };
    let req = db::insert(conn, tenant, &new).await?.ok_or(DeletionError::AlreadyRequested)?;
    let detail = json!({ "request_id": req.request_id, "purge_after": req.purge_after, "reason": reason });
    audit::record(conn, Some(tenant), actor, "deletion_requested", detail).await?;
    tracing::info!(tenant.id = %tenant, request.id = %req.request_id, "account deletion requested");
    Ok(req)
}

/// A deletion asked for by email, started by staff: audited with `reason` (which
/// request, how the sender was identified). Same effects as the owner's request; the
/// caller (the ops console) emails and enqueues as for [`request`], or leaves the purge
/// to the daily sweep.
pub async fn request_by_staff(
    conn: &mut PgConnection,
    tenant: TenantId,
    staff: &Actor,
    reason: &str,
    grace: Duration,
) -> Result<Request, DeletionError> {
    debug_assert!(matches!(staff, Actor::Staff(_)), "request_by_staff takes a staff actor");
    request(conn, tenant, staff, Some(reason), grace).await
}

/// Notes the outbox id of the request's confirmation email: the purge waits for it to be
/// handled (the purge erases the address and the outbox).
pub async fn confirmation_queued(
    conn: &mut PgConnection,
    tenant: TenantId,
    request: DeletionRequestId,
    email: EmailId,
) -> Result<(), sqlx::Error> {
    db::set_confirmation(conn, tenant, request, email).await
}

/// The open request of `tenant`, if any.
pub async fn pending(conn: &mut PgConnection, tenant: TenantId) -> Result<Option<Request>, sqlx::Error> {
    db::open(conn, tenant).await
}

/// Cancels the open request of `tenant` (the account works again at once; a scheduled
/// purge finds it cancelled and does nothing). Audited.
pub async fn cancel(
    conn: &mut PgConnection,
    tenant: TenantId,
    actor: &Actor,
) -> Result<Request, DeletionError> {
    let by = match actor {
        Actor::User(id) => id.to_string(),
        Actor::Staff(id) => id.clone(),
        Actor::System => "system".into(),
    };
    let req = db::cancel(conn, tenant, &by).await?.ok_or(DeletionError::NotPending)?;
    audit::record(conn, Some(tenant), actor, "deletion_cancelled", json!({ "request_id": req.request_id }))
        .await?;
    tracing::info!(tenant.id = %tenant, request.id = %req.request_id, "account deletion cancelled");
    Ok(req)
}

/// What [`carry_out`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Cancelled, already completed, or no such request: nothing to do.
    Nothing,
    /// Not due yet (its grace runs until then).
    NotYet(DateTime<Utc>),
    /// The confirmation email is still queued: purging now would erase it unsent.
    WaitingForConfirmation,
    Purged(Purged),
}

/// Purges `tenant` for `request` if it is still open and due, then closes it (audited).
/// Re-reads the request first; safe to run again after a crash anywhere (the purge is
/// idempotent, and only the run that closes the request writes the completion row).
pub async fn carry_out(
    pool: &PgPool,
    tenant: TenantId,
    request: DeletionRequestId,
) -> Result<Outcome, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let Some(req) = db::get(&mut conn, tenant, request).await? else { return Ok(Outcome::Nothing) };
    if req.cancelled_at.is_some() || req.completed_at.is_some() {
        return Ok(Outcome::Nothing);
    }
    let now = Utc::now();
    let overdue = req.requested_at <= now - MUST_PURGE_AFTER;
    if req.purge_after > now && !overdue {
        return Ok(Outcome::NotYet(req.purge_after));
    }
    if let Some(email) = req.confirmation_email {
        let unsent =
            matches!(db::email_status(&mut conn, email).await?.as_deref(), Some("queued" | "sending"));
        if unsent && !overdue {
            return Ok(Outcome::WaitingForConfirmation);
        }
    }
    db::delete_job_errors(&mut conn, tenant).await?;
    drop(conn);
    let purged = purge_content(pool, tenant).await?;
    let mut tx = pool.begin().await?;
    if db::complete(&mut tx, tenant, request).await? {
        let detail =
            json!({ "request_id": request, "content_rows": purged.content_rows, "jobs": purged.jobs });
        audit::record(&mut tx, Some(tenant), &Actor::System, "account_deleted", detail).await?;
    }
    tx.commit().await?;
    tracing::info!(tenant.id = %tenant, request.id = %request, rows = purged.content_rows, "account deleted");
    Ok(Outcome::Purged(purged))
}

/// Open requests the sweep must purge now (past their date, or close to the promise).
pub async fn due(pool: &PgPool) -> Result<Vec<Request>, sqlx::Error> {
    db::due(pool, Utc::now() - MUST_PURGE_AFTER).await
}
