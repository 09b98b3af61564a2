//! The sub-processors the running configuration sends personal data to, for the public
//! sub-processor page (`/privacy/processors`): each named from the URL the app really
//! calls (Meta's Graph API, the model server, the SMTP server, Moyasar, the database) and
//! the hosting statement, so the page stays true when the configuration changes. Only a
//! URL's host is ever taken: never its user, password, path or query.

use secrecy::ExposeSecret;
use serde::Serialize;

use super::Config;

/// One processor in use. The page words `role` (what it receives) and `region` (where
/// it runs) from the catalog (`processors.roles`, `processors.receive`,
/// `processors.regions`), so one list serves both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Processor {
    /// `whatsapp`, `model`, `email`, `payments`, `hosting` or `database`.
    pub role: &'static str,
    /// The provider, when the configuration points at one we know (`OpenAI`, `Meta
    /// Platforms`) or the operator named it (`HOSTING`); empty: a server the operator
    /// chose, known by its host.
    pub name: String,
    /// The host the app calls (no credentials); empty for the hosting statement.
    pub host: String,
    /// Where a known provider processes the data: `us`, `sa` or `meta`; empty: at `host`,
    /// or as the hosting statement says.
    pub region: &'static str,
}

/// Every processor the configuration uses, in the page's order.
pub fn in_use(config: &Config) -> Vec<Processor> {
    let mut out =
        vec![known("whatsapp", &config.whatsapp.graph_url, "graph.facebook.com", "Meta Platforms", "meta")];
    out.push(known("model", &config.ai.base_url, "api.openai.com", "OpenAI", "us"));
    if let Some(url) = &config.mail.smtp_url {
        out.push(Processor {
            role: "email",
            name: String::new(),
            host: host_of(url.expose_secret()),
            region: "",
        });
    }
    if let Some(moyasar) = &config.billing.moyasar {
        out.push(known("payments", &moyasar.api_url, "api.moyasar.com", "Moyasar", "sa"));
    }
    if let Some(hosting) = &config.privacy.hosting {
        out.push(Processor { role: "hosting", name: hosting.clone(), host: String::new(), region: "" });
    }
    let database = host_of(config.database.url.expose_secret());
    out.push(Processor { role: "database", name: "Postgres".into(), host: domain_of(&database), region: "" });
    out
}

/// A processor at `url`: the provider `name` in `region` when its host is `provider_host`,
/// else a server the operator chose, named by its host.
fn known(role: &'static str, url: &str, provider_host: &str, name: &str, region: &'static str) -> Processor {
    let host = host_of(url);
    if host.eq_ignore_ascii_case(provider_host) {
        Processor { role, name: name.to_owned(), host, region }
    } else {
        Processor { role, name: String::new(), host, region: "" }
    }
}

/// The host of `url` alone (lower case); empty when it has none.
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

/// The domain a database host belongs to (`ec2-1-2-3-4.compute-1.amazonaws.com` →
/// `amazonaws.com`): the provider is named, not the one server an attacker would aim at.
/// An address names no provider: empty.
fn domain_of(host: &str) -> String {
    if host.parse::<std::net::IpAddr>().is_ok() || host.trim_matches(['[', ']']).contains(':') {
        return String::new();
    }
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    // `example.com.sa`, `example.co.uk`: the registrable domain has three labels.
    let keep = if labels.len() >= 3 && labels[labels.len() - 2].len() <= 3 { 3 } else { 2 };
    labels[labels.len().saturating_sub(keep)..].join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Config {
        Config::from_lookup(|name| {
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()).or_else(|| {
                (name == "DATABASE_URL")
                    .then(|| "postgres://app:pw@ec2-1-2.compute-1.amazonaws.com:5432/d".into())
            })
        })
        .unwrap()
    }

    #[test]
    fn known_providers_are_named_and_other_servers_by_their_host_without_credentials() {
        let defaults = in_use(&config(&[]));
        assert_eq!(defaults[0].name, "Meta Platforms");
        assert_eq!((defaults[1].name.as_str(), defaults[1].region), ("OpenAI", "us"));
        assert_eq!(defaults.last().unwrap().host, "amazonaws.com");
        assert!(!defaults.iter().any(|p| p.role == "email" || p.role == "payments" || p.role == "hosting"));

        let chosen = in_use(&config(&[
            ("OPENAI_BASE_URL", "https://key:secret@Models.Example.net:8443/v1?api-key=k"),
            ("SMTP_URL", "smtps://mailer:S3cret@smtp.mail.example.org:465"),
            ("DYNO", "web.1"),
        ]));
        let text = format!("{chosen:?}");
        assert!(!text.contains("secret") && !text.contains("S3cret") && !text.contains("mailer"), "{text}");
        let model = chosen.iter().find(|p| p.role == "model").unwrap();
        assert_eq!((model.name.as_str(), model.host.as_str(), model.region), ("", "models.example.net", ""));
        assert!(chosen.iter().any(|p| p.role == "email" && p.host == "smtp.mail.example.org"));
        assert!(chosen.iter().any(|p| p.role == "hosting" && p.name == "Heroku"));
        let stated = in_use(&config(&[("DYNO", "web.1"), ("HOSTING", "Heroku, EU (Ireland)")]));
        assert!(stated.iter().any(|p| p.role == "hosting" && p.name == "Heroku, EU (Ireland)"));
    }

    #[test]
    fn a_database_host_is_shown_as_its_domain() {
        assert_eq!(domain_of("db.internal.example.com.sa"), "example.com.sa");
        assert_eq!(domain_of("localhost"), "localhost");
        assert_eq!(domain_of("10.0.0.7"), "");
    }
}
