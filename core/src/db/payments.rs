//! Payments' SQL: an invoice's payment state beside its immutable rows (the Moyasar
//! invoice and link, paid, flagged for staff, reminded), Moyasar's webhook events kept by
//! their id, and the dunning's scans and the bot's pause for an unpaid invoice
//! (`tenants.billing_hold_since`). `crate::billing::pay` decides; this file only stores.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::domain::TenantId;

/// What changes about an issued invoice after it is issued.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentState {
    pub status: String,
    pub moyasar_id: Option<String>,
    pub pay_url: Option<String>,
    pub payment_id: Option<String>,
    pub flagged: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
}

/// `tenant`'s invoice's payment state.
pub async fn state(
    conn: &mut PgConnection,
    tenant: TenantId,
    invoice: Uuid,
) -> Result<Option<PaymentState>, sqlx::Error> {
    sqlx::query_as(
        "select s.status, s.moyasar_id, s.pay_url, s.payment_id, s.flagged, s.paid_at
           from invoice_states s join invoices i using (invoice_id)
          where i.tenant_id = $1 and s.invoice_id = $2",
    )
    .bind(tenant)
    .bind(invoice)
    .fetch_optional(conn)
    .await
}

/// Records the Moyasar invoice made for `invoice` (once: false if one is recorded).
pub async fn record_link(
    conn: &mut PgConnection,
    tenant: TenantId,
    invoice: Uuid,
    moyasar_id: &str,
    url: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update invoice_states s set moyasar_id = $3, pay_url = $4, updated_at = now()
           from invoices i
          where i.invoice_id = s.invoice_id and i.tenant_id = $1 and s.invoice_id = $2
            and s.moyasar_id is null",
    )
    .bind(tenant)
    .bind(invoice)
    .bind(moyasar_id)
    .bind(url)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whose invoice a Moyasar invoice id is (the tenant is what the lookup finds).
pub async fn by_moyasar_id(
    conn: &mut PgConnection,
    moyasar_id: &str,
) -> Result<Option<(TenantId, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "select i.tenant_id, i.invoice_id from invoice_states s join invoices i using (invoice_id)
          where s.moyasar_id = $1",
    )
    .bind(moyasar_id)
    .fetch_optional(conn)
    .await
}

/// What a callback naming an invoice may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Callback {
    /// Queue a refetch of the tenant's invoice (marked pending now).
    Refetch(TenantId, Uuid),
    /// A refetch of it is already pending.
    Pending,
    /// No invoice of ours has that Moyasar id.
    Unknown,
}

/// Marks a refetch of the invoice Moyasar calls `moyasar_id` pending, unless one is (a
/// pending mark older than ten minutes is taken as lost).
pub async fn claim_refetch(conn: &mut PgConnection, moyasar_id: &str) -> Result<Callback, sqlx::Error> {
    let claimed: Option<(TenantId, Uuid)> = sqlx::query_as(
        "update invoice_states s set refetch_queued_at = now() from invoices i
          where s.moyasar_id = $1 and i.invoice_id = s.invoice_id
            and (s.refetch_queued_at is null or s.refetch_queued_at < now() - interval '10 minutes')
         returning i.tenant_id, i.invoice_id",
    )
    .bind(moyasar_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match claimed {
        Some((tenant, invoice)) => Callback::Refetch(tenant, invoice),
        None if by_moyasar_id(conn, moyasar_id).await?.is_some() => Callback::Pending,
        None => Callback::Unknown,
    })
}

/// The refetch a callback queued is running: the next callback may queue another.
pub async fn refetch_started(pool: &PgPool, tenant: TenantId, invoice: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update invoice_states s set refetch_queued_at = null from invoices i
          where s.invoice_id = $2 and i.invoice_id = s.invoice_id and i.tenant_id = $1
            and s.refetch_queued_at is not null",
    )
    .bind(tenant)
    .bind(invoice)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks an open invoice paid by `payment_id`; false if it was not open.
