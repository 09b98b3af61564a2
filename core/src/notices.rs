//! System emails sent from jobs (which render no templates): bilingual, Arabic first: a
//! rejected token, a number Meta stopped (account updates), plan limits, and a customer
//! waiting for a person.

/// `s` escaped for HTML text and attribute values (the emails' HTML bodies).
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
/// Subject, text and HTML of the email telling an owner the WhatsApp token stopped working.
pub fn reauthorisation_needed(business_name: &str, settings_url: &str) -> (String, String, String) {
    let subject = "مُجيب: أعد ربط رقم واتساب · Mujibak: reconnect your WhatsApp number".to_owned();
    let text = format!(
        "رفضت Meta رمز الوصول لرقم واتساب الخاص بـ {business_name}، فتوقف الرد الآلي.\n\
         أدخل رمزًا جديدًا من الإعدادات: {settings_url}\n\n\
         Meta rejected the WhatsApp access token of {business_name}, so automatic replies have stopped.\n\
         Enter a new token in Settings: {settings_url}\n"
    );
    let html = format!(
        "<!doctype html><html><body><p dir=\"rtl\" lang=\"ar\">رفضت Meta رمز الوصول لرقم واتساب الخاص بـ {b}، فتوقف الرد الآلي. \
         <a href=\"{u}\">أدخل رمزًا جديدًا</a>.</p><p dir=\"ltr\" lang=\"en\">Meta rejected the WhatsApp access token of {b}, \
         so automatic replies have stopped. <a href=\"{u}\">Enter a new token</a>.</p></body></html>",
        b = esc(business_name),
        u = esc(settings_url)
    );
    (subject, text, html)
}

/// Subject, text and HTML of the email telling an owner Meta stopped the number (`status`:
/// deleted, disabled, restricted, removed, offboarded), so automatic replies stopped.
pub fn connection_stopped(business_name: &str, status: &str, settings_url: &str) -> (String, String, String) {
    let (ar, en) = match status {
        "deleted" => ("حذفت Meta حساب واتساب للأعمال", "Meta deleted the WhatsApp Business Account"),
        "disabled" => ("عطّلت Meta حساب واتساب للأعمال", "Meta disabled the WhatsApp Business Account"),
        "restricted" => (
            "قيّدت Meta الرد على العملاء من هذا الحساب",
            "Meta restricted replies to customers from the account",
        ),
        "removed" => ("لم يعد الحساب مشاركًا مع مُجيب", "The account is no longer shared with Mujibak"),
        _ => ("فُصل الرقم عن واجهة واتساب السحابية", "The number was offboarded from the WhatsApp Cloud API"),
    };
    let subject = "مُجيب: توقف الرد الآلي · Mujibak: automatic replies stopped".to_owned();
    let text = format!(
        "{ar} ({business_name})، فتوقف الرد الآلي. التفاصيل في الإعدادات: {settings_url}\n\n\
         {en} ({business_name}), so automatic replies have stopped. See why in Settings: {settings_url}\n"
    );
    let html = format!(
        "<!doctype html><html><body><p dir=\"rtl\" lang=\"ar\">{ar} ({b})، فتوقف الرد الآلي. \
         <a href=\"{u}\">التفاصيل في الإعدادات</a>.</p><p dir=\"ltr\" lang=\"en\">{en} ({b}), so automatic replies \
         have stopped. <a href=\"{u}\">See why in Settings</a>.</p></body></html>",
        b = esc(business_name),
        u = esc(settings_url)
    );
    (subject, text, html)
}

/// Subject, text and HTML of the email telling the owner who asked that their data export
/// is ready at `link` (sign-in required) until `until` (a date).
pub fn export_ready(business_name: &str, link: &str, until: &str) -> (String, String, String) {
    let subject = "مُجيب: تصدير بياناتك جاهز · Mujibak: your data export is ready".to_owned();
    let text = format!(
        "تصدير بيانات {business_name} جاهز للتنزيل حتى {until}: {link}\n\
         سيُطلب منك تسجيل الدخول. يُحذف الملف بعد ذلك التاريخ.\n\n\
         The data export of {business_name} is ready to download until {until}: {link}\n\
         You will be asked to sign in. The file is deleted after that date.\n"
    );
    let html = format!(
        "<!doctype html><html><body><p dir=\"rtl\" lang=\"ar\">تصدير بيانات {b} جاهز للتنزيل حتى {d}: \
         <a href=\"{u}\">نزّل الملف</a>. سيُطلب منك تسجيل الدخول، ويُحذف الملف بعد ذلك التاريخ.</p>\
         <p dir=\"ltr\" lang=\"en\">The data export of {b} is ready to download until {d}: \
         <a href=\"{u}\">download it</a>. You will be asked to sign in; the file is deleted after that date.</p></body></html>",
        b = esc(business_name),
        d = esc(until),
        u = esc(link)
    );
    (subject, text, html)
}

