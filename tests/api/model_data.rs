//! What reaches the model provider is the minimum (#29): every request body the sandbox
//! model received during a pipeline run with two customers writing, speaking and sending
//! photos holds no phone number, no customer's name, no email address and none of the
//! business's secrets; and until the owner turns on media understanding, no voice note or
//! photo reaches it at all (the files stay in the inbox and the customer is still answered).

use base64::Engine;
use mujibak_devtools::sandbox::graph::media::{sample_image, sample_voice_note, SPEECH_MARKER};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::pipeline::{envelope, user_turns, Pipeline, APP_SECRET, TOKEN};

const NUMBER: &str = "PN3101";
/// (number, WhatsApp name) of the two customers.
const CUSTOMERS: [(&str, &str); 2] = [("966500003101", "Layla Haddad"), ("966500003102", "Omar Farouk")];

/// One message `msg` from customer `(from, name)`, as Meta delivers it (with their profile).
fn from_customer((from, name): (&str, &str), msg: Value) -> Value {
    let mut m = msg;
    m["from"] = json!(from);
    m["timestamp"] = json!((chrono::Utc::now().timestamp() - 1).to_string());
    envelope(NUMBER, json!({ "contacts": [{ "profile": { "name": name }, "wa_id": from }], "messages": [m] }))
}

fn voice(wamid: &str, media_id: &str) -> Value {
    json!({ "id": wamid, "type": "audio", "audio": { "id": media_id, "mime_type": "audio/ogg; codecs=opus", "voice": true } })
}

fn photo(wamid: &str, media_id: &str) -> Value {
    json!({ "id": wamid, "type": "image", "image": { "id": media_id, "mime_type": "image/png" } })
}

fn holds(body: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && body.windows(needle.len()).any(|w| w == needle)
}

#[sqlx::test(migrations = false)]
async fn the_model_gets_no_number_name_email_or_secret_and_no_media_until_the_owner_allows_it(pool: PgPool) {
    // Arrange: a connected business (bot settings saved as a new owner would: media
    // understanding untouched), its verify token as the settings page shows it.
    let p = Pipeline::start(pool, "owner@minimum.sa", NUMBER).await;
    let settings = p.owner.get("/settings/bot").await.body.replace("&#x27;", "'");
    assert!(
        settings.contains(r#"name="media_understanding" value="on" aria-describedby"#)
            && settings.contains("goes whole to the AI model provider"),
        "the switch is off and says what turning it on means: {settings}"
    );
    let page = p.owner.get("/settings/whatsapp").await.body;
    let start = page.find(r#"id="verify-token">"#).expect("the page shows the verify token") + 18;
    let verify_token = page[start..].split('<').next().unwrap().trim().to_owned();
    assert!(verify_token.len() >= 16, "{verify_token:?}");
    let heard = sample_voice_note("I want two boxes of maamoul");
    let seen = sample_image("a cracked cake box");

    // Act: each customer writes, then customer 1 speaks and customer 2 sends a photo.
    let mut replies = 0;
    for (i, customer) in CUSTOMERS.into_iter().enumerate() {
        let words = json!({ "id": format!("wamid.MIN-T{i}"), "type": "text",
            "text": { "body": "Hello, are you open today?" } });
        p.deliver(&from_customer(customer, words)).await;
        replies += 1;
        p.sends(replies).await;
        let (message, what) = if i == 0 {
            (voice("wamid.MIN-V1", &p.graph.add_media(NUMBER, "audio/ogg", heard.clone())), "[audio sent]")
        } else {
            (photo("wamid.MIN-P1", &p.graph.add_media(NUMBER, "image/png", seen.clone())), "[image sent]")
        };
        p.deliver(&from_customer(customer, message)).await;
        replies += 1;
        p.sends(replies).await;
        let turns = user_turns(p.model.requests().last().unwrap()).join("\n");
        assert!(turns.contains(what), "the turn is answered, the file unseen: {turns}");
    }
    let off = p.model.received();

    // Assert: with media understanding off, no audio or image left for the model; the
    // team still has both files.
    assert_eq!(p.model.transcriptions(), 0, "no voice note transcribed");
    let image_b64 = base64::engine::general_purpose::STANDARD.encode(&seen);
    for body in &off {
        for (what, needle) in [
            ("audio", SPEECH_MARKER.as_bytes()),
            ("audio", b"OggS".as_slice()),
            ("an image", b"image_url".as_slice()),
            ("an image", image_b64.as_bytes()),
        ] {
            assert!(!holds(body, needle), "{what} reached the model: {}", String::from_utf8_lossy(body));
        }
    }
    assert_eq!(p.count("select count(*) from media where status = 'ready' and bytes is not null").await, 2);

    // Act: the owner turns media understanding on; each customer sends a file again.
    p.configure_bot(&[("media_understanding", "on")]).await;
    let again = p.graph.add_media(NUMBER, "audio/ogg", heard.clone());
    p.deliver(&from_customer(CUSTOMERS[0], voice("wamid.MIN-V2", &again))).await;
    p.sends(replies + 1).await;
    let again = p.graph.add_media(NUMBER, "image/png", seen.clone());
    p.deliver(&from_customer(CUSTOMERS[1], photo("wamid.MIN-P2", &again))).await;
    p.sends(replies + 2).await;

    // Assert: now the files went (so the capture sees media requests) ...
    assert_eq!(p.model.transcriptions(), 1);
    let all = p.model.received();
    assert!(all.iter().any(|b| holds(b, image_b64.as_bytes())), "the photo was described");

    // ... and no request, first to last, holds a number, a name, an email or a secret.
    let mut forbidden: Vec<(&str, String)> = vec![
        ("the business's number", "966500000001".into()),
        ("the business's number", "50 000 0001".into()),
        ("an email address", "@".into()),
        ("the access token", TOKEN.into()),
        ("the app secret", APP_SECRET.into()),
        ("the verify token", verify_token),
    ];
    for (number, name) in CUSTOMERS {
        forbidden.push(("a customer's number", number.into()));
        forbidden.push(("a customer's number", number[3..].into()));
        for part in name.split(' ') {
            forbidden.push(("a customer's name", part.into()));
        }
    }
    assert!(all.len() >= 8, "every turn asked the model: {}", all.len());
    for body in &all {
        for (what, needle) in &forbidden {
            assert!(
                !holds(body, needle.as_bytes()),
                "{what} reached the model: {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