pub async fn mark_paid(
    conn: &mut PgConnection,
    tenant: TenantId,
    invoice: Uuid,
    payment_id: &str,
    at: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update invoice_states s set status = 'paid', paid_at = $4, payment_id = $3,
                checked_at = now(), updated_at = now()
           from invoices i
          where i.invoice_id = s.invoice_id and i.tenant_id = $1 and s.invoice_id = $2
            and s.status = 'open'",
    )
    .bind(tenant)
    .bind(invoice)
    .bind(payment_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Flags an invoice for staff with `reason`; false if it already carries that reason.
pub async fn flag(
    conn: &mut PgConnection,
    tenant: TenantId,
    invoice: Uuid,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update invoice_states s set flagged = $3, flagged_at = now(), checked_at = now(), updated_at = now()
           from invoices i
          where i.invoice_id = s.invoice_id and i.tenant_id = $1 and s.invoice_id = $2
            and s.flagged is distinct from $3",
    )
    .bind(tenant)
    .bind(invoice)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes that Moyasar was asked about the invoice.
pub async fn checked(conn: &mut PgConnection, tenant: TenantId, invoice: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update invoice_states s set checked_at = now() from invoices i
          where i.invoice_id = s.invoice_id and i.tenant_id = $1 and s.invoice_id = $2",
    )
    .bind(tenant)
    .bind(invoice)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every open invoice with its Moyasar invoice, if it has one (the reconciliation).
pub async fn open_invoices(pool: &PgPool) -> Result<Vec<(TenantId, Uuid, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "select i.tenant_id, i.invoice_id, s.moyasar_id from invoice_states s join invoices i using (invoice_id)
          where s.status = 'open' and i.kind = 'invoice' order by i.issued_at",
    )
    .fetch_all(pool)
    .await
}

/// A Moyasar webhook event as received.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub event_id: String,
    pub kind: String,
    pub object_id: String,
    pub processed_at: Option<DateTime<Utc>>,
}

/// Keeps an event; false if its id was seen before (a redelivery).
pub async fn insert_event(
    conn: &mut PgConnection,
    event_id: &str,
    kind: &str,
    object_id: &str,
    live: bool,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into moyasar_events (event_id, kind, object_id, live) values ($1, $2, $3, $4)
         on conflict (event_id) do nothing",
    )
    .bind(event_id)
    .bind(kind)
    .bind(object_id)
    .bind(live)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn event(conn: &mut PgConnection, event_id: &str) -> Result<Option<Event>, sqlx::Error> {
    sqlx::query_as("select event_id, kind, object_id, processed_at from moyasar_events where event_id = $1")
        .bind(event_id)
        .fetch_optional(conn)
        .await
}

pub async fn event_processed(conn: &mut PgConnection, event_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update moyasar_events set processed_at = now() where event_id = $1 and processed_at is null",
    )
    .bind(event_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Open invoices issued before `before` whose reminder has not gone out.
pub async fn reminders_due(
    pool: &PgPool,
    before: DateTime<Utc>,
) -> Result<Vec<(TenantId, Uuid)>, sqlx::Error> {
    sqlx::query_as(
        "select i.tenant_id, i.invoice_id from invoice_states s join invoices i using (invoice_id)
          where s.status = 'open' and i.kind = 'invoice' and s.reminded_at is null and i.issued_at < $1
          order by i.issued_at",
    )
    .bind(before)
    .fetch_all(pool)
    .await
}

/// Claims `invoice`'s reminder (true once, and only while it is open).
pub async fn claim_reminder(
    conn: &mut PgConnection,
    tenant: TenantId,
    invoice: Uuid,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "update invoice_states s set reminded_at = now(), updated_at = now() from invoices i
          where i.invoice_id = s.invoice_id and i.tenant_id = $1 and s.invoice_id = $2
            and s.status = 'open' and s.reminded_at is null",
    )
    .bind(tenant)
    .bind(invoice)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Businesses not yet paused that have an open invoice issued before `before`.
pub async fn holds_due(pool: &PgPool, before: DateTime<Utc>) -> Result<Vec<TenantId>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct t.tenant_id from tenants t join invoices i using (tenant_id)
           join invoice_states s using (invoice_id)
          where t.billing_hold_since is null and s.status = 'open' and i.kind = 'invoice'
            and i.issued_at < $1",
    )
    .bind(before)
    .fetch_all(pool)
    .await
}

/// An open invoice of tenant `t` issued before `$2`.
const OVERDUE: &str = "select 1 from invoices i join invoice_states s using (invoice_id)
                        where i.tenant_id = t.tenant_id and s.status = 'open' and i.kind = 'invoice'
                          and i.issued_at < $2";

/// Pauses `tenant`'s bot for an unpaid invoice issued before `before` (true if it paused now).
pub async fn hold(
    conn: &mut PgConnection,
    tenant: TenantId,
    before: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "update tenants t set billing_hold_since = now()
          where t.tenant_id = $1 and t.billing_hold_since is null and exists ({OVERDUE})"
    )))
    .bind(tenant)
    .bind(before)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Lifts `tenant`'s pause unless another invoice issued before `before` is still open
/// (true if it was lifted now).
pub async fn release(
    conn: &mut PgConnection,
    tenant: TenantId,
    before: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "update tenants t set billing_hold_since = null
          where t.tenant_id = $1 and t.billing_hold_since is not null and not exists ({OVERDUE})"
    )))
    .bind(tenant)
    .bind(before)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Since when `tenant`'s bot is paused for an unpaid invoice.
pub async fn hold_since(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("select billing_hold_since from tenants where tenant_id = $1")
        .bind(tenant)
        .fetch_one(conn)
        .await
}