/// Subject, text and HTML of the email telling owners their business used `percent` %
/// of the plan's AI replies this month (`used` of `limit`); at 100 % the bot has stopped
/// answering until the next month or a bigger plan.
pub fn quota_warning(
    business_name: &str,
    percent: u8,
    used: i32,
    limit: i32,
    link: &str,
) -> (String, String, String) {
    let (ar, en) = if percent >= 100 {
        (
            format!("استخدم {business_name} كل الردود الآلية في باقته هذا الشهر ({used} من {limit})، فتوقف الرد الآلي حتى بداية الشهر القادم أو الترقية إلى باقة أكبر."),
            format!("{business_name} has used all of its plan's AI replies this month ({used} of {limit}), so automatic replies have stopped until next month or a bigger plan."),
        )
    } else {
        (
            format!("استخدم {business_name} {percent}٪ من الردود الآلية في باقته هذا الشهر ({used} من {limit})."),
            format!("{business_name} has used {percent}% of its plan's AI replies this month ({used} of {limit})."),
        )
    };
    let subject = if percent >= 100 {
        "مُجيب: انتهت ردود باقتك لهذا الشهر · Mujibak: your plan's replies are used up".to_owned()
    } else {
        format!("مُجيب: استخدمت {percent}٪ من ردود باقتك · Mujibak: {percent}% of your plan's replies used")
    };
    let text = format!("{ar}\n{link}\n\n{en}\n{link}\n");
    let html = format!(
        "<!doctype html><html><body><p dir=\"rtl\" lang=\"ar\">{} <a href=\"{u}\">لوحة التحكم</a></p>\
         <p dir=\"ltr\" lang=\"en\">{} <a href=\"{u}\">Dashboard</a></p></body></html>",
        esc(&ar),
        esc(&en),
        u = esc(link)
    );
    (subject, text, html)
}

/// Subject, text and HTML of the email telling owners an invoice was issued (`number`,
/// `total` in SAR with VAT), to see and pay on the billing page at `link`.
pub fn invoice_issued(
    business_name: &str,
    number: &str,
    total: &str,
    link: &str,
) -> (String, String, String) {
    let subject = format!("مُجيب: فاتورة {number} · Mujibak: invoice {number}");
    let text = format!(
        "صدرت فاتورة {business_name} رقم {number} بمبلغ {total} ر.س شاملًا ضريبة القيمة المضافة. \
         تجدها في صفحة الفوترة: {link}\n\n\
         Invoice {number} for {business_name} is issued: {total} SAR including VAT. \
         See it on the billing page: {link}\n"
    );
    let html = format!(
        "<!doctype html><html><body><p dir=\"rtl\" lang=\"ar\">صدرت فاتورة {b} رقم <bdi>{n}</bdi> بمبلغ \
         <bdi>{t}</bdi> ر.س شاملًا الضريبة. <a href=\"{u}\">صفحة الفوترة</a></p>\
         <p dir=\"ltr\" lang=\"en\">Invoice {n} for {b} is issued: {t} SAR including VAT. \
         <a href=\"{u}\">Billing page</a></p></body></html>",
        b = esc(business_name),
        n = esc(number),
        t = esc(total),
        u = esc(link)
    );
    (subject, text, html)
}

/// Subject, text and HTML of the email telling the team that a customer asked for a
/// person `minutes` ago and nobody has opened the conversation (`link`). Nothing of the
/// customer is in it, neither their words nor their name: the link is enough, and an
/// email passes through the SMTP provider and sits in mailboxes we do not control.
pub fn handoff_alert(business_name: &str, minutes: u32, link: &str) -> (String, String, String) {
    let ar = format!(
        "طلب عميل التحدث مع موظف في {business_name} قبل {minutes} دقيقة، ولم يفتح أحد من الفريق المحادثة بعد. الرد الآلي متوقف في هذه المحادثة."
    );
    let en = format!(
        "A customer asked to talk to a person at {business_name} {minutes} min ago, and nobody on the team has opened the conversation yet. The bot is paused in it."
    );
    let subject = "مُجيب: عميل ينتظر موظفًا · Mujibak: a customer is waiting for a person".to_owned();
    let text = format!("{ar}\n{link}\n\n{en}\n{link}\n");
    let html = format!(
        "<!doctype html><html><body><p dir=\"rtl\" lang=\"ar\">{} <a href=\"{u}\">افتح المحادثة</a></p>\
         <p dir=\"ltr\" lang=\"en\">{} <a href=\"{u}\">Open the conversation</a></p></body></html>",
        esc(&ar),
        esc(&en),
        u = esc(link)
    );
    (subject, text, html)
}
