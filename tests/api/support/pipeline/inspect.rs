//! Waiting for and looking at what the pipeline did: the fake's sends, counts, finished
//! queues, and the diagnostics a failing wait prints.

use std::time::Duration;

use super::Pipeline;

impl Pipeline {
    /// Waits until the fake Graph API has accepted `n` messages; returns them.
    pub async fn sends(&self, n: usize) -> Vec<mujibak_devtools::sandbox::graph::SentMessage> {
        for _ in 0..500 {
            let sends = self.graph.sends();
            if sends.len() >= n {
                return sends;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {n} sends; {}", self.diagnostics().await)
    }

    /// Job errors and message states, for a failing wait.
    pub async fn diagnostics(&self) -> String {
        let errors: Vec<(String, i32, String, String)> =
            sqlx::query_as("select queue, attempt, kind, message from job_errors order by created_at")
                .fetch_all(&self.pool)
                .await
                .unwrap();
        let msgs: Vec<(String, String, String, Option<String>)> =
            sqlx::query_as("select direction, author, status, error from messages order by created_at")
                .fetch_all(&self.pool)
                .await
                .unwrap();
        let jobs: Vec<(String, String, i32)> =
            sqlx::query_as("select job_type, status, attempts from apalis.jobs order by run_at")
                .fetch_all(&self.pool)
                .await
                .unwrap();
        format!(
            "job errors: {errors:#?}\nmessages: {msgs:#?}\njobs: {jobs:?}\nmodel requests: {}",
            self.model.requests().len()
        )
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&self.pool).await.unwrap()
    }

    /// Waits until `sql` (a count) reaches `n`.
    pub async fn until_count(&self, sql: &str, n: i64) {
        for _ in 0..500 {
            if self.count(sql).await >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {sql} >= {n}; {}", self.diagnostics().await)
    }

    /// Waits until `queues` hold at least one job and none left to run (all `Done`,
    /// `Killed`, or `Failed` with no attempt left).
    pub async fn until_finished(&self, queues: &[&str]) {
        let sql = "select count(*) > 0
                      and count(*) filter (where status in ('Pending', 'Queued', 'Running')
                                             or (status = 'Failed' and attempts < max_attempts)) = 0
                   from apalis.jobs where job_type = any($1)";
        let queues: Vec<String> = queues.iter().map(|q| q.to_string()).collect();
        for _ in 0..600 {
            let done: bool = sqlx::query_scalar(sql).bind(&queues).fetch_one(&self.pool).await.unwrap();
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for the jobs of {queues:?} to finish; {}", self.diagnostics().await)
    }

    pub async fn conversation_id(&self) -> String {
        sqlx::query_scalar("select conversation_id::text from conversations limit 1")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// The verify token as the owner's WhatsApp settings page shows it (the database holds
    /// only its ciphertext).
    pub async fn verify_token(&self) -> String {
        let page = self.owner.get("/settings/whatsapp").await;
        let Some(at) = page.body.find(r#"id="verify-token">"#) else {
            panic!("the page shows no verify token ({}): {}", page.status, page.body);
        };
        let start = at + 18;
        page.body[start..].split('<').next().unwrap().trim().to_owned()
    }
}
