//! The invoice as a PDF the owner downloads: the same simplified tax invoice as the
//! printable page (Arabic with English alongside; seller, buyer as printed, lines,
//! subtotal, VAT, total, the ZATCA QR and the UUID) on one A4 page, drawn with krilla,
//! the font subset and embedded so it prints the same anywhere. Pure: the stored rows in,
//! bytes out; nothing here reads the database or changes an invoice.

mod text;

use chrono_tz::Asia::Riyadh;
use krilla::{
    color::rgb,
    geom::{PathBuilder, Rect},
    metadata::Metadata,
    num::NormalizedF32,
    page::PageSettings,
    paint::Fill,
    surface::Surface,
    text::Font,
    Document,
};
use qrcode::{EcLevel, QrCode};
use rustybuzz::Face;

use super::{money::sar, BillingError, Printed};
use text::{Shaped, FONT_BYTES};

const WIDTH: f32 = 595.28;
const HEIGHT: f32 = 841.89;
const MARGIN: f32 = 48.0;
/// Where a row's value starts (after the English label).
const VALUE_X: f32 = MARGIN + 120.0;
/// The right end of the description column and of the numeric columns.
const DESCRIPTION_END: f32 = 300.0;
const QTY_END: f32 = 360.0;
const UNIT_END: f32 = 450.0;
const AMOUNT_END: f32 = WIDTH - MARGIN;
const TEXT: f32 = 10.0;

/// `doc` as a one-page A4 PDF.
pub fn render(doc: &Printed) -> Result<Vec<u8>, BillingError> {
    let face = Face::from_slice(FONT_BYTES, 0).ok_or_else(|| pdf_error("the font does not parse"))?;
    let font = Font::new(FONT_BYTES.into(), 0).ok_or_else(|| pdf_error("the font does not load"))?;
    let settings = PageSettings::from_wh(WIDTH, HEIGHT).ok_or_else(|| pdf_error("page size"))?;
    let inv = &doc.invoice;
    let credit_note = inv.kind == "credit_note";

    let mut document = Document::new();
    document.set_metadata(Metadata::new().title(inv.number.clone()).language("ar".into()));
    let mut page = document.start_page_with(settings);
    let mut pen = Pen { surface: page.surface(), face, font, y: MARGIN + 16.0 };

    let (title_en, title_ar) = if credit_note {
        ("Credit note", "إشعار دائن")
    } else {
        ("Simplified tax invoice", "فاتورة ضريبية مبسطة")
    };
    pen.left(MARGIN, title_en, 16.0);
    pen.right(WIDTH - MARGIN, title_ar, 16.0);
    pen.down(34.0);
    pen.row("Number", &inv.number, "رقم الفاتورة");
    if let Some(original) = &doc.credits {
        pen.row("Credits invoice", original, "يُلغي الفاتورة");
    }
    let issued = inv.issued_at.with_timezone(&Riyadh).format("%Y-%m-%d %H:%M").to_string();
    pen.row("Date (Riyadh)", &issued, "التاريخ");
    pen.rule();
    pen.row("Seller", &inv.seller_name, "البائع");
    pen.row("VAT number", &inv.seller_vat, "الرقم الضريبي");
    pen.row("Address", &inv.seller_address, "العنوان");
    pen.rule();
    pen.row("Buyer", &inv.buyer_name, "المشتري");
    pen.row("Email", &inv.buyer_email, "البريد الإلكتروني");
    pen.rule();

    pen.columns(["Description", "Qty", "Unit (SAR)", "Amount (SAR)"]);
    pen.columns(["البيان", "الكمية", "سعر الوحدة", "المبلغ"]);
    pen.rule();
    for line in &doc.lines {
        let quantity = line.quantity.to_string();
        pen.columns([
            line.description_en.as_str(),
            &quantity,
            &sar(line.unit_halalas),
            &sar(line.amount_halalas),
        ]);
        pen.right(DESCRIPTION_END, &line.description_ar, TEXT);
        pen.down(TEXT * 1.8);
    }
    pen.rule();
    pen.total("Subtotal", "المجموع قبل الضريبة", &sar(inv.subtotal), TEXT);
    pen.total("VAT 15%", "ضريبة القيمة المضافة ١٥٪", &sar(inv.vat), TEXT);
    pen.total("Total incl. VAT (SAR)", "الإجمالي شامل الضريبة", &sar(inv.total), 12.0);
    pen.down(12.0);

    let top = pen.y;
    pen.qr(&inv.qr, MARGIN, top, 120.0)?;
    pen.y = top + 134.0;
    pen.left(MARGIN, &format!("UUID {}", inv.uuid), 8.0);
    drop(pen);
    page.finish();
    document.finish().map_err(|e| pdf_error(&format!("{e:?}")))
}

