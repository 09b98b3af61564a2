//! The shape of the code, read from its own imports: which files of a crate import each
//! other in a circle. A file imports another when its code names a path into it
//! (`use crate::web::live::Live`, `super::error::WebError`, or such a path written inline);
//! naming an item that a module re-exports counts as importing that module's file, since
//! that is the file a reader has to open. `mod x;` declarations are not imports, and
//! neither is a file naming its own parent module (`super::Effects` in `inbound/changes.rs`):
//! a folder's `mod.rs` is its face, and its files lean on it.
//!
//! `cargo test --test structure -- --nocapture` prints every circle, each file with the
//! files of the circle it imports.
//! What must hold: no circle in `src/` of more than four files, none at all in `core/`,
//! `queue/`, `jobs/` and `devtools/`, and the domain (`core/src/domain`) imports neither the database
//! layer nor the outside clients.

mod common;

use common::rust_files;
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// One crate's files: module path (`["web", "live"]`) → the file's code without comments.
struct Crate {
    files: BTreeMap<Vec<String>, (PathBuf, String)>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The code of a file without comments (line and block) and without string contents.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            // A raw string (r"…", r#"…"#) was opened by the characters before; find its end.
            let hashes = text[..i].chars().rev().take_while(|c| *c == '#').count();
            let raw = i > hashes && b[i - hashes - 1] == b'r';
            i += 1;
            loop {
                if i >= b.len() {
                    break;
                }
                if !raw && b[i] == b'\\' {
                    i += 2;
                    continue;
                }
                if b[i] == b'"' && b[i + 1..].iter().take(hashes).filter(|c| **c == b'#').count() == hashes {
                    i += 1 + if raw { hashes } else { 0 };
                    break;
                }
                i += 1;
            }
            out.push_str("\"\"");
        } else if b[i] == b'\'' && i + 2 < b.len() && (b[i + 2] == b'\'' || b[i + 1] == b'\\') {
            // A character literal ('"', '\n'); lifetimes ('a) pass through.
            let end = text[i + 1..].find('\'').map_or(b.len(), |n| i + 2 + n);
            i = end.max(i + 1);
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if !matches!(stem, "mod" | "lib" | "main") || parts.is_empty() && stem == "mod" {
        parts.push(stem.to_owned());
    }
    parts
}

fn load(src: &str) -> Crate {
    let src = root().join(src);
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    // Binaries (main.rs, bin/) are crates of their own: they import the library, not a circle.
    paths.retain(|p| !p.ends_with("main.rs") && !p.strip_prefix(&src).unwrap().starts_with("bin"));
    let files = paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            // A file's own tests (`#[cfg(test)] mod tests { use super::*; }`) import the file.
            let text = text.split("#[cfg(test)]\nmod tests").next().unwrap();
            let code = code_of(text);
            (module_path(&src, &p), (p, code))
        })
        .collect();
    Crate { files }
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    // `a::b as c` names `a::b`.
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut kept = Vec::new();
    let mut n = 0;
    while n < words.len() {
        if words[n] == "as" && n + 1 < words.len() {
            // The alias may carry the tree's next separator: `as c,` or `as c}`.
            kept.push(words[n + 1].trim_start_matches(|c: char| c.is_alphanumeric() || c == '_'));
            n += 2;
        } else {
            kept.push(words[n]);
            n += 1;
        }
    }
    let tree: String = kept.concat();
    let Some(open) = tree.find('{') else { return vec![tree] };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (n, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..n]);
                start = n + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(p).into_iter().map(move |e| format!("{prefix}{e}")))
        .collect()
}

/// Every path the code names that starts at `crate`, `super` or `self`.
fn named_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    // `use` trees (which may span lines and braces).
    while let Some(n) = rest.find("use ") {
        let before_ok =
            n == 0 || !rest.as_bytes()[n - 1].is_ascii_alphanumeric() && rest.as_bytes()[n - 1] != b'_';
        let after = &rest[n + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if before_ok {
            paths.extend(expand(&after[..end]));
        }
        rest = &after[end.min(after.len())..];
    }
    // Inline paths: crate::a::b, super::a, self::a, and bare ones (child::f) the caller checks.
    for (n, _) in code.match_indices("::") {
        let start = code[..n].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |s| s + 1);
        if start == n || code[..start].ends_with("::") || code[..start].ends_with('$') {
            continue;
        }
        let path: String = code[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        if !path.ends_with("::") {
            paths.push(path);
        }
    }
    paths
}

