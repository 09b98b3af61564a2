//! The archive's own description of its files (`README.txt`), in Arabic and English: the
//! account export's, and the customer export's (the same files, only the customer's).

/// The archive's own description of its files, in Arabic and English.
pub(super) const ACCOUNT: &str = "\u{feff}تصدير بيانات حسابك في مُجيب
account.json — النشاط التجاري وإعدادات الرد الآلي
users.json — أعضاء الفريق (دون كلمات المرور)
whatsapp_connections.json — بيانات ربط واتساب (دون الرموز والأسرار)
contacts.json — العملاء · conversations.json — المحادثات
messages.csv — كل الرسائل، محادثة بعد محادثة، الأقدم أولًا (الأوقات بالتوقيت العالمي UTC)
usage_daily.json — الاستخدام اليومي · audit_log.json — سجل التدقيق
invoices.json — الفواتير والإشعارات الدائنة كما صدرت، ببنودها
notes.json — ملاحظات الفريق الداخلية على المحادثات
quick_replies.json — الردود السريعة · knowledge_base.json — قاعدة المعرفة (الأسئلة الشائعة والمستندات)
media.json — ملفات العملاء (رسائل صوتية وصور…) مع نصوصها وأوصافها · media/ — الملفات نفسها باسم رقم الرسالة

Your Mujibak account's data export
account.json — the business and its bot settings
users.json — your team (without passwords)
whatsapp_connections.json — the WhatsApp connection's details (without tokens or secrets)
contacts.json — customers · conversations.json — conversations
messages.csv — every message, thread by thread, oldest first (times in UTC). A cell that
  would start with = + - or @ begins with an apostrophe so a spreadsheet shows it as text.
usage_daily.json — daily usage · audit_log.json — the audit log
invoices.json — invoices and credit notes as issued, with their lines
notes.json — the team's internal notes on conversations
quick_replies.json — quick replies · knowledge_base.json — the knowledge base (FAQ entries and documents)
media.json — customers' files (voice notes, images…) with their transcripts and descriptions ·
  media/ — the files themselves, named by their message's id
";

/// A customer export's description: the account export's files that hold a customer.
pub(super) const CUSTOMER: &str = "\u{feff}تصدير بيانات عميل واحد في مُجيب
contacts.json — العميل · conversations.json — محادثته
messages.csv — كل رسائله، الأقدم أولًا (الأوقات بالتوقيت العالمي UTC)
notes.json — ملاحظات الفريق الداخلية على محادثته
media.json — ملفاته (رسائل صوتية وصور…) مع نصوصها وأوصافها · media/ — الملفات نفسها باسم رقم الرسالة

One customer's data, exported from Mujibak
contacts.json — the customer · conversations.json — their conversation
messages.csv — every message, oldest first (times in UTC). A cell that would start with
  = + - or @ begins with an apostrophe so a spreadsheet shows it as text.
notes.json — the team's internal notes on their conversation
media.json — their files (voice notes, images…) with transcripts and descriptions ·
  media/ — the files themselves, named by their message's id
";
