//! The real binary, as the Procfile runs it: configuration errors, the refusal to run on
//! an unmigrated database, a clean stop on SIGTERM, and a deploy's SIGTERM with a job in
//! flight (the worker exits within its grace period and hands the job back).

use std::{
    path::PathBuf,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::helpers::free_port;

fn mujibak() -> Command {
    // A clean environment in an empty folder: no developer `.env` can leak in.
    let dir: PathBuf = std::env::temp_dir().join(format!("mujibak-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mujibak"));
    cmd.env_clear().current_dir(dir).env("RUST_LOG", "info").env("BASE_URL", "https://mujibak.example");
    cmd
}

/// A valid `ENCRYPTION_KEYS` for tests (never a production key).
pub const TEST_KEYS: &str = "test1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

fn run(cmd: &mut Command) -> (Output, String) {
    let out = cmd.output().expect("binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stderr)
}

#[test]
fn web_without_database_url_exits_non_zero_naming_it() {
    for role in ["web", "worker", "migrate"] {
        let (out, stderr) = run(mujibak().arg(role));
        assert!(!out.status.success(), "{role} must fail");
        assert!(stderr.contains("DATABASE_URL is not set"), "{role}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    }
}

#[test]
fn a_malformed_port_is_named() {
    let (out, stderr) =
        run(mujibak().arg("web").env("DATABASE_URL", "postgres://x@127.0.0.1/x").env("PORT", "eighty"));
    assert!(!out.status.success());
    assert!(stderr.contains("PORT is malformed"), "{stderr}");
}

#[sqlx::test(migrations = false)]
async fn web_and_worker_refuse_an_unmigrated_database(pool: PgPool) {
    let url = crate::helpers::database_url(&pool);
    for role in ["web", "worker"] {
        let (out, stderr) = run(mujibak()
            .arg(role)
            .env("DATABASE_URL", &url)
            .env("PORT", "0")
            .env("ENCRYPTION_KEYS", TEST_KEYS)
            .env("SMTP_URL", "smtp://127.0.0.1:1"));
        assert!(!out.status.success(), "{role} must refuse");
        assert!(stderr.contains("pending migration"), "{role}: {stderr}");
        assert!(stderr.contains("mujibak migrate"), "{role}: {stderr}");
    }
}

#[sqlx::test(migrations = false)]
async fn web_and_worker_refuse_to_start_without_their_secrets_naming_them(pool: PgPool) {
    let url = crate::helpers::database_url(&pool);
    let (out, stderr) = run(mujibak().arg("migrate").env("DATABASE_URL", &url));
    assert!(out.status.success(), "migrate: {stderr}");
    let (out, stderr) =
        run(mujibak().arg("worker").env("DATABASE_URL", &url).env("ENCRYPTION_KEYS", TEST_KEYS));
    assert!(!out.status.success());
    assert!(stderr.contains("SMTP_URL is not set"), "{stderr}");
    let (out, stderr) = run(mujibak().arg("web").env("DATABASE_URL", &url));
    assert!(!out.status.success());
    assert!(stderr.contains("ENCRYPTION_KEYS is not set"), "{stderr}");
    for role in ["web", "worker"] {
        let (out, stderr) = run(mujibak()
            .arg(role)
            .env_remove("BASE_URL")
            .env("DATABASE_URL", &url)
            .env("ENCRYPTION_KEYS", TEST_KEYS)
            .env("SMTP_URL", "smtp://127.0.0.1:1"));
        assert!(!out.status.success(), "{role} must refuse");
        assert!(stderr.contains("BASE_URL is not set"), "{role}: {stderr}");
    }
}

#[sqlx::test(migrations = false)]
async fn after_migrate_web_serves_and_both_roles_stop_cleanly_on_sigterm(pool: PgPool) {
    let url = crate::helpers::database_url(&pool);
    let (out, stderr) = run(mujibak().arg("migrate").env("DATABASE_URL", &url));
    assert!(out.status.success(), "migrate: {stderr}");

    let port = free_port();
    let mut web = mujibak()
        .arg("web")
        .env("DATABASE_URL", &url)
        .env("ENCRYPTION_KEYS", TEST_KEYS)
        .env("PORT", port.to_string())
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut worker = mujibak()
        .arg("worker")
        .env("DATABASE_URL", &url)
        .env("ENCRYPTION_KEYS", TEST_KEYS)
        .env("SMTP_URL", "smtp://127.0.0.1:1")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let health = crate::helpers::eventually(Duration::from_secs(20), "web to listen", || async {
        reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.ok()
    })
    .await;
    assert!(health.status().is_success());
    tokio::time::sleep(Duration::from_secs(1)).await;

    for (name, child) in [("web", &mut web), ("worker", &mut worker)] {
        let started = Instant::now();
        Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{name} ignored SIGTERM for 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "{name} exited with {status} after SIGTERM");
    }
}

#[sqlx::test(migrations = false)]
async fn a_worker_stopped_by_sigterm_mid_job_exits_within_its_grace_and_hands_the_job_back(pool: PgPool) {
    // Arrange: an SMTP server that accepts connections and never answers, so the email
    // job is still in flight when the deploy's SIGTERM arrives; a 3 s grace period.
    crate::helpers::migrated(&pool).await;
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let smtp_url = format!("smtp://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket); // keep it open, say nothing
        }
    });
    let email = mujibak_core::db::emails::NewEmail {
        email_id: mujibak_core::domain::EmailId::new(),
        tenant_id: None,
        kind: "test".into(),
        to_address: "owner@example.sa".into(),
        subject: "s".into(),
        body_text: "t".into(),
        body_html: "<p>t</p>".into(),
    };
    let mut tx = pool.begin().await.unwrap();
    mujibak_jobs::send_email::queue(&mut tx, &email).await.unwrap();
    tx.commit().await.unwrap();
    let mut worker = mujibak()
        .arg("worker")
        .env("DATABASE_URL", crate::helpers::database_url(&pool))
        .env("ENCRYPTION_KEYS", TEST_KEYS)
        .env("SMTP_URL", &smtp_url)
        .env("SHUTDOWN_TIMEOUT_SECS", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let job =
        crate::helpers::eventually(Duration::from_secs(20), "the email job to be in flight", || async {
            let jobs = mujibak_core::db::jobs::list_by_queue(&pool, "send_email").await.unwrap();
            jobs.into_iter().find(|j| j.status == "Running")
        })
        .await;

    // Act
    let started = Instant::now();
    Command::new("kill").args(["-TERM", &worker.id().to_string()]).status().unwrap();
    let status = loop {
        if let Some(status) = worker.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the worker ignored SIGTERM for 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Assert: a clean exit inside Heroku's 30 s, and the job is back in the queue at once.
    // The job never finishes: the worker waits its whole grace (3 s) for it, and not much
    // longer (handing back and exiting take well under a second unloaded).
    assert!(status.success(), "exited with {status}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(2_800), "exited after {took:?}, before its 3 s grace");
    assert!(took < Duration::from_secs(6), "exited after {took:?}, well past its 3 s grace");
    let row = mujibak_core::db::jobs::find(&pool, &job.id).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.lock_by.as_deref()), ("Pending", None));
    let errors = mujibak_core::db::jobs::errors(&pool, &job.id).await.unwrap();
    assert_eq!(errors.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), vec!["interrupted"]);
    held.abort();
}

/// Transport security is enforced, not assumed (#29 item 5): `web` and `worker` refuse a
/// `BASE_URL` that is not https, saying why; served, every response carries HSTS and the
/// cookies are `Secure`.
#[sqlx::test(migrations = false)]
async fn production_refuses_an_http_base_url_and_serves_only_with_hsts_and_secure_cookies(pool: PgPool) {
    let url = crate::helpers::database_url(&pool);
    let (out, stderr) = run(mujibak().arg("migrate").env("DATABASE_URL", &url));
    assert!(out.status.success(), "migrate: {stderr}");
    let role = |role: &str| {
        let mut cmd = mujibak();
        cmd.arg(role)
            .env("DATABASE_URL", &url)
            .env("ENCRYPTION_KEYS", TEST_KEYS)
            .env("SMTP_URL", "smtp://127.0.0.1:1")
            .env("PORT", free_port().to_string());
        cmd
    };
    for name in ["web", "worker"] {
        let mut cmd = role(name);
        cmd.env("BASE_URL", "http://app.mujibak.example").stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                panic!("{name} started with an http BASE_URL");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert!(!status.success(), "{name} must refuse http");
        assert!(stderr.contains("BASE_URL is refused") && stderr.contains("https://"), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    }

    let port = free_port();
    let mut web = role("web")
        .env("PORT", port.to_string())
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let get = |path: &str| reqwest::get(format!("http://127.0.0.1:{port}{path}"));
    crate::helpers::eventually(Duration::from_secs(20), "web to listen", || async {
        get("/healthz").await.ok()
    })
    .await;
    for path in ["/signin", "/", "/healthz", "/privacy", "/no-such-page"] {
        let response = get(path).await.unwrap();
        let hsts =
            response.headers().get("strict-transport-security").map(|v| v.to_str().unwrap().to_owned());
        assert!(hsts.as_deref().is_some_and(|h| h.contains("max-age=31536000")), "{path}: HSTS {hsts:?}");
        for cookie in response.headers().get_all("set-cookie") {
            let cookie = cookie.to_str().unwrap();
            assert!(cookie.contains("; Secure") && cookie.contains("; HttpOnly"), "{path}: {cookie}");
        }
    }
    let signin = get("/signin").await.unwrap();
    assert!(signin.headers().get("set-cookie").is_some(), "the sign-in page sets its cookie");
    Command::new("kill").args(["-TERM", &web.id().to_string()]).status().unwrap();
    web.wait().unwrap();
}
