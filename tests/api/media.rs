//! Voice notes and images, end to end over real HTTP: Meta's webhook names a file, the
//! `fetch_media` worker downloads it from the Graph fake with the connection's token,
//! the fake OpenAI transcribes or describes it, the thread shows the transcript or
//! description and plays or shows the file, and the reply (one per burst, waiting for the
//! transcript) is built from it. A download that fails is retried, then shown.

use std::time::Duration;

use mujibak_devtools::sandbox::graph::media::{sample_image, sample_voice_note, MediaFault};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::{
    pipeline::{customer, text, user_turns, Options, Pipeline},
    web::{verify_email, Browser},
};

const NUMBER: &str = "PN2101";
const FROM: &str = "966500002101";

async fn with_faq(pool: PgPool, email: &str) -> Pipeline {
    with_faq_and(pool, email, &[]).await
}

/// As [`with_faq`], the app also getting `vars`.
async fn with_faq_and(pool: PgPool, email: &str, vars: &[(&str, &str)]) -> Pipeline {
    // Graph calls may take a few seconds here (the slow download below).
    let vars: Vec<(&str, &str)> =
        [("WHATSAPP_TIMEOUT_SECS", "10")].into_iter().chain(vars.iter().copied()).collect();
    let opts = Options { vars: &vars, ..Options::default() };
    let p = Pipeline::start_opts(pool, email, NUMBER, opts).await;
    // The owner lets customers' voice notes and photos go to the model provider.
    p.configure_bot(&[("media_understanding", "on")]).await;
    p.owner.get("/settings/knowledge").await;
    let faq = [("question", "هل عندكم توصيل للرياض؟"), ("answer", "نعم، التوصيل داخل الرياض بـ ١٥ ريالًا.")];
    assert_eq!(p.owner.post("/settings/knowledge/faq", &faq).await.status, StatusCode::SEE_OTHER);
    p
}

pub fn voice_note(wamid: &str, media_id: &str) -> Value {
    json!({ "id": wamid, "type": "audio",
        "audio": { "id": media_id, "mime_type": "audio/ogg; codecs=opus", "sha256": "x", "voice": true } })
}

fn image(wamid: &str, media_id: &str, caption: &str) -> Value {
    json!({ "id": wamid, "type": "image",
        "image": { "id": media_id, "mime_type": "image/png", "sha256": "x", "caption": caption } })
}

