//! Work a page hands off so that its answer cannot depend on it: a password-reset request
//! is answered before the account is even looked up, so a known address and an unknown
//! one take the same time (and answer alike). One task per web process takes the requests
//! in order; a reset email is queued in the outbox in its own transaction, at most
//! `limits::RESET_EMAILS` an hour per account. A request still waiting when the process
//! stops is lost (the visitor asks again); nothing about it is logged but ids.

use mujibak_core::accounts;
use tokio::sync::mpsc;

use super::limits::RESET_EMAILS;
use crate::{mail, state::AppState};

/// Requests waiting at most; beyond it a new one is dropped (the answer is the same).
const QUEUE: usize = 1024;

/// Work handed to the background task.
#[derive(Debug)]
pub enum Task {
    /// Someone asked for a reset link for this address.
    PasswordReset { email: String },
}

/// The sending side, kept in [`AppState`].
#[derive(Clone, Debug)]
pub struct Background(mpsc::Sender<Task>);

impl Background {
    /// A queue and its receiving end, for [`run`].
    pub fn channel() -> (Self, mpsc::Receiver<Task>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Self(tx), rx)
    }

    /// Hands `task` off; never waits.
    pub fn hand_off(&self, task: Task) {
        if self.0.try_send(task).is_err() {
            tracing::warn!("background queue full; a reset request was dropped");
        }
    }
}

/// Takes the tasks in order until every sender is gone.
pub async fn run(state: AppState, mut tasks: mpsc::Receiver<Task>) {
    while let Some(task) = tasks.recv().await {
        let result = match task {
            Task::PasswordReset { email } => password_reset(&state, &email).await,
        };
        if let Err(e) = result {
            tracing::error!(error = %format!("{e:#}"), "background task failed");
        }
    }
}

async fn password_reset(state: &AppState, email: &str) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    let Some(user) = accounts::account_for(&mut tx, email).await? else { return Ok(()) };
    if !RESET_EMAILS.allows(&state.db, &user.user_id.to_string()).await? {
        tracing::warn!(user.id = %user.user_id, "reset emails limit reached; no email sent");
        return Ok(());
    }
    let token = accounts::start_password_reset(&mut tx, &user).await?;
    let data = mail::LinkMail {
        name: user.name.clone(),
        link: format!("{}/reset/{token}", state.config.http.base_url),
    };
    let outgoing = mail::Outgoing {
        kind: "password_reset",
        tenant_id: Some(user.tenant_id),
        to: &user.email,
        locale: user.locale,
        data: &data,
    };
    mail::queue(&mut tx, &state.views, outgoing).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    tx.commit().await?;
    Ok(())
}
