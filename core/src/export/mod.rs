//! Data exports, the privacy policy's "access or export your data": an owner asks
//! ([`request`], audited; one export in the making per tenant), the `export_data` job
//! builds the ZIP ([`build`]) and marks it ready for [`KEEP_FOR`] ([`finish`]), the owner
//! downloads it while signed in, and the hourly sweep deletes it after that ([`expire`]).
//!
//! An owner can also export one customer (the business honouring its customer's access
//! request): the same files in the same format, holding only that customer's rows
//! (`contacts.json`, `conversations.json`, `notes.json`, `media.json`, `messages.csv`,
//! `media/`).
//!
//! The ZIP holds everything kept for the tenant, secrets excepted (`db::export_rows`):
//! `account.json` (the business and its bot settings), a JSON array per table (users,
//! WhatsApp connections, contacts, conversations, daily usage, the audit log, invoices and
//! credit notes with their lines) and `messages.csv`, with a `README.txt` saying what each
//! file is. Rows are read a page at a time ([`Limits::page`]) and the archive
//! is written through a streaming ZIP writer into chunks of [`Limits::chunk_bytes`]
//! stored in Postgres (web and worker processes share no disk), so memory stays at about
//! one page plus one chunk whatever the tenant's size. A retried build starts over.
//! Must not: render templates or know apalis.

use std::{
    io::Write,
    sync::{Arc, Mutex},
};

mod csv;
mod readme;

use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use zip::{
    write::{SimpleFileOptions, StreamWriter},
    CompressionMethod, ZipWriter,
};

pub use crate::db::exports::Export;
use crate::{
    db::{
        audit::{self, Actor},
        export_rows::{self, Paged},
        exports as db,
    },
    domain::{ContactId, ExportId, TenantId, UserId},
};

/// How long a ready export can be downloaded; its ZIP is deleted after.
pub const KEEP_FOR: Duration = Duration::days(7);
/// An export still queued or building this long after it was asked for is given up (its
/// job died), so the owner can ask again.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);

/// Why an export step failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("an export is already being prepared")]
    AlreadyRunning,
    #[error("three exports were asked for in the last day")]
    TooMany,
    #[error("writing the archive failed: {0}")]
    Archive(#[from] zip::result::ZipError),
    #[error("writing the archive failed: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Exports a business may ask for in a day (each is a full copy of its data, kept 7 days).
pub const MAX_A_DAY: i64 = 3;
/// Customer exports a business may ask for in a day (each is small).
pub const MAX_CUSTOMERS_A_DAY: i64 = 30;

/// Sizes of a build.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Rows read per query.
    pub page: i64,
    /// Bytes of ZIP per stored chunk.
    pub chunk_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { page: 1_000, chunk_bytes: 1 << 20 }
    }
}

/// Records `user`'s request for an export of `tenant`, or of its customer `contact`
/// (audited). The caller enqueues `export_data` on the same transaction.
pub async fn request(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
    contact: Option<ContactId>,
) -> Result<Export, ExportError> {
    db::give_up_stale(conn, tenant, GIVE_UP_AFTER).await?;
    let limit = if contact.is_some() { MAX_CUSTOMERS_A_DAY } else { MAX_A_DAY };
    if db::requested_within(conn, tenant, 24, contact.is_some()).await? >= limit {
        return Err(ExportError::TooMany);
    }
    let export =
        db::create(conn, tenant, ExportId::new(), user, contact).await?.ok_or(ExportError::AlreadyRunning)?;
    let (action, detail) = match contact {
        None => ("export_requested", json!({ "export_id": export.export_id })),
        Some(c) => ("customer_export_requested", json!({ "export_id": export.export_id, "contact_id": c })),
    };
    audit::record(conn, Some(tenant), &Actor::User(user), action, detail).await?;
    Ok(export)
}

/// Builds the export's ZIP into its chunks; its size in bytes, or `None` when the export
/// is no longer queued or building (done, failed or given up: nothing to do).
pub async fn build(
    pool: &PgPool,
    tenant: TenantId,
    export: ExportId,
    limits: Limits,
) -> Result<Option<i64>, ExportError> {
    let Some(contact) = db::get(pool, tenant, export).await?.map(|e| e.contact_id) else {
        return Ok(None);
    };
    let total = export_rows::count(pool, tenant, contact).await?;
    if !db::start_building(pool, tenant, export, total).await? {
        return Ok(None);
    }
    let mut zip = Archive::new(pool, tenant, export, limits);
    zip.file("README.txt")?;
    zip.write(if contact.is_some() { readme::CUSTOMER } else { readme::ACCOUNT }.as_bytes())?;
    if contact.is_none() {
        zip.file("account.json")?;
        zip.write(export_rows::account(pool, tenant).await?.as_bytes())?;
    }
    for table in Paged::ALL.into_iter().filter(|t| contact.is_none() || t.holds_customers()) {
        zip.file(table.file())?;
        zip.write(b"[")?;
        let mut after = table.start().to_owned();
        let mut first = true;
        loop {
            let rows = export_rows::page(pool, tenant, table, contact, &after, limits.page).await?;
            for (_, json) in &rows {
                zip.write(if first { b"\n" } else { b",\n" })?;
                zip.write(json.as_bytes())?;
                first = false;
            }
            zip.page_done(rows.len()).await?;
            match rows.last() {
                Some((key, _)) if rows.len() as i64 == limits.page => after = key.clone(),
                _ => break,
            }
        }
        zip.write(b"\n]\n")?;
    }
    zip.file("messages.csv")?;
    csv::write_messages(&mut zip, pool, tenant, contact, limits.page).await?;
    media_files(&mut zip, pool, tenant, contact).await?;
    zip.finish().await.map(Some)
}

