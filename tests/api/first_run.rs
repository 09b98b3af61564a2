//! What a newcomer and an operator meet first: in `mujibak dev` the app accepts forms
//! whether it is opened at `127.0.0.1` or at `localhost` (production accepts only
//! `BASE_URL`); `app.json` and the `Procfile` ask Heroku for everything the processes need
//! and fit its smallest plan; docs/deploy.md names every step and variable,
//! and links only inside the repository.

use mujibak_core::config::{required, Role};
use mujibak_jobs::worker::{WorkerOptions, QUEUES};
use mujibak_queue::fit::{plan, Wanted};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::{
    helpers::{migrated, TestApp},
    web::{Browser, PASSWORD},
};

#[sqlx::test(migrations = false)]
async fn in_dev_the_app_opened_at_127_0_0_1_or_at_localhost_accepts_sign_in(pool: PgPool) {
    // Arrange: the dev app (BASE_URL is its 127.0.0.1 address); an owner signs up there.
    migrated(&pool).await;
    let addr = TestApp::new(pool).dev(true).spawn().await;
    let first = format!("http://127.0.0.1:{}", addr.port());
    let signed_up =
        Browser::at(&first, &[("origin", &first)]).sign_up("Noura", "noura@dev.sa", "Dev Bakery", "en").await;
    assert!(signed_up.status.is_success() && signed_up.body.contains("Dev Bakery"), "{}", signed_up.status);

    for host in ["127.0.0.1", "localhost"] {
        // Act: a browser that opened the app at this host signs in (its forms carry that Origin).
        let origin = format!("http://{host}:{}", addr.port());
        let page = Browser::at(&origin, &[("origin", &origin)]).sign_in("noura@dev.sa", PASSWORD).await;

        // Assert
        assert_eq!(page.status, StatusCode::SEE_OTHER, "signing in at {host}: {}", page.status);
        assert_eq!(page.location(), "/dashboard", "signing in at {host}");
    }
}

#[sqlx::test(migrations = false)]
async fn in_production_a_form_from_another_spelling_of_the_address_is_refused(pool: PgPool) {
    migrated(&pool).await;
    let addr = TestApp::new(pool).spawn().await;
    let other = format!("http://localhost:{}", addr.port());
    let page = Browser::at(&other, &[("origin", &other)]).sign_in("nobody@prod.sa", PASSWORD).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "BASE_URL is http://127.0.0.1:{}", addr.port());
}

fn app_json() -> serde_json::Value {
    serde_json::from_str(include_str!("../../app.json")).expect("app.json parses")
}

#[test]
fn app_json_asks_a_heroku_deployer_for_everything_the_processes_refuse_to_start_without() {
    let app = app_json();
    let addons: Vec<&str> =
        app["addons"].as_array().unwrap().iter().filter_map(|a| a["plan"].as_str()).collect();
    let example = include_str!("../../.env.example");
    for role in [Role::Migrate, Role::Web, Role::Worker] {
        // The list the roles check at start-up, not a copy of it.
        for (name, _) in required(role) {
            if *name == "DATABASE_URL" {
                assert!(
                    addons.iter().any(|p| p.starts_with("heroku-postgresql")),
                    "the Postgres add-on sets it"
                );
                continue;
            }
            let var = &app["env"][name];
            assert_eq!(
                var["required"], true,
                "app.json must require {name} ({role:?} refuses to start without it)"
            );
        }
    }
    for (name, var) in app["env"].as_object().unwrap() {
        assert!(example.lines().any(|l| l.starts_with(&format!("{name}="))), "{name} is not in .env.example");
        assert!(var["description"].as_str().is_some_and(|d| d.len() > 20), "{name} is described");
    }
    let buildpacks = app["buildpacks"].to_string();
    assert!(buildpacks.contains("heroku-buildpack-rust"), "a Rust buildpack is named");
}

