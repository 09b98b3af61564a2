//! Exporting an account's data from the dashboard: the owner asks, the `export_data` job
//! builds the ZIP and emails the owner, the owner downloads it. The ZIP holds every row
//! the database keeps for the tenant (invoices, customers' files and their transcripts
//! included) (each file checked against the tables), nothing of
//! another tenant and no secret; the request and the download are audited; another
//! tenant's owner cannot fetch it; after 7 days the link answers 410 and the sweep
//! deletes the file.

use std::io::Read;

use mujibak_core::{
    billing::{self, Buyer, NewLine, Seller},
    domain::TenantId,
};
use mujibak_devtools::sandbox::graph::media::sample_voice_note;
use mujibak_jobs::{export_data::ExportData, Job};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{drain_jobs, eventually, fast_options, TestWorker},
    media::voice_note,
    pipeline::{customer, text, Pipeline, APP_SECRET, TOKEN},
    web::{mail_to, verify_email, Browser},
};

/// The files of a ZIP, by name.
pub fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid ZIP");
    let mut files = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).unwrap();
        files.insert(file.name().unwrap().into_owned(), String::from_utf8_lossy(&bytes).into_owned());
    }
    files
}

/// The records of an RFC 4180 CSV (quoted fields, CRLF), without its byte-order mark.
pub fn csv_records(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.trim_start_matches('\u{feff}').chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

/// Issues November's invoice to the business of owner `email`; its number.
async fn invoice_for(pool: &PgPool, email: &str) -> String {
    let tenant: TenantId = sqlx::query_scalar("select tenant_id from users where email = $1")
        .bind(email)
        .fetch_one(pool)
        .await
        .unwrap();
    let seller =
        Seller { name: "Mujibak".into(), vat_number: "300000000000003".into(), address: "Riyadh".into() };
    let buyer = Buyer { name: format!("Buyer of {email}"), email: email.into() };
    let line = NewLine {
        description_ar: "اشتراك".into(),
        description_en: "Plan".into(),
        quantity: 1,
        unit_halalas: 9_900,
    };
    let period = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let mut tx = pool.begin().await.unwrap();
    let (invoice, _) =
        billing::issue(&mut tx, tenant, period, &seller, &buyer, &[line], chrono::Utc::now()).await.unwrap();
    tx.commit().await.unwrap();
    invoice.number
}

/// Ids of `tenant`'s rows of `sql` (one text column).
async fn ids(pool: &PgPool, sql: &str, tenant: &str) -> Vec<String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).bind(tenant).fetch_all(pool).await.unwrap()
}

async fn ready(p: &Pipeline) -> String {
    eventually(std::time::Duration::from_secs(30), "the export is ready", || async {
        sqlx::query_scalar::<_, String>("select export_id::text from exports where status = 'ready'")
            .fetch_optional(&p.pool)
            .await
            .unwrap()
    })
    .await
}