#[sqlx::test(migrations = false)]
async fn a_voice_note_and_a_photo_are_fetched_understood_shown_and_answered_once_per_burst(pool: PgPool) {
    // Arrange: the delivery FAQ; the file downloads slower than the reply's debounce, so
    // the burst would be answered before the transcript if nothing waited. The debounce is
    // longer than the suite's 2 s: this test failed once in CI with a reply to the text
    // alone, most likely because the loaded machine stored the second delivery more than
    // 2 s after the first (a second turn, not this test's burst).
    let p = with_faq_and(pool, "owner@voice.sa", &[("REPLY_DEBOUNCE_SECS", "4")]).await;
    p.graph.set_media_latency(Duration::from_secs(6));
    let said = "السلام عليكم، هل عندكم توصيل للرياض؟";
    let voice = p.graph.add_media(NUMBER, "audio/ogg; codecs=opus", sample_voice_note(said));

    // Act: a text, then a voice note, in one burst.
    p.deliver(&text(NUMBER, "wamid.V0", FROM, "مرحبا", 2)).await;
    p.deliver(&customer(NUMBER, FROM, voice_note("wamid.V1", &voice))).await;

    // Assert: one reply, built from the transcript (the FAQ's answer), after the download.
    let reply = p.sends(1).await[0].body["text"]["body"].as_str().unwrap().to_owned();
    assert!(reply.contains("التوصيل داخل الرياض بـ ١٥ ريالًا"), "{reply}");
    assert_eq!(p.count("select count(*) from media where status = 'ready' and bytes is not null").await, 1);
    p.until_finished(&["fetch_media", "generate_reply"]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(p.graph.sends().len(), 1, "the burst was answered once");
    let asked = p.model.requests();
    let turns = user_turns(asked.last().unwrap()).join("\n");
    assert!(turns.contains(&format!("مرحبا\n[voice note, transcribed: {said}]")), "{turns}");
    assert_eq!(p.model.transcriptions(), 1);

    // Act: a photo with a caption.
    p.graph.set_media_latency(Duration::ZERO);
    let photo = p.graph.add_media(NUMBER, "image/png", sample_image("كعكة شوكولاتة مكسورة من الطرف"));
    p.deliver(&customer(NUMBER, FROM, image("wamid.I1", &photo, "وصلتني هكذا"))).await;

    // Assert: described by the vision model, and the reply's turn reads the description.
    p.sends(2).await;
    let asked = p.model.requests();
    assert!(asked.iter().any(|r| r.to_string().contains("data:image/png;base64,")), "a vision request");
    let turns = user_turns(asked.last().unwrap()).join("\n");
    assert!(turns.contains("[image, showing: كعكة شوكولاتة مكسورة من الطرف] وصلتني هكذا"), "{turns}");

    // Assert: the thread shows both, and plays and shows the files to the business only.
    let conversation = p.conversation_id().await;
    let thread = p.owner.get(&format!("/inbox/{conversation}/thread")).await.body;
    assert!(thread.contains(said) && thread.contains("كعكة شوكولاتة مكسورة من الطرف"), "{thread}");
    let voice_message: String =
        sqlx::query_scalar("select message_id::text from messages where wamid = 'wamid.V1'")
            .fetch_one(&p.pool)
            .await
            .unwrap();
    let url = format!("/inbox/{conversation}/media/{voice_message}");
    assert!(thread
        .replace("&#x2F;", "/")
        .contains(&format!("<audio class=\"msg-media\" controls preload=\"none\" src=\"{url}\"")));
    let (status, headers, bytes) = p.owner.get_bytes(&url).await;
    assert_eq!(
        (status, &headers["content-type"]),
        (StatusCode::OK, &"audio/ogg; codecs=opus".parse().unwrap())
    );
    assert_eq!(bytes, sample_voice_note(said));
    // A customer's file is not left in the browser's cache after sign-out.
    assert_eq!(headers["cache-control"], "no-store");
    let other = Browser::with_headers(p.addr, &[("accept-language", "en")]);
    other.sign_up("Other", "owner@other.sa", "Other Shop", "en").await;
    verify_email(&other, &p.mail, "owner@other.sa").await;
    assert_eq!(other.get(&url).await.status, StatusCode::NOT_FOUND, "another business never gets the file");

    // Act: the customer deletes the voice note for everyone.
    let revoke =
        json!({ "id": "wamid.V1-REVOKE", "type": "revoke", "revoke": { "original_message_id": "wamid.V1" } });
    p.deliver(&customer(NUMBER, FROM, revoke)).await;

    // Assert: its file and transcript are gone with its content.
    p.until_count("select count(*) from messages where wamid = 'wamid.V1' and deleted_at is not null", 1)
        .await;
    assert_eq!(p.count("select count(*) from media where kind = 'audio'").await, 0);
    assert_eq!(p.owner.get_bytes(&url).await.0, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = false)]
async fn a_failing_download_is_retried_then_shown_and_the_customer_is_still_answered(pool: PgPool) {
    // Arrange: Meta fails the next two downloads (a 5xx, an expired URL).
    let p = with_faq(pool, "owner@retry.sa").await;
    p.graph.fail_media(MediaFault::ServerError, 1);
    p.graph.fail_media(MediaFault::Expired, 1);
    let voice = p.graph.add_media(NUMBER, "audio/ogg", sample_voice_note("هل عندكم توصيل للرياض؟"));

    // Act + Assert: retried until it comes, then answered from the transcript.
    p.deliver(&customer(NUMBER, FROM, voice_note("wamid.R1", &voice))).await;
    let reply = p.sends(1).await[0].body["text"]["body"].as_str().unwrap().to_owned();
    assert!(
        reply.contains("التوصيل داخل الرياض"),
        "{reply} {:?} {}",
        p.model.requests(),
        p.diagnostics().await
    );
    assert_eq!(p.graph.media_downloads(), 3);

    // Act: a file that never downloads, and one that is not what it claims.
    p.graph.fail_media(MediaFault::ServerError, 5);
    let lost = p.graph.add_media(NUMBER, "audio/ogg", sample_voice_note("never heard"));
    p.deliver(&customer(NUMBER, FROM, voice_note("wamid.R2", &lost))).await;

    // Assert: every attempt made, the failure recorded and shown, the customer answered
    // (the job never failed), and no transcript invented.
    p.sends(2).await;
    p.until_finished(&["fetch_media"]).await;
    let failed = p
        .count("select count(*) from media where status = 'failed' and failure = 'download_failed' and attempts = 5")
        .await;
    assert_eq!(failed, 1, "{}", p.diagnostics().await);
    assert_eq!(
        p.count("select count(*) from apalis.jobs where job_type = 'fetch_media' and status <> 'Done'").await,
        0
    );
    let turns = user_turns(p.model.requests().last().unwrap()).join("\n");
    assert!(
        turns.contains("[audio sent; it could not be opened]") && !turns.contains("never heard"),
        "{turns}"
    );
    let conversation = p.conversation_id().await;
    let thread = p.owner.get(&format!("/inbox/{conversation}/thread")).await.body;
    assert!(thread.contains("could not be downloaded from WhatsApp, after several tries"), "{thread}");

    let fake = p.graph.add_media(NUMBER, "image/png", b"<html><script>alert(1)</script></html>".to_vec());
    let downloads = p.graph.media_downloads();
    p.deliver(&customer(NUMBER, FROM, image("wamid.R3", &fake, ""))).await;
    p.until_count("select count(*) from media where failure = 'mismatch' and bytes is null", 1).await;
    assert!(p.graph.media_downloads() - downloads <= 1, "a file that is not what it claims is not retried");

    // A media id Meta does not know (expired after its 30 days) is not retried either.
    p.deliver(&customer(NUMBER, FROM, image("wamid.R4", "404404404", ""))).await;
    let sql =
        "select count(*) from media where media_id = '404404404' and status = 'failed' and attempts = 1";
    p.until_count(sql, 1).await;
}

#[tokio::test]
async fn a_file_too_large_or_of_a_type_not_kept_is_refused_before_a_byte_is_read() {
    use mujibak_core::{
        clients::whatsapp::{Creds, GraphClient, MediaError},
        config::WhatsAppConfig,
        domain::media::Failure,
    };
    use mujibak_devtools::sandbox::graph::GraphFake;
    // Arrange: Meta holds a 2 MB voice note and an SVG "image"; we keep files up to 1 MB.
    let graph = GraphFake::start("127.0.0.1:0").await.unwrap();
    graph.register_number(NUMBER, "token-1", None, None);
    let big = graph.add_media(NUMBER, "audio/ogg", sample_voice_note(&"x".repeat(2 * 1024 * 1024)));
    let svg = graph.add_media(NUMBER, "image/svg+xml", b"<svg onload=alert(1)/>".to_vec());
    let small = graph.add_media(NUMBER, "audio/ogg", sample_voice_note("hello"));
    let client = GraphClient::new(&WhatsAppConfig {
        graph_url: graph.base_url(),
        api_version: "v24.0".into(),
        timeout: Duration::from_secs(5),
        reconcile_after: Duration::from_secs(120),
        media_max_bytes: 1024 * 1024,
    });
    let token = secrecy::SecretString::from("token-1");
    let creds = Creds { phone_number_id: NUMBER, access_token: &token };

    // Act + Assert
    let refused = |r: Result<_, MediaError>| match r {
        Err(MediaError::Refused(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert_eq!(refused(client.download_media(&creds, "audio", &big).await), Failure::TooLarge);
    assert_eq!(refused(client.download_media(&creds, "image", &svg).await), Failure::Unsupported);
    assert_eq!(refused(client.download_media(&creds, "image", &small).await), Failure::Unsupported);
    assert_eq!(graph.media_downloads(), 0, "refused from Meta's answer, before the download");
    let got = client.download_media(&creds, "audio", &small).await.unwrap();
    assert_eq!((got.mime_type.as_str(), got.bytes), ("audio/ogg", sample_voice_note("hello")));
    let wrong = secrecy::SecretString::from("another-business-token");
    let other = Creds { phone_number_id: NUMBER, access_token: &wrong };
    assert!(matches!(client.download_media(&other, "audio", &small).await, Err(MediaError::Graph(_))));
}
