//! A parser of the Prometheus text format, strict enough to fail on a malformed page:
//! `# TYPE` lines, and samples `name{label="value",…} number`.

use std::collections::BTreeMap;

/// One sample line.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed page.
#[derive(Debug, Default)]
pub struct Page {
    pub types: BTreeMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Page {
    pub fn parse(text: &str) -> Self {
        let mut page = Page::default();
        for line in text.lines().filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE line has a kind");
                assert!(page.types.insert(name.into(), kind.into()).is_none(), "two TYPE lines for {name}");
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            page.samples.push(sample(line));
        }
        for s in &page.samples {
            assert!(page.types.contains_key(family(&s.name, &page.types)), "{} has no TYPE line", s.name);
        }
        page
    }

    /// The family's type (`counter`, `gauge`, `histogram`).
    pub fn kind(&self, family: &str) -> Option<&str> {
        self.types.get(family).map(String::as_str)
    }

    /// The value of sample `name` whose labels include `labels`, summed if several match.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let matching: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name && labels.iter().all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }

    /// Label names used by the samples of `family`, `le` left out.
    pub fn label_names(&self, family_name: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .samples
            .iter()
            .filter(|s| family(&s.name, &self.types) == family_name)
            .flat_map(|s| s.labels.keys().cloned())
            .filter(|k| k != "le")
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// The family a sample belongs to (a histogram's `_bucket`, `_sum`, `_count` included).
pub fn family<'a>(name: &'a str, types: &BTreeMap<String, String>) -> &'a str {
    if types.contains_key(name) {
        return name;
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) =
            name.strip_suffix(suffix).filter(|b| types.get(*b).is_some_and(|t| t == "histogram"))
        {
            return base;
        }
    }
    name
}

fn sample(line: &str) -> Sample {
    let (head, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
    let value: f64 = match value {
        "+Inf" => f64::INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
    };
    let Some((name, rest)) = head.split_once('{') else {
        assert!(valid_name(head), "bad name: {line}");
        return Sample { name: head.into(), labels: BTreeMap::new(), value };
    };
    assert!(valid_name(name), "bad name: {line}");
    let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"));
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    while chars.peek().is_some() {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        assert!(valid_name(&key), "bad label name {key:?}: {line}");
        assert_eq!(chars.next(), Some('"'), "unquoted label value: {line}");
        let mut value = String::new();
        loop {
            match chars.next() {
                Some('\\') => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(c) => value.push(c),
                    None => panic!("dangling escape: {line}"),
                },
                Some('"') => break,
                Some(c) => value.push(c),
                None => panic!("unterminated label value: {line}"),
            }
        }
        assert!(labels.insert(key, value).is_none(), "repeated label: {line}");
        match chars.next() {
            Some(',') | None => {}
            Some(c) => panic!("unexpected {c:?}: {line}"),
        }
    }
    Sample { name: name.into(), labels, value }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}
