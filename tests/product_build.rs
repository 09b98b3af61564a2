//! The Heroku build carries no development code. The buildpack runs `cargo build --release`
//! on the `mujibak` package with its default features; the sandbox fakes, the bench, the
//! chaos driver and the load harness live in `mujibak-devtools`, which only the `dev`
//! feature brings in, and the sandbox's pages and `mujibak dev` are compiled only with it.
//! (`scripts/bench` also refuses to measure a binary holding any of it.)

mod common;

use std::path::PathBuf;

use common::rust_files;

fn read(path: &str) -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn the_dev_tools_are_reached_only_through_the_dev_feature() {
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let deps = manifest["dependencies"].as_table().unwrap();
    let devtools = deps["mujibak-devtools"].as_table().expect("mujibak-devtools as a table");
    assert_eq!(devtools.get("optional").and_then(|v| v.as_bool()), Some(true), "a plain dependency ships");
    let features = manifest["features"].as_table().unwrap();
    let default = features.get("default").and_then(|v| v.as_array()).cloned().unwrap_or_default();
    assert!(!default.iter().any(|f| f.as_str() == Some("dev")), "dev is a default feature");
    for (name, enables) in features {
        let brings = enables.as_array().unwrap().iter().any(|f| f.as_str() == Some("dep:mujibak-devtools"));
        assert!(!brings || name == "dev", "feature {name} brings in the dev tools");
    }
    // The buildpack's build flags stay the default (`--release`, no features).
    assert!(!read("RustConfig").contains("FEATURES") && !read("RustConfig").contains("--features"));
    assert!(!read("app.json").contains("--features"));
}

#[test]
fn the_product_names_the_dev_tools_only_in_code_built_with_the_dev_feature() {
    // The only product file that uses the dev tools is the dev role; it and the sandbox's
    // pages are declared behind the feature.
    let mut users = Vec::new();
    let mut files = Vec::new();
    rust_files(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        if text.lines().any(|l| !l.trim_start().starts_with("//") && l.contains("mujibak_devtools::")) {
            users.push(path);
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert_eq!(users, vec![root.join("src/roles/dev.rs")]);
    for (file, decl) in [("src/roles/mod.rs", "mod dev;"), ("src/web/mod.rs", "mod sandbox;")] {
        let text = read(file);
        let at = text.find(decl).unwrap_or_else(|| panic!("{file} declares {decl}"));
        let before = text[..at].trim_end().lines().last().unwrap();
        assert_eq!(before.trim(), "#[cfg(feature = \"dev\")]", "{file}: {decl} is built without the feature");
    }
    for dir in ["src/sandbox", "src/bench", "src/chaos", "src/harness", "src/bin"] {
        assert!(!root.join(dir).exists(), "{dir} is back in the product crate");
    }
}
