//! Exporting the account's data (owner only), the privacy policy's "access or export your
//! data": `/account/export` lists the exports with their progress (the page refreshes
//! itself while one is being prepared) and asks for a new one; the `export_data` job
//! builds it and emails the owner; `/account/export/{export}/download` streams the ZIP
//! from its stored chunks, one chunk in memory at a time, for 7 days (410 after). One
//! export at a time, at most `export::MAX_A_DAY` a day.
//! Requests and downloads are audited.

use axum::{
    body::Body,
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use mujibak_core::{
    db::{
        audit::{self, Actor},
        exports,
    },
    domain::{ExportId, TenantId},
    export::{self, Export, ExportError},
};
use mujibak_jobs::{enqueue, export_data::ExportData};
use serde::Serialize;
use serde_json::json;

use super::{
    error::WebError,
    extract::{Owner, Page, PathId},
    routes::Routes,
    session::set_flash,
};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .route("/account/export", get(exports_page).post(request))
        .route("/account/export/{export}/download", get(download))
}

/// One export as the page shows it.
#[derive(Serialize)]
struct ExportView {
    id: String,
    status: String,
    requested_at: DateTime<Utc>,
    percent: i64,
    megabytes: String,
    expires_at: Option<DateTime<Utc>>,
    /// One customer's export (from the contact panel), not the account's.
    customer: bool,
}

impl From<Export> for ExportView {
    fn from(e: Export) -> Self {
        let percent = if e.rows_total > 0 { (e.rows_done * 100 / e.rows_total).min(100) } else { 0 };
        Self {
            id: e.export_id.to_string(),
            status: e.status,
            requested_at: e.requested_at,
            percent,
            megabytes: format!("{:.1}", e.bytes.unwrap_or(0) as f64 / 1_048_576.0),
            expires_at: e.expires_at,
            customer: e.contact_id.is_some(),
        }
    }
}

#[derive(Serialize)]
struct PageView {
    exports: Vec<ExportView>,
    /// One is queued or being built: no new request, and the page refreshes.
    preparing: bool,
}

async fn exports_page(page: Page, Owner(user): Owner) -> Result<Response, WebError> {
    let list = exports::recent(&page.state.db, user.tenant_id, 10).await?;
    let preparing = list.iter().any(|e| e.status == "queued" || e.status == "building");
    let view = PageView { exports: list.into_iter().map(ExportView::from).collect(), preparing };
    Ok(page.render("account/export.html", &view)?.into_response())
}

async fn request(
    State(state): State<AppState>,
    page: Page,
    Owner(user): Owner,
) -> Result<Response, WebError> {
    let mut tx = state.db.begin().await?;
    match export::request(&mut tx, user.tenant_id, user.user_id, None).await {
        Ok(e) => {
            enqueue(&mut tx, &ExportData::Build { tenant_id: user.tenant_id, export_id: e.export_id })
                .await
                .map_err(|e| WebError::Internal(e.into()))?;
            tx.commit().await?;
            set_flash(&state, &page.session, "success", "flash.export_requested").await?;
        }
        Err(ExportError::AlreadyRunning) => {
            set_flash(&state, &page.session, "info", "flash.export_in_progress").await?;
        }
        Err(ExportError::TooMany) => {
            set_flash(&state, &page.session, "info", "flash.export_limit").await?;
        }
        Err(e) => return Err(WebError::Internal(e.into())),
    }
    Ok(Redirect::to("/account/export").into_response())
}

async fn download(
    State(state): State<AppState>,
    page: Page,
    Owner(user): Owner,
    PathId(id): PathId<ExportId>,
) -> Result<Response, WebError> {
    let tenant = user.tenant_id;
    let found = exports::get(&state.db, tenant, id).await?.ok_or(WebError::NotFound)?;
    let seqs = exports::chunk_seqs(&state.db, tenant, id).await?;
    if seqs.is_empty() {
        let view = PageView { exports: vec![found.into()], preparing: false };
        return Ok((StatusCode::GONE, page.render("account/export_gone.html", &view)?).into_response());
    }
    let mut tx = state.db.begin().await?;
    audit::record(
        &mut tx,
        Some(tenant),
        &Actor::User(user.user_id),
        "export_downloaded",
        json!({ "export_id": id }),
    )
    .await?;
    tx.commit().await?;
    exports::count_download(&state.db, tenant, id).await?;
    let name = format!("mujibak-export-{}.zip", found.ready_at.unwrap_or_else(Utc::now).format("%Y-%m-%d"));
    let body = Body::from_stream(chunks(state.db.clone(), tenant, id, seqs));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CONTENT_LENGTH, found.bytes.unwrap_or(0).to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// The ZIP's chunks, each read when the client is ready for it.
fn chunks(
    db: sqlx::PgPool,
    tenant: TenantId,
    id: ExportId,
    seqs: Vec<i32>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::unfold(seqs.into_iter(), move |mut seqs| {
        let db = db.clone();
        async move {
            let seq = seqs.next()?;
            let chunk = match exports::chunk(&db, tenant, id, seq).await {
                Ok(Some(bytes)) => Ok(bytes),
                // Expired (or deleted) while being downloaded: end the body short.
                Ok(None) => Err(std::io::Error::other("the export expired during the download")),
                Err(e) => Err(std::io::Error::other(e)),
            };
            Some((chunk, seqs))
        }
    })
}