#[test]
fn the_procfile_pools_fit_a_worker_and_the_smallest_plan() {
    let procfile = include_str!("../../Procfile");
    let app = app_json();
    let default = |var: &str| -> u32 {
        let from_app: u32 = app["env"][var]["value"].as_str().unwrap().parse().unwrap();
        let marker = format!("${{{var}:-{from_app}}}");
        assert!(procfile.contains(&marker), "the Procfile's default for {var} is app.json's ({marker})");
        from_app
    };
    let (web, worker) = (default("WEB_DATABASE_CONNECTIONS"), default("WORKER_DATABASE_CONNECTIONS"));
    assert!(procfile.contains("release: DATABASE_MAX_CONNECTIONS=2 "), "the release phase takes 2");
    // That the worker's queues fit its default (or it refuses to start): the test below.
    assert!(web + worker + 2 <= 20, "one web and one worker dyno fit essential-0's 20 connections");
}

#[test]
fn at_the_procfile_worker_pool_every_busy_queue_runs_as_many_jobs_as_it_asks_for() {
    // The queues that carry customers' messages are not cut to make room for the occasional
    // ones (pruning, billing, exports...): those share a few places.
    let worker: u32 =
        app_json()["env"]["WORKER_DATABASE_CONNECTIONS"]["value"].as_str().unwrap().parse().unwrap();
    let opts = WorkerOptions::default();
    let wanted: Vec<Wanted> = QUEUES.iter().map(|q| q.wanted()).collect();
    let planned = plan(&wanted, worker, opts.reserved_connections, opts.outside_concurrency).unwrap();
    for (q, n) in QUEUES.iter().zip(&planned.per_queue) {
        if !q.occasional && !q.waits_outside {
            assert_eq!(*n, q.concurrency, "{} runs {n} of the {} it asks for", q.name, q.concurrency);
        }
    }
    assert!(planned.occasional >= 1);
}

#[test]
fn the_deploy_document_names_every_step_and_every_heroku_variable() {
    let deploy = include_str!("../../docs/deploy.md");
    let app = app_json();
    let mut names: Vec<&str> = app["env"].as_object().unwrap().keys().map(String::as_str).collect();
    names.push("DATABASE_URL");
    for name in names {
        assert!(deploy.contains(name), "docs/deploy.md does not name {name}");
    }
    for step in [
        "heroku create",
        "heroku-buildpack-rust",
        "RustConfig",
        "heroku addons:create heroku-postgresql",
        "heroku config:set",
        "git push heroku",
        "mujibak migrate",
        "heroku ps:scale web=1 worker=1",
        "/readyz",
        "Connecting a real number",
        "app.json",
    ] {
        assert!(deploy.contains(step), "docs/deploy.md lacks the step {step:?}");
    }
}

/// The project's markdown documents: the README, the changelog, the queue engine's README
/// and everything under docs/.
fn documents(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut all = vec![root.join("README.md"), root.join("CHANGELOG.md"), root.join("queue/README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            all.push(path);
        }
    }
    all
}

#[test]
fn no_link_in_the_documents_points_outside_the_repository() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let docs = documents(&root);
    assert!(docs.len() >= 10, "README, changelog, the engine's README and the docs/ pages");
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        let name = doc.strip_prefix(&root).unwrap().display().to_string();
        assert!(!text.contains("design.md"), "{name} cites a design document a clone does not have");
        // Every relative markdown link, [text](target), resolves inside the repository.
        for (n, _) in text.match_indices("](") {
            let target: String = text[n + 2..].chars().take_while(|c| *c != ')').collect();
            let target = target.split('#').next().unwrap_or("");
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let path = doc.parent().unwrap().join(target);
            assert!(path.exists(), "{name} links to {target}, which is not in the repository");
            let real = path.canonicalize().unwrap();
            assert!(real.starts_with(&root), "{name}: {target} leaves the repository");
        }
    }
}

