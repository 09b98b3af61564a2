//! The ops console: staff tokens and scopes (`scopes`), staff actions on real jobs in real
//! queues, a cancel racing a worker included (`jobs`), the indexes behind the queues page
//! and the job list at a million finished rows (`explain`), audited support views
//! (`support`), and the console's own pages and sessions (`console`).

mod browser;
mod console;
mod deliveries;
mod explain;
mod jobs;
mod scopes;
mod support;
mod tenants;

use std::{net::SocketAddr, time::Duration};

use mujibak_core::ops::{parse_scopes, tokens};
use reqwest::StatusCode;
use sqlx::PgPool;

/// A token with `scopes` (comma-separated), valid for a day.
pub async fn token(pool: &PgPool, name: &str, scopes: &str) -> String {
    let scopes = parse_scopes(scopes).unwrap();
    tokens::create(pool, name, &scopes, Duration::from_secs(86_400)).await.unwrap().0
}

/// A client of the JSON ops API calling with a Bearer token.
pub struct Api {
    base: String,
    client: reqwest::Client,
}

/// An answer: status and body.
pub struct Answer {
    pub status: StatusCode,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Api {
    pub fn new(addr: SocketAddr, token: Option<&str>) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = token {
            headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Self { base: format!("http://{addr}"), client }
    }

    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status();
        Answer { status, body: response.text().await.unwrap() }
    }

    pub async fn get(&self, path: &str) -> Answer {
        Self::read(self.client.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        Self::read(self.client.post(format!("{}{path}", self.base)).form(form).send().await.unwrap()).await
    }
}

/// Audit rows with `action`, as (actor_kind, actor_id, detail).
pub async fn audited(pool: &PgPool, action: &str) -> Vec<(String, Option<String>, serde_json::Value)> {
    sqlx::query_as("select actor_kind, actor_id, detail from audit_log where action = $1 order by audit_id")
        .bind(action)
        .fetch_all(pool)
        .await
        .unwrap()
}