#[sqlx::test(migrations = false)]
async fn an_export_holds_every_row_of_the_tenant_nothing_of_another_and_no_secret(pool: PgPool) {
    // Arrange: tenant A's customers wrote (commas, quotes, a line break, Arabic, a formula)
    // and got replies; tenant B, signed up beside it, has a customer of its own.
    let p = Pipeline::start(pool, "owner@export-a.sa", "PN2001").await;
    // Voice notes are transcribed (their transcripts are checked below).
    p.configure_bot(&[("media_understanding", "on")]).await;
    let said = [
        "Hello, do you deliver to \"Olaya\"?",
        "أبغى أطلب كيكة\nبكرة الساعة ٥",
        "=HYPERLINK(\"http://evil.example\")",
    ];
    for (i, body) in said.iter().enumerate() {
        let wamid = format!("wamid.EXP{i}");
        p.deliver(&text("PN2001", &wamid, &format!("96650000200{i}"), body, 1)).await;
    }
    p.sends(3).await;
    // And a voice note, kept with its transcript.
    let spoken = sample_voice_note("EXPORTED-TRANSCRIPT أبغى كيكة");
    let voice = p.graph.add_media("PN2001", "audio/ogg", spoken.clone());
    p.deliver(&customer("PN2001", "966500002000", voice_note("wamid.EXPV", &voice))).await;
    p.sends(4).await;
    let other = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    other.sign_up("Owner B", "owner@export-b.sa", "Shop B Unique", "en").await;
    verify_email(&other, &p.mail, "owner@export-b.sa").await;
    let b: String = sqlx::query_scalar("select tenant_id::text from users where email = 'owner@export-b.sa'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    sqlx::query(
        "with c as (insert into contacts (tenant_id, contact_id, connection_id, wa_id, name)
                    values ($1::uuid, gen_random_uuid(), gen_random_uuid(), '966599998888', 'Customer Of B')
                    returning contact_id, connection_id),
              v as (insert into conversations (tenant_id, conversation_id, connection_id, contact_id)
                    select $1::uuid, gen_random_uuid(), connection_id, contact_id from c returning conversation_id)
         insert into messages (tenant_id, message_id, conversation_id, direction, author, kind, body, status)
         select $1::uuid, gen_random_uuid(), conversation_id, 'in', 'customer', 'text', 'B-ONLY-WORDS', 'received' from v",
    )
    .bind(&b)
    .execute(&p.pool)
    .await
    .unwrap();
    // Each business has an invoice for November.
    let mut numbers = Vec::new();
    for email in ["owner@export-a.sa", "owner@export-b.sa"] {
        numbers.push(invoice_for(&p.pool, email).await);
    }
    // A's team wrote an internal note on its conversation.
    let conversation = p.conversation_id().await;
    p.owner.get(&format!("/inbox/{conversation}")).await;
    p.owner
        .post(&format!("/inbox/{conversation}/notes"), &[("note", "Regular customer, prefers mornings")])
        .await;
    // A's owner saved a quick reply and a knowledge-base entry; B has one of its own.
    p.owner.get("/settings/replies").await;
    p.owner.post("/settings/replies", &[("shortcut", "hours"), ("body", "We bake from 6am.")]).await;
    p.owner.get("/settings/knowledge").await;
    p.owner
        .post(
            "/settings/knowledge/faq",
            &[("question", "Do you bake on Fridays?"), ("answer", "Yes, after 4pm.")],
        )
        .await;
    sqlx::query(
        "insert into knowledge_entries (tenant_id, entry_id, kind, title, body)
         values ($1::uuid, gen_random_uuid(), 'faq', 'B-ONLY-KNOWLEDGE', 'x')",
    )
    .bind(&b)
    .execute(&p.pool)
    .await
    .unwrap();
    let _worker = TestWorker::start_with::<ExportData>(p.ctx(), &fast_options());

    // Act: ask, wait, follow the email, download.
    let page = p.owner.get("/account/export").await;
    assert!(page.body.contains("href=\"/privacy\""), "the page points to the policy");
    let policy = p.owner.get("/privacy").await;
    assert!(policy.body.contains("href=\"/account/export\""), "the policy points to the page");
    let asked = p.owner.post("/account/export", &[]).await;
    assert_eq!((asked.status, asked.location()), (StatusCode::SEE_OTHER, "/account/export"));
    let again = p.owner.post("/account/export", &[]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let id = ready(&p).await;
    assert_eq!(p.count("select count(*) from exports").await, 1, "a second ask while preparing adds none");
    let (subject, body) = mail_to(&p.mail, "owner@export-a.sa", "/account/export").await;
    assert!(subject.contains("export"), "{subject}");
    assert!(body.contains(&format!("{}/account/export", p.ctx().base_url)), "{body}");
    let listed = p.owner.get("/account/export").await;
    let link = format!("/account/export/{id}/download");
    assert!(listed.body.contains(&link), "{}", listed.body);
    let (status, headers, zip) = p.owner.get_bytes(&link).await;

    // Assert: a ZIP of the tenant's rows.
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/zip");
    assert_eq!(headers["content-length"].to_str().unwrap(), zip.len().to_string());
    let files = unzip(&zip);
    let a: String = sqlx::query_scalar("select tenant_id::text from users where email = 'owner@export-a.sa'")
        .fetch_one(&p.pool)
        .await
        .unwrap();
    for (file, sql) in [
        ("users.json", "select user_id::text from users where tenant_id = $1::uuid"),
        ("whatsapp_connections.json", "select connection_id::text from whatsapp_connections where tenant_id = $1::uuid"),
        ("contacts.json", "select contact_id::text from contacts where tenant_id = $1::uuid"),
        ("conversations.json", "select conversation_id::text from conversations where tenant_id = $1::uuid"),
        ("usage_daily.json", "select day::text from usage_daily where tenant_id = $1::uuid"),
        ("audit_log.json", "select audit_id::text from audit_log where tenant_id = $1::uuid and action <> 'export_downloaded'"),
        ("invoices.json", "select invoice_id::text from invoices where tenant_id = $1::uuid"),
        ("notes.json", "select note_id::text from notes where tenant_id = $1::uuid"),
        ("quick_replies.json", "select quick_reply_id::text from quick_replies where tenant_id = $1::uuid"),
        ("knowledge_base.json", "select entry_id::text from knowledge_entries where tenant_id = $1::uuid"),
        ("media.json", "select message_id::text from media where tenant_id = $1::uuid"),
    ] {
        let rows = ids(&p.pool, sql, &a).await;
        assert!(!rows.is_empty(), "seeded {file}");
        let json: serde_json::Value = serde_json::from_str(&files[file]).expect(file);
        assert_eq!(json.as_array().unwrap().len(), rows.len(), "{file} has every row, once");
        for id in rows {
            assert!(files[file].contains(&id), "{file} lacks {id}");
        }
    }
    // The voice note: its transcript in media.json, the file itself under media/.
    assert!(files["media.json"].contains("EXPORTED-TRANSCRIPT أبغى كيكة"), "{}", files["media.json"]);
    let voice_id = ids(&p.pool, "select message_id::text from media where tenant_id = $1::uuid", &a).await;
    assert_eq!(files[&format!("media/{}.ogg", voice_id[0])], String::from_utf8_lossy(&spoken));
    let account: serde_json::Value = serde_json::from_str(&files["account.json"]).unwrap();
    assert_eq!(account["tenant"]["business_name"], "Alnoor Bakery");
    assert_eq!(account["bot_settings"]["enabled"], true);
    let records = csv_records(&files["messages.csv"]);
    let messages = ids(&p.pool, "select message_id::text from messages where tenant_id = $1::uuid", &a).await;
    assert_eq!(records.len(), messages.len() + 1, "a header and every message");
    let bodies: Vec<&str> = records.iter().map(|r| r[8].as_str()).collect();
    assert!(bodies.contains(&said[0]) && bodies.contains(&said[1]), "{bodies:?}");
    assert!(bodies.contains(&format!("'{}", said[2]).as_str()), "a formula is defused: {bodies:?}");
    assert!(records.iter().any(|r| r[4] == "966500002001"), "the customer's number is there");
    // Nothing of B, and no secret.
    let everything: String = files.values().cloned().collect();
    let verify = p.verify_token().await;
    let (token_enc, secret_enc, verify_enc, key): (String, String, String, String) = sqlx::query_as(
        "select access_token_enc, app_secret_enc, verify_token_enc, webhook_key from whatsapp_connections",
    )
    .fetch_one(&p.pool)
    .await
    .unwrap();
    let hash: String = sqlx::query_scalar("select password_hash from users where tenant_id = $1::uuid")
        .bind(&a)
        .fetch_one(&p.pool)
        .await
        .unwrap();
    assert!(files["invoices.json"].contains(&numbers[0]) && files["invoices.json"].contains("\"lines\""));
    for needle in [
        &b,
        "B-ONLY-WORDS",
        "B-ONLY-KNOWLEDGE",
        "966599998888",
        "Customer Of B",
        "Shop B Unique",
        "owner@export-b.sa",
        &numbers[1],
    ] {
        assert!(!everything.contains(needle), "the export holds another tenant's {needle:?}");
    }
    for secret in
        [TOKEN, APP_SECRET, &token_enc, &secret_enc, &verify, &verify_enc, &key, &hash, "password_hash"]
    {
        assert!(!everything.contains(secret), "the export holds a secret");
    }
    let actions = ids(&p.pool, "select action from audit_log where tenant_id = $1::uuid", &a).await;
    assert!(actions.contains(&"export_requested".into()) && actions.contains(&"export_downloaded".into()));
    // B's owner cannot fetch A's export.
    assert_eq!(other.get(&link).await.status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = false)]