/// The files each file imports, within its crate.
fn arrows(krate: &Crate) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut out = BTreeMap::new();
    for (module, (_, code)) in &krate.files {
        let mut targets = BTreeSet::new();
        for path in named_paths(code) {
            let segs: Vec<&str> =
                path.split("::").map(|s| s.trim_start_matches("r#")).filter(|s| !s.is_empty()).collect();
            let mut at: Vec<String> = match segs.first() {
                Some(&"crate") => vec![],
                // A bare path that starts at a child module of this file (`inbox::routes()`).
                Some(child)
                    if krate.files.contains_key(&[module.as_slice(), &[(*child).to_owned()]].concat()) =>
                {
                    let mut m = module.clone();
                    m.push((*child).to_owned());
                    targets.insert(m);
                    continue;
                }
                Some(&"self") => module.clone(),
                Some(&"super") => module[..module.len().saturating_sub(1)].to_vec(),
                _ => continue,
            };
            let mut segs = &segs[1..];
            while segs.first() == Some(&"super") {
                at.pop();
                segs = &segs[1..];
            }
            // The longest prefix that is a file of the crate.
            let mut best = at.clone();
            for s in segs {
                let mut next = best.clone();
                next.push((*s).to_owned());
                if krate.files.contains_key(&next) {
                    best = next;
                } else {
                    break;
                }
            }
            // A file naming its own parent module (`super::Effects`) is not an arrow: the
            // parent is its folder's face, and names what its folder holds.
            let parent = &module[..module.len().saturating_sub(1)];
            if best != *module && best != parent && krate.files.contains_key(&best) {
                targets.insert(best);
            }
        }
        out.insert(module.clone(), targets);
    }
    out
}

/// Strongly connected components of more than one file (Tarjan).
fn circles(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    struct T<'a> {
        g: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        out: Vec<Vec<Vec<String>>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a Vec<String>) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(w);
                scc.push(w.clone());
                if w == v {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on: BTreeSet::new(),
        out: vec![],
    };
    for v in graph.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out.sort_by_key(|c| std::cmp::Reverse(c.len()));
    t.out
}

fn name(src: &str, krate: &Crate, module: &[String]) -> String {
    let file = &krate.files[module].0;
    file.strip_prefix(root().join(src)).map(|p| format!("{src}/{}", p.display())).unwrap()
}

fn report(src: &str) -> Vec<Vec<String>> {
    let krate = load(src);
    let graph = arrows(&krate);
    let found = circles(&graph);
    for c in &found {
        let files: Vec<String> = c.iter().map(|m| name(src, &krate, m)).collect();
        println!("{src}: a circle of {} files: {}", c.len(), files.join(", "));
        for m in c {
            let inside: Vec<String> =
                graph[m].iter().filter(|t| c.contains(t)).map(|t| name(src, &krate, t)).collect();
            println!("  {} -> {}", name(src, &krate, m), inside.join(", "));
        }
    }
    found.iter().map(|c| c.iter().map(|m| name(src, &krate, m)).collect()).collect()
}

#[test]
fn no_import_circle_in_src_holds_more_than_four_files() {
    let found = report("src");
    let largest = found.first().map_or(0, Vec::len);
    assert!(largest <= 4, "src/ has an import circle of {largest} files: {:?}", found[0]);
}

#[test]
fn the_library_crates_have_no_import_circle() {
    for src in ["core/src", "queue/src", "jobs/src", "devtools/src"] {
        let found = report(src);
        assert!(found.is_empty(), "{src} has import circles: {found:?}");
    }
}

#[test]
fn the_domain_imports_neither_the_database_nor_the_clients() {
    let core = load("core/src");
    for (module, targets) in arrows(&core) {
        if module.first().is_some_and(|m| m == "domain") {
            for t in targets {
                let top = t.first().map(String::as_str);
                assert!(
                    !matches!(top, Some("db" | "clients")),
                    "{} imports {}",
                    name("core/src", &core, &module),
                    name("core/src", &core, &t)
                );
            }
        }
    }
}

#[test]
fn the_reader_sees_what_a_file_imports() {
    // The reader itself, on a small crate of three files made up here.
    assert_eq!(
        expand("crate::{db::invoices as db, x::{y as z, w}}"),
        ["crate::db::invoices", "crate::x::y", "crate::x::w"]
    );
    let code = code_of(
        "use super::{a::X, b::{self, Y}};\n// use crate::c;\nfn f() { crate::d::g(); let s = \"crate::e\"; }",
    );
    let paths = named_paths(&code);
    assert!(paths.contains(&"super::a::X".to_owned()) && paths.contains(&"super::b::self".to_owned()));
    assert!(paths.contains(&"crate::d::g".to_owned()));
    assert!(!paths.iter().any(|p| p.contains("::c") || p.contains("::e")), "{paths:?}");
    let file = |m: &[&str], code: &str| {
        (
            m.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            (PathBuf::from(format!("{}.rs", m.join("/"))), code.to_owned()),
        )
    };
    let krate = Crate {
        files: [
            file(&["a"], "use crate::b::X;"),
            file(&["b"], "use crate::c::Y;"),
            file(&["c"], "fn f() { crate::a::z(); }"),
        ]
        .into_iter()
        .collect(),
    };
    let found = circles(&arrows(&krate));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].len(), 3);
}