fn pdf_error(what: &str) -> BillingError {
    BillingError::Pdf(what.to_owned())
}

/// Draws from the top of the page down; `y` is the next baseline.
struct Pen<'a> {
    surface: Surface<'a>,
    face: Face<'static>,
    font: Font,
    y: f32,
}

impl Pen<'_> {
    fn down(&mut self, by: f32) {
        self.y += by;
    }

    /// `text` from `x` rightwards, made smaller if it would run past `max_end`.
    fn fit(&mut self, x: f32, text: &str, size: f32, max_end: f32) {
        let mut shaped = Shaped::new(&self.face, text, size);
        let width = shaped.width();
        if x + width > max_end && width > 0.0 {
            shaped = Shaped::new(&self.face, text, (size * (max_end - x) / width).max(5.0));
        }
        shaped.draw(&mut self.surface, &self.font, x, self.y);
    }

    fn left(&mut self, x: f32, text: &str, size: f32) {
        self.fit(x, text, size, WIDTH - MARGIN);
    }

    /// `text` ending at `x_end`.
    fn right(&mut self, x_end: f32, text: &str, size: f32) {
        let shaped = Shaped::new(&self.face, text, size);
        let x = (x_end - shaped.width()).max(MARGIN);
        shaped.draw(&mut self.surface, &self.font, x, self.y);
    }

    /// English label, value, Arabic label, on one line.
    fn row(&mut self, en: &str, value: &str, ar: &str) {
        self.left(MARGIN, en, TEXT);
        let label = Shaped::new(&self.face, ar, TEXT);
        let label_x = WIDTH - MARGIN - label.width();
        self.fit(VALUE_X, value, TEXT, label_x - 12.0);
        label.draw(&mut self.surface, &self.font, label_x, self.y);
        self.down(TEXT * 1.8);
    }

    /// A line of the table: a description, then three right-aligned figures.
    fn columns(&mut self, cells: [&str; 4]) {
        self.fit(MARGIN, cells[0], TEXT, DESCRIPTION_END);
        self.right(QTY_END, cells[1], TEXT);
        self.right(UNIT_END, cells[2], TEXT);
        self.right(AMOUNT_END, cells[3], TEXT);
        self.down(TEXT * 1.5);
    }

    fn total(&mut self, en: &str, ar: &str, value: &str, size: f32) {
        self.left(MARGIN, en, size);
        self.right(UNIT_END, ar, size);
        self.right(AMOUNT_END, value, size);
        self.down(size * 1.8);
    }

    fn rule(&mut self) {
        let y = self.y - TEXT;
        self.fill_rect(MARGIN, y, WIDTH - 2.0 * MARGIN, 0.5, 160);
        self.down(8.0);
    }

    fn fill_rect(&mut self, x: f32, y: f32, w: f32, h: f32, grey: u8) {
        let Some(rect) = Rect::from_xywh(x, y, w, h) else { return };
        let mut path = PathBuilder::new();
        path.push_rect(rect);
        if let Some(path) = path.finish() {
            self.surface.set_fill(Some(Fill {
                paint: rgb::Color::new(grey, grey, grey).into(),
                opacity: NormalizedF32::ONE,
                rule: Default::default(),
            }));
            self.surface.draw_path(&path);
            self.surface.set_fill(Some(Fill::default()));
        }
    }

    /// The QR code of `payload` (the stored ZATCA TLV in Base64) as dark squares, with
    /// the four-module quiet zone scanners need, `size` points wide.
    fn qr(&mut self, payload: &str, x: f32, y: f32, size: f32) -> Result<(), BillingError> {
        let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
            .map_err(|e| pdf_error(&format!("QR code: {e}")))?;
        let n = code.width();
        let module = size / (n + 8) as f32;
        let mut path = PathBuilder::new();
        for (i, color) in code.to_colors().iter().enumerate() {
            let (col, row) = ((i % n + 4) as f32, (i / n + 4) as f32);
            if *color == qrcode::Color::Dark {
                if let Some(rect) = Rect::from_xywh(x + col * module, y + row * module, module, module) {
                    path.push_rect(rect);
                }
            }
        }
        if let Some(path) = path.finish() {
            self.surface.draw_path(&path);
        }
        Ok(())
    }
}