async fn after_seven_days_the_link_answers_410_and_the_sweep_deletes_the_file(pool: PgPool) {
    // Arrange: a ready export.
    let p = Pipeline::start(pool, "owner@export-c.sa", "PN2002").await;
    p.owner.get("/account/export").await;
    p.owner.post("/account/export", &[]).await;
    assert!(drain_jobs::<ExportData>(p.ctx()).await >= 1, "the export was built");
    let id = ready(&p).await;
    let link = format!("/account/export/{id}/download");
    assert_eq!(p.owner.get_bytes(&link).await.0, StatusCode::OK);
    assert!(p.count("select count(*) from export_chunks").await > 0);

    // Act: seven days pass (its expiry is now), then the hourly sweep runs.
    sqlx::query("update exports set expires_at = now()").execute(&p.pool).await.unwrap();
    let before_sweep = p.owner.get(&link).await;
    ExportData::Expire.run(p.ctx()).await.unwrap();

    // Assert
    assert_eq!(before_sweep.status, StatusCode::GONE, "refused before the sweep ran");
    assert!(before_sweep.body.contains("no longer available"), "{}", before_sweep.body);
    assert_eq!(p.owner.get(&link).await.status, StatusCode::GONE);
    assert_eq!(p.count("select count(*) from export_chunks").await, 0, "the file is deleted");
    assert_eq!(p.count("select count(*) from exports where status = 'expired'").await, 1);
    let page = p.owner.get("/account/export").await;
    assert!(page.body.contains("Deleted after 7 days") && page.body.contains("Prepare an export"));
}