#[test]
fn every_file_a_document_names_is_in_the_repository() {
    // A path in backticks (`core/src/db/messages/mod.rs::delete_content`) names a file the
    // reader can open: from the repository's root, or from the document's own folder.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let tops = ["core/", "jobs/", "queue/", "src/", "tests/", "scripts/", "migrations/", "templates/"];
    for doc in documents(&root) {
        let text = std::fs::read_to_string(&doc).unwrap();
        let name = doc.strip_prefix(&root).unwrap().display().to_string();
        for quoted in text.split('`').skip(1).step_by(2) {
            if !tops.iter().any(|t| quoted.starts_with(t)) || quoted.contains(char::is_whitespace) {
                continue;
            }
            let path = quoted.split("::").next().unwrap().trim_end_matches([',', '.', ';', ':']);
            let path = path.split(['(', '{', '*', '…']).next().unwrap();
            let here = root.join(path).exists() || doc.parent().unwrap().join(path).exists();
            assert!(here, "{name} names {path}, which is not in the repository");
        }
    }
}

/// Every function of the integration suite, as `module::path::name`.
fn suite_functions(root: &std::path::Path) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let suite = root.join("tests/api");
    let mut files = Vec::new();
    walk(&suite, &mut files);
    let mut names = Vec::new();
    for file in files {
        let module: Vec<String> = file
            .strip_prefix(&suite)
            .unwrap()
            .with_extension("")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| p != "main" && p != "mod")
            .collect();
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, _) in text.match_indices("fn ") {
            let name: String =
                text[n + 3..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            names.push(format!("{}::{name}", module.join("::")));
        }
    }
    names
}

#[test]
fn every_test_a_document_cites_exists() {
    // `queue::fences::an_outcome_is_written_only_onto_the_attempt_it_belongs_to` in a document
    // is the test that holds a sentence: renaming or removing it must update the document.
    // A name may end in `…` (cut short) or be `module::*`; `…::tests::…` are a crate's
    // unit tests, not the suite's.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    let suite = suite_functions(&root);
    let mut cited = 0;
    for doc in documents(&root) {
        let text = std::fs::read_to_string(&doc).unwrap();
        let name = doc.strip_prefix(&root).unwrap().display().to_string();
        for quoted in text.split('`').skip(1).step_by(2) {
            let segments: Vec<&str> = quoted.split("::").collect();
            let test_like = |s: &str| s.ends_with('…') || s == "*" || s.matches('_').count() >= 3;
            if segments.len() < 2
                || !root.join("tests/api").join(format!("{}.rs", segments[0])).exists()
                || !test_like(segments[segments.len() - 1])
                || quoted.contains(char::is_whitespace)
                || quoted.contains("::tests::")
            {
                continue;
            }
            let prefix = quoted.trim_end_matches(['…', '*']);
            let found = if prefix.len() < quoted.len() {
                suite.iter().any(|f| f.starts_with(prefix))
            } else {
                suite.iter().any(|f| f == quoted)
            };
            assert!(found, "{name} cites the test {quoted}, which the suite does not have");
            cited += 1;
        }
    }
    assert!(cited > 100, "only {cited} tests cited: the documents lost their tests");
}

#[test]
fn the_readme_is_short_with_contents_and_a_link_to_every_document() {
    let readme = include_str!("../../README.md");
    assert!(readme.len() <= 20 * 1024, "the README is {} bytes; the detail belongs in docs/", readme.len());
    assert!(readme.contains("\n## Contents\n"), "the README has a table of contents");
    for heading in ["## Quick start", "## Not built yet", "## Code map", "## Documents"] {
        assert!(readme.contains(heading), "the README lacks {heading:?}");
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).canonicalize().unwrap();
    for doc in documents(&root).iter().skip(1) {
        let name = doc.strip_prefix(&root).unwrap().display().to_string();
        assert!(readme.contains(&format!("]({name})")), "the README does not link to {name}");
    }
}
