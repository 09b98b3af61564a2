//! The payment emails an owner gets (bilingual, Arabic first, like every system email):
//! the invoice with its payment link, the reminder of an unpaid one, the bot paused for
//! it, and the payment received. Each returns (subject, text, HTML); the HTML escapes
//! every value.

use crate::notices::esc;

/// One paragraph per language; `link` (label, URL) is appended to each.
fn bilingual(
    subject: String,
    ar: String,
    en: String,
    link: Option<(&str, &str, &str)>,
) -> (String, String, String) {
    let (text_link, html_ar, html_en) = match link {
        Some((label_ar, label_en, url)) => (
            format!(" {url}"),
            format!(" <a href=\"{u}\">{label_ar}</a>", u = esc(url)),
            format!(" <a href=\"{u}\">{label_en}</a>", u = esc(url)),
        ),
        None => (String::new(), String::new(), String::new()),
    };
    let text = format!("{ar}{text_link}\n\n{en}{text_link}\n");
    let html = format!(
        "<!doctype html><html><body><p dir=\"rtl\" lang=\"ar\">{}{html_ar}</p>\
         <p dir=\"ltr\" lang=\"en\">{}{html_en}</p></body></html>",
        esc(&ar),
        esc(&en)
    );
    (subject, text, html)
}

/// The invoice is issued: pay it at `pay_url` (Moyasar's hosted page).
pub fn pay_link(business: &str, number: &str, total: &str, pay_url: &str) -> (String, String, String) {
    bilingual(
        format!("مُجيب: فاتورة {number} · Mujibak: invoice {number}"),
        format!("صدرت فاتورة {business} رقم {number} بمبلغ {total} ر.س شاملًا ضريبة القيمة المضافة. ادفعها عبر ميسّر:"),
        format!("Invoice {number} for {business} is issued: {total} SAR including VAT. Pay it through Moyasar:"),
        Some(("ادفع الآن", "Pay now", pay_url)),
    )
}

/// `days` after issue the invoice is still unpaid.
pub fn reminder(
    business: &str,
    number: &str,
    total: &str,
    days: u32,
    link: &str,
) -> (String, String, String) {
    bilingual(
        format!("مُجيب: تذكير بالفاتورة {number} · Mujibak: invoice {number} is unpaid"),
        format!("لم تُدفع بعد فاتورة {business} رقم {number} ({total} ر.س) الصادرة قبل {days} أيام. ادفعها من صفحة الفوترة:"),
        format!("Invoice {number} for {business} ({total} SAR), issued {days} days ago, is not paid yet. Pay it from the billing page:"),
        Some(("صفحة الفوترة", "Billing page", link)),
    )
}

/// The bot is paused until the overdue invoice is paid.
pub fn bot_paused(business: &str, link: &str) -> (String, String, String) {
    bilingual(
        "مُجيب: توقف الرد الآلي لفاتورة غير مدفوعة · Mujibak: replies paused for an unpaid invoice".to_owned(),
        format!("أوقفنا الرد الآلي لـ {business} لأن فاتورة متأخرة لم تُدفع. الرسائل ما زالت تصل إلى صندوق الوارد، ويعود الرد الآلي فور الدفع:"),
        format!("Automatic replies for {business} are paused because an overdue invoice is unpaid. Messages still reach the inbox; replies resume as soon as it is paid:"),
        Some(("صفحة الفوترة", "Billing page", link)),
    )
}

/// The invoice is paid.
pub fn payment_received(business: &str, number: &str, total: &str) -> (String, String, String) {
    bilingual(
        format!("مُجيب: استلمنا الدفع · Mujibak: payment received for {number}"),
        format!("شكرًا لك. استلمنا {total} ر.س عن فاتورة {business} رقم {number}."),
        format!("Thank you. We received {total} SAR for invoice {number} of {business}."),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_escaped_in_the_html_and_the_link_is_in_both_languages() {
        let (subject, text, html) =
            pay_link("<b>Shop</b>", "INV-2026-000001", "113.85", "https://x/?a=1&b=2");
        assert!(subject.contains("INV-2026-000001"));
        assert!(text.matches("https://x/?a=1&b=2").count() == 2);
        assert!(html.contains("&lt;b&gt;Shop&lt;/b&gt;") && !html.contains("<b>Shop"));
        assert_eq!(html.matches("href=\"https://x/?a=1&amp;b=2\"").count(), 2);
    }
}
