//! An owner opens an issued invoice from the billing page: a printable simplified tax
//! invoice in Arabic with English alongside, as issued, with its QR code as SVG, and the
//! same invoice as a PDF (read back with Poppler: its text, and its QR code scanned from
//! the rendered page); another business's owner gets 404 for both.

mod pdf;

use chrono::{NaiveDate, TimeZone, Utc};
use mujibak_core::{
    billing::{self, Buyer, NewLine, Seller},
    domain::TenantId,
};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    pipeline::Pipeline,
    web::{verify_email, Browser},
};

#[sqlx::test(migrations = false)]
async fn an_owner_opens_a_printable_bilingual_invoice_with_its_qr_and_no_one_else_can(pool: PgPool) {
    // Arrange: an invoice issued to the pipeline's business.
    let p = Pipeline::start(pool, "owner@invoice.sa", "PN2301").await;
    let tenant: TenantId =
        sqlx::query_scalar("select tenant_id from users").fetch_one(&p.pool).await.unwrap();
    let seller = Seller {
        name: "مُجيب للتقنية".into(),
        vat_number: "300000000000003".into(),
        address: "الرياض".into(),
    };
    let buyer = Buyer { name: "Alnoor Bakery".into(), email: "owner@invoice.sa".into() };
    let line = NewLine {
        description_ar: "اشتراك الباقة الأساسية".into(),
        description_en: "Starter plan, 2026-11".into(),
        quantity: 1,
        unit_halalas: 10_000,
    };
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 21, 10, 0).unwrap();
    let mut tx = p.pool.begin().await.unwrap();
    let period = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let (invoice, _) = billing::issue(&mut tx, tenant, period, &seller, &buyer, &[line], at).await.unwrap();
    tx.commit().await.unwrap();
    let other = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    other.sign_up("Owner B", "owner@other-invoice.sa", "Shop B", "en").await;
    verify_email(&other, &p.mail, "owner@other-invoice.sa").await;
    let link = format!("/billing/invoices/{}", invoice.invoice_id);

    // Act
    let billing_page = p.owner.get("/billing").await;
    let page = p.owner.get(&link).await;
    let theirs = other.get(&link).await;
    let (pdf_status, pdf_headers, pdf_bytes) = p.owner.get_bytes(&format!("{link}/pdf")).await;
    let (their_pdf, _, _) = other.get_bytes(&format!("{link}/pdf")).await;

    // Assert
    assert!(billing_page.body.contains(&link), "the billing page links to it: {}", billing_page.body);
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "فاتورة ضريبية مبسطة",
        "Simplified tax invoice",
        "INV-2026-000001",
        "مُجيب للتقنية",
        "300000000000003",
        "Alnoor Bakery",
        "اشتراك الباقة الأساسية",
        "100.00",
        "15.00",
        "115.00",
        "<svg",
    ] {
        assert!(page.body.contains(needle), "the invoice shows {needle:?}: {}", page.body);
    }
    assert!(!page.body.contains("<?xml"), "the SVG sits inline in the HTML");
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // The PDF: a download named by the number, one page, the same text, a QR that scans.
    assert!(page.body.contains(&format!("{link}/pdf")), "the page offers the PDF");
    assert_eq!(pdf_status, StatusCode::OK);
    assert_eq!(pdf_headers["content-type"], "application/pdf");
    assert_eq!(pdf_headers["content-disposition"], "attachment; filename=\"INV-2026-000001.pdf\"");
    assert!(pdf_bytes.starts_with(b"%PDF-"));
    assert_eq!(pdf::pages(&pdf_bytes), 1);
    let text = pdf::text(&pdf_bytes);
    for needle in [
        "Simplified tax invoice",
        "فاتورة ضريبية مبسطة",
        "INV-2026-000001",
        "2026-12-01 00:10",
        "مُجيب للتقنية",
        "300000000000003",
        "Alnoor Bakery",
        "owner@invoice.sa",
        "Starter plan, 2026-11",
        // Not "الأساسية": Poppler writes a lam-alef ligature's two letters reversed.
        "اشتراك الباقة",
        "100.00",
        "15.00",
        "115.00",
        "ضريبة القيمة المضافة",
        &invoice.uuid.to_string(),
    ] {
        assert!(text.contains(&pdf::bare(needle)), "the PDF's text holds {needle:?}:\n{text}");
    }
    assert_eq!(
        pdf::qr_codes(&pdf_bytes),
        vec![invoice.qr.clone()],
        "the PDF's QR scans to the stored ZATCA payload"
    );
    assert_eq!(their_pdf, StatusCode::NOT_FOUND);
}