/// Every kept customer file as `media/<message id>.<extension>`, a few at a time (a
/// file can be megabytes).
async fn media_files(
    zip: &mut Archive<'_>,
    pool: &PgPool,
    tenant: TenantId,
    contact: Option<ContactId>,
) -> Result<(), ExportError> {
    let mut after = crate::domain::MessageId(uuid::Uuid::nil());
    loop {
        let files = crate::db::media::files_after(pool, tenant, contact, after, 8).await?;
        for (message_id, mime, bytes) in &files {
            let ext = crate::domain::media::extension(mime.as_deref().unwrap_or(""));
            zip.file(&format!("media/{message_id}.{ext}"))?;
            zip.write(bytes)?;
            zip.page_done(0).await?;
        }
        match files.last() {
            Some((id, ..)) if files.len() == 8 => after = *id,
            _ => return Ok(()),
        }
    }
}

/// Marks a built export ready for [`KEEP_FOR`], on the caller's transaction (which
/// queues the email); `None` if it was not building.
pub async fn finish(
    conn: &mut PgConnection,
    tenant: TenantId,
    export: ExportId,
    bytes: i64,
) -> Result<Option<Export>, ExportError> {
    Ok(db::mark_ready(conn, tenant, export, bytes, Utc::now() + KEEP_FOR).await?)
}

/// Gives up an export whose build cannot succeed, with an error kind (no row content).
pub async fn fail(pool: &PgPool, tenant: TenantId, export: ExportId, kind: &str) -> Result<(), ExportError> {
    Ok(db::mark_failed(pool, tenant, export, kind).await?)
}

/// Deletes the ZIP of every export past its [`KEEP_FOR`]; how many.
pub async fn expire(pool: &PgPool) -> Result<usize, ExportError> {
    Ok(db::expire_due(pool).await?.len())
}

/// The ZIP being written: a streaming writer into a buffer that is moved into a stored
/// chunk whenever it holds `chunk_bytes`.
pub(crate) struct Archive<'a> {
    pool: &'a PgPool,
    tenant: TenantId,
    export: ExportId,
    limits: Limits,
    zip: ZipWriter<StreamWriter<Spool>>,
    spool: Arc<Mutex<Vec<u8>>>,
    seq: i32,
    bytes: i64,
    rows: i64,
}

/// The writer's output buffer, shared with [`Archive`] which drains it.
struct Spool(Arc<Mutex<Vec<u8>>>);

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> Archive<'a> {
    fn new(pool: &'a PgPool, tenant: TenantId, export: ExportId, limits: Limits) -> Self {
        let spool = Arc::new(Mutex::new(Vec::with_capacity(limits.chunk_bytes * 2)));
        let zip = ZipWriter::new_stream(Spool(spool.clone()));
        Self { pool, tenant, export, limits, zip, spool, seq: 0, bytes: 0, rows: 0 }
    }

    fn file(&mut self, name: &str) -> Result<(), ExportError> {
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        Ok(self.zip.start_file(name, options)?)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        Ok(self.zip.write_all(bytes)?)
    }

    /// After a page of `rows`: stores what is buffered if a chunk is full, and the progress.
    pub(crate) async fn page_done(&mut self, rows: usize) -> Result<(), ExportError> {
        self.store(false).await?;
        self.rows += rows as i64;
        Ok(db::set_progress(self.pool, self.tenant, self.export, self.rows).await?)
    }

    /// Moves the buffer into the next chunk when it holds a chunk's worth (or, `all`, anything).
    async fn store(&mut self, all: bool) -> Result<(), ExportError> {
        loop {
            let chunk: Vec<u8> = {
                let mut buf = self.spool.lock().unwrap_or_else(|e| e.into_inner());
                if buf.is_empty() || (!all && buf.len() < self.limits.chunk_bytes) {
                    return Ok(());
                }
                let take = buf.len().min(self.limits.chunk_bytes);
                buf.drain(..take).collect()
            };
            db::put_chunk(self.pool, self.tenant, self.export, self.seq, &chunk).await?;
            self.seq += 1;
            self.bytes += chunk.len() as i64;
        }
    }

    /// Ends the ZIP (its central directory) and stores the rest; the archive's size.
    async fn finish(mut self) -> Result<i64, ExportError> {
        let placeholder = ZipWriter::new_stream(Spool(Arc::default()));
        std::mem::replace(&mut self.zip, placeholder).finish()?;
        self.store(true).await?;
        Ok(self.bytes)
    }
}
