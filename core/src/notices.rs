//! System emails sent from jobs (which render no templates): bilingual, Arabic first.

/// Subject, text and HTML of the email telling an owner the WhatsApp token stopped working.
pub fn reauthorisation_needed(business_name: &str, settings_url: &str) -> (String, String, String) {
    let subject = "مُجيب: أعد ربط رقم واتساب · Mujibak: reconnect your WhatsApp number".to_owned();
    let text = format!(
        "رفضت Meta رمز الوصول لرقم واتساب الخاص بـ {business_name}، فتوقف الرد الآلي.\n\
         أدخل رمزًا جديدًا من الإعدادات: {settings_url}\n\n\
         Meta rejected the WhatsApp access token of {business_name}, so automatic replies have stopped.\n\
         Enter a new token in Settings: {settings_url}\n"
    );
    let esc =
        |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let html = format!(
        "<!doctype html><html><body><p dir=\"rtl\" lang=\"ar\">رفضت Meta رمز الوصول لرقم واتساب الخاص بـ {b}، فتوقف الرد الآلي. \
         <a href=\"{u}\">أدخل رمزًا جديدًا</a>.</p><p dir=\"ltr\" lang=\"en\">Meta rejected the WhatsApp access token of {b}, \
         so automatic replies have stopped. <a href=\"{u}\">Enter a new token</a>.</p></body></html>",
        b = esc(business_name),
        u = esc(settings_url)
    );
    (subject, text, html)
}
