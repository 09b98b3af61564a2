//! `mujibak eval` (#15, point 5), the real binary against the sandbox's OpenAI-compatible
//! model over HTTP: per-question verdicts and totals, the hand-off phrases asked before any
//! model call, `--require` failing below its share, and nothing kept in the database.

use std::process::Output;

use mujibak_devtools::sandbox::openai::OpenAiFake;
use sqlx::PgPool;

use crate::helpers::{database_url, migrated};

/// A set built so each check both passes and fails once against the sandbox model (which
/// answers with the FAQ pair sharing the most words with the question).
const SMALL_SET: &str = r#"
name = "Test shop"
business = "Test shop"

[[faq]]
question = "Do you deliver?"
answer = "Yes, across Riyadh for 20 SAR."

[[case]]
question = "Do you deliver to Al Yasmin?"
lang = "en"
expect = ["20"]

[[case]]
question = "Do you deliver on Fridays?"
lang = "en"
expect = ["35"]

[[case]]
question = "أبغى أكلم موظف"
lang = "ar"
handoff = true

[[case]]
question = "هل عندكم توصيل؟"
lang = "ar"
handoff = true
"#;

async fn eval(pool: &PgPool, model: &OpenAiFake, args: &[&str]) -> (Output, String) {
    eval_with_key(pool, model, "sk-sandbox", args).await
}

async fn eval_with_key(pool: &PgPool, model: &OpenAiFake, key: &str, args: &[&str]) -> (Output, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_mujibak"));
    cmd.arg("eval")
        .args(args)
        .env_clear()
        .env("DATABASE_URL", database_url(pool))
        .env("OPENAI_BASE_URL", model.base_url())
        .env("OPENAI_API_KEY", key)
        .env("OPENAI_MODEL", "gpt-4o-mini")
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir());
    // The fake model runs on this test's runtime: wait for the binary off it.
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("the binary runs")).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

fn verdict_line<'a>(stdout: &'a str, question: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.contains(question))
        .unwrap_or_else(|| panic!("no line for {question}: {stdout}"))
}

#[sqlx::test(migrations = false)]
async fn eval_prints_each_verdict_and_the_totals_and_keeps_nothing(pool: PgPool) {
    // Arrange
    migrated(&pool).await;
    let model = OpenAiFake::start("127.0.0.1:0").await.unwrap();
    let dir = std::env::temp_dir().join(format!("mujibak-eval-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let set = dir.join("small.toml");
    std::fs::write(&set, SMALL_SET).unwrap();
    let set = set.to_str().unwrap();

    // Act
    let (out, stdout) = eval(&pool, &model, &["--set", set, "--require", "50"]).await;

    // Assert: a verdict per question, with its reason, and totals that add up.
    assert!(out.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.starts_with("Test shop: 4 questions, model gpt-4o-mini"), "{stdout}");
    let answered = verdict_line(&stdout, "Do you deliver to Al Yasmin?");
    assert!(answered.contains("PASS") && answered.contains("across Riyadh for 20 SAR"), "{answered}");
    let wrong = verdict_line(&stdout, "Do you deliver on Fridays?");
    assert!(wrong.contains("FAIL") && wrong.contains("[missing 35]"), "{wrong}");
    let handed = verdict_line(&stdout, "أبغى أكلم موظف");
    assert!(handed.contains("PASS") && handed.contains("HANDOFF"), "{handed}");
    let kept = verdict_line(&stdout, "هل عندكم توصيل؟");
    let columns: Vec<&str> = kept.split_whitespace().take(6).collect();
    let columns_of = |line: &str| line.split_whitespace().take(7).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(columns_of(wrong)[2..], ["FAIL", "NO", "yes", "yes", "NO"], "35 is in no passage: {wrong}");
    assert_eq!(columns_of(answered)[2..], ["PASS", "yes", "yes", "yes", "yes"], "{answered}");
    assert_eq!(columns[2..], ["FAIL", "yes", "yes", "NO"], "the missing hand-off is the reason: {kept}");
    assert!(
        stdout.contains(
            "passed 2 of 4; grounded 2/3, language 3/3, hand-off 3/4; the search found the facts for 1/2"
        ),
        "{stdout}"
    );
    assert_eq!(model.requests().len(), 3, "a hand-off phrase is answered before any model call");
    let tenants: i64 = sqlx::query_scalar("select count(*) from tenants").fetch_one(&pool).await.unwrap();
    let passages: i64 =
        sqlx::query_scalar("select count(*) from knowledge_passages").fetch_one(&pool).await.unwrap();
    assert_eq!((tenants, passages), (0, 0), "the scratch business was kept");

    // Below the required share, the run fails (for CI).
    let (out, _) = eval(&pool, &model, &["--set", set, "--require", "51"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("50 % passed, 51 % required"));
    // A malformed set is named, not run.
    std::fs::write(
        dir.join("bad.toml"),
        "name = \"x\"\nbusiness = \"x\"\n[[case]]\nquestion = \"q\"\nlang = \"fr\"\n",
    )
    .unwrap();
    let (out, _) = eval(&pool, &model, &["--set", dir.join("bad.toml").to_str().unwrap()]).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("lang must be ar or en"), "{out:?}");
    // A model that answers nothing (no key: the server refuses every call) fails the run,
    // naming why.
    let (out, stdout) = eval_with_key(&pool, &model, "", &["--set", set]).await;
    assert!(!out.status.success(), "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the model gave no answer to 3 of 4 questions"), "{stderr}");
    assert!(stderr.contains("invalid_api_key"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

#[sqlx::test(migrations = false)]
async fn the_shipped_riyadh_shop_set_runs_every_question(pool: PgPool) {
    migrated(&pool).await;
    let model = OpenAiFake::start("127.0.0.1:0").await.unwrap();

    let (out, stdout) = eval(&pool, &model, &[]).await;

    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<&str> =
        stdout.lines().filter(|l| l.contains(" PASS ") || l.contains(" FAIL ")).collect();
    assert_eq!(verdicts.len(), 48, "{stdout}");
    let passed = verdicts.iter().filter(|l| l.contains(" PASS ")).count();
    assert!(stdout.contains(&format!("passed {passed} of 48;")), "{stdout}");
    for person in ["أبغى أكلم موظف", "I want to talk to a human", "Can I speak to customer service please?"]
    {
        assert!(verdict_line(&stdout, person).contains("PASS"), "{person}");
    }
    // Answered from the delivery FAQ the search found, in the customer's language.
    assert!(verdict_line(&stdout, "Do you deliver to Al Yasmin?").contains("PASS"), "{stdout}");

    // The totals are those docs/whatsapp.md quotes: a change to the search, the judge or the
    // set that moves them moves the document too.
    let totals = stdout.lines().find(|l| l.starts_with("passed ")).expect("a totals line");
    let doc: String = include_str!("../../docs/whatsapp.md").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        doc.contains(&format!("(`{totals}`)")),
        "docs/whatsapp.md does not quote today's totals: {totals}"
    );
}
