//! One invoice or credit note (owner only), printable and as a PDF download: a simplified
//! tax invoice in Arabic with English alongside, as issued (seller, the buyer as printed,
//! lines, subtotal, VAT, total) with its ZATCA QR code drawn from the stored payload (SVG
//! on the page). Another business's invoice is 404.

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Utc};
use mujibak_core::billing::{self, money, Printed};
use qrcode::{render::svg, EcLevel, QrCode};
use serde::Serialize;
use uuid::Uuid;

use super::{
    error::WebError,
    extract::{Owner, Page, PathId},
    routes::Routes,
};
use crate::state::AppState;

pub fn routes() -> Routes {
    Routes::new()
        .route("/billing/invoices/{invoice}", get(invoice_page))
        .route("/billing/invoices/{invoice}/pdf", get(invoice_pdf))
}

#[derive(Serialize)]
struct LineView {
    description_ar: String,
    description_en: String,
    quantity: i32,
    unit: String,
    amount: String,
}

#[derive(Serialize)]
struct InvoiceView {
    id: String,
    credit_note: bool,
    number: String,
    credits: Option<String>,
    issued_at: DateTime<Utc>,
    seller_name: String,
    seller_vat: String,
    seller_address: String,
    buyer_name: String,
    buyer_email: String,
    lines: Vec<LineView>,
    subtotal: String,
    vat: String,
    total: String,
    /// The QR code as an inline SVG element, drawn here from the stored payload.
    qr_svg: String,
    uuid: String,
}

async fn invoice_page(
    State(state): State<AppState>,
    page: Page,
    Owner(user): Owner,
    PathId(invoice): PathId<Uuid>,
) -> Result<Response, WebError> {
    let Printed { invoice: doc, lines, credits } = printed(&state, user.tenant_id, invoice).await?;
    let view = InvoiceView {
        id: doc.invoice_id.to_string(),
        credit_note: doc.kind == "credit_note",
        qr_svg: qr_svg(&doc.qr)?,
        number: doc.number,
        credits,
        issued_at: doc.issued_at,
        seller_name: doc.seller_name,
        seller_vat: doc.seller_vat,
        seller_address: doc.seller_address,
        buyer_name: doc.buyer_name,
        buyer_email: doc.buyer_email,
        lines: lines
            .into_iter()
            .map(|l| LineView {
                description_ar: l.description_ar,
                description_en: l.description_en,
                quantity: l.quantity,
                unit: money::sar(l.unit_halalas),
                amount: money::sar(l.amount_halalas),
            })
            .collect(),
        subtotal: money::sar(doc.subtotal),
        vat: money::sar(doc.vat),
        total: money::sar(doc.total),
        uuid: doc.uuid.to_string(),
    };
    Ok(page.render("billing/invoice.html", &view)?.into_response())
}

/// The same document as a PDF download, named by its number (drawn off the async threads).
async fn invoice_pdf(
    State(state): State<AppState>,
    Owner(user): Owner,
    PathId(invoice): PathId<Uuid>,
) -> Result<Response, WebError> {
    let doc = printed(&state, user.tenant_id, invoice).await?;
    let name = format!("{}.pdf", doc.invoice.number);
    let bytes = tokio::task::spawn_blocking(move || billing::pdf::render(&doc))
        .await
        .map_err(|e| WebError::Internal(e.into()))?
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// The caller's document `invoice` (a path segment): 404 when it is not a UUID or not theirs.
async fn printed(
    state: &AppState,
    tenant: mujibak_core::domain::TenantId,
    id: Uuid,
) -> Result<Printed, WebError> {
    billing::printed(&state.db, tenant, id).await?.ok_or(WebError::NotFound)
}

/// The QR code of `payload` as an `<svg>` element (no XML prolog, so it can sit in HTML).
fn qr_svg(payload: &str) -> Result<String, WebError> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
        .map_err(|e| WebError::Internal(anyhow::anyhow!("QR code: {e}")))?;
    let drawn = code.render::<svg::Color<'_>>().min_dimensions(160, 160).quiet_zone(true).build();
    Ok(drawn.find("<svg").map(|at| drawn[at..].to_owned()).unwrap_or(drawn))
}
