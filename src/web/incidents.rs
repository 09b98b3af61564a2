//! A security incident's notice for the users of a tenant it affected (`/incidents/{id}`):
//! when Mujibak became aware of it and what happened, in the reader's language. Any other
//! incident, or one whose notification never named the reader's tenant, is a 404. The
//! banner that links here is in the layout (`extract::Page`, `incidents::banners`).

use axum::{
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use mujibak_core::{
    db::incidents as db,
    domain::{IncidentId, Locale},
};
use serde::Serialize;

use super::{
    error::WebError,
    extract::{CurrentTenant, Page, PathId},
    routes::Routes,
};

pub fn routes() -> Routes {
    Routes::new().route("/incidents/{incident}", get(notice))
}

#[derive(Serialize)]
struct NoticeView {
    detected_at: DateTime<Utc>,
    notified_at: Option<DateTime<Utc>>,
    /// In the reader's language.
    description: String,
}

async fn notice(
    page: Page,
    CurrentTenant(tenant): CurrentTenant,
    PathId(id): PathId<IncidentId>,
) -> Result<Response, WebError> {
    let notice =
        db::notice(&mut *page.state.db.acquire().await?, tenant, id).await?.ok_or(WebError::NotFound)?;
    let description = match page.session.locale {
        Locale::Ar => notice.description_ar,
        Locale::En => notice.description_en,
    };
    let view = NoticeView { detected_at: notice.detected_at, notified_at: notice.notified_at, description };
    Ok(page.render("incidents/notice.html", &view)?.into_response())
}
