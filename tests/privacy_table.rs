//! The privacy table (`docs/privacy.md`) says, for each promise of the policy, which code
//! keeps it and which test shows it. This checks the table against the tree: every row
//! names at least one test and each named test exists (`module::path::function`, found in
//! the file that module path names), each named file exists (and holds the item named
//! after `::`), and every promise of the policy has its row.

mod common;

use std::path::PathBuf;

use common::rust_files;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The table's rows: (promise, code, tests), each cell as written.
fn rows() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(root().join("docs/privacy.md")).unwrap();
    text.lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| promise") && !l.starts_with("|---"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 3, "a row of three cells: {l}");
            (cells[0].trim().to_owned(), cells[1].trim().to_owned(), cells[2].trim().to_owned())
        })
        .collect()
}

/// The `code spans` of a cell.
fn spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// Whether a test function `path` (`a::b::name`) exists where its module path says.
fn test_exists(path: &str, files: &[PathBuf]) -> bool {
    let (module, name) = path.rsplit_once("::").unwrap();
    // `telemetry::tests::name` may be a unit test in `telemetry.rs`'s own `mod tests`.
    let inline = module.strip_suffix("::tests").filter(|m| !m.is_empty());
    in_module(module, name, files) || inline.is_some_and(|m| in_module(m, name, files))
}

/// Whether `fn name(` is in the file module path `module` names.
fn in_module(module: &str, name: &str, files: &[PathBuf]) -> bool {
    let needle = format!("fn {name}(");
    let segments: Vec<&str> = module.split("::").collect();
    files.iter().any(|f| {
        let rel = f.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
        let stem = rel.trim_end_matches(".rs").trim_end_matches("/mod");
        let named = segments.iter().all(|s| stem.split('/').any(|p| p == *s))
            && stem.ends_with(segments.last().unwrap());
        named && std::fs::read_to_string(f).unwrap().contains(&needle)
    })
}

#[test]
fn every_row_names_code_that_exists_and_tests_that_exist() {
    let mut files = Vec::new();
    for dir in ["tests", "core", "jobs", "queue", "src", "devtools"] {
        rust_files(&root().join(dir), &mut files);
    }
    let rows = rows();
    assert!(rows.len() >= 15, "the table has its rows");
    for (promise, code, tests) in &rows {
        let named: Vec<&str> = spans(tests).into_iter().filter(|s| s.contains("::")).collect();
        assert!(!named.is_empty(), "the promise {promise:?} names no test");
        for t in named {
            assert!(test_exists(t, &files), "{promise:?}: no test {t}");
        }
        for span in spans(code) {
            let (file, item) = span.split_once("::").unwrap_or((span, ""));
            let tree =
                ["core/", "src/", "jobs/", "queue/", "devtools/", "templates/", "migrations/", "tests/"];
            if !tree.iter().any(|t| file.starts_with(t)) {
                continue; // a name inside the export, a setting, a table
            }
            let path = root().join(file);
            assert!(path.exists(), "{promise:?}: no file {file}");
            if !item.is_empty() && path.is_file() {
                let body = std::fs::read_to_string(&path).unwrap();
                assert!(body.contains(item.trim_end_matches("()")), "{promise:?}: {file} has no {item}");
            }
        }
    }
}

#[test]
fn every_promise_of_the_policy_has_its_row() {
    let promises: String = rows().iter().map(|r| r.0.to_lowercase() + "\n").collect();
    for words in [
        "hashed passwords",
        "encrypted at rest",
        "usage",
        "conversation content",
        "training",
        "processor",
        "model",
        "card",
        "export",
        "correction",
        "deletion within 30 days",
        "customer's data",
        "billing records",
        "tls",
        "staff",
        "audit",
        "breach",
        "cookies",
        "logs",
    ] {
        assert!(promises.contains(words), "no row of the privacy table is about {words:?}");
    }
}
