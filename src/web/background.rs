//! Work a page hands off so that its answer cannot depend on it: a password-reset request
//! is answered before the account is even looked up, so a known address and an unknown
//! one take the same time (and answer alike). The request is kept in Postgres
//! (`password_reset_requests`, one insert, whatever the address) and every web process
//! runs a task that handles waiting requests oldest first: a request survives a restart
//! or a database blip, and any web process may handle it. A reset email is queued in the
//! outbox in the same transaction that removes the request, at most
//! `limits::RESET_EMAILS` an hour per account. Nothing about a request is logged but ids.

use std::{sync::Arc, time::Duration};

use mujibak_core::{accounts, db::reset_requests};
use tokio::sync::Notify;
use uuid::Uuid;

use super::limits::RESET_EMAILS;
use super::views::Views;
use crate::mail;

/// A request failing this many times is dropped (the visitor can ask again).
const MAX_ATTEMPTS: i32 = 5;

/// The handle pages use, kept in the app state: wakes this process's task.
#[derive(Clone, Debug, Default)]
pub struct Background(Arc<Notify>);

impl Background {
    /// Keeps a reset request for `email` and wakes the task. One insert, never a lookup.
    pub async fn password_reset(&self, db: &sqlx::PgPool, email: &str) -> Result<(), sqlx::Error> {
        reset_requests::insert(db, email).await?;
        self.0.notify_one();
        Ok(())
    }
}

/// What the task needs to handle a request: the database, the templates of the email, and
/// the public address its link starts with.
#[derive(Clone)]
pub struct Mailer {
    pub db: sqlx::PgPool,
    pub views: Arc<Views>,
    pub base_url: String,
}

/// Handles waiting requests until the process ends: at once when woken, else every
/// few seconds (requests left by a process that stopped, or kept through a blip).
pub async fn run(state: Mailer, wake: Background) {
    loop {
        match handle_next(&state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err((id, e)) => {
                tracing::warn!(request.id = ?id, error = %format!("{e:#}"), "reset request failed; will retry");
                if let Some(id) = id {
                    let _ = reset_requests::failed(&state.db, id).await;
                }
            }
        }
        tokio::select! {
            _ = wake.0.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// Handles the oldest waiting request; `Ok(false)` if there is none.
async fn handle_next(state: &Mailer) -> Result<bool, (Option<Uuid>, anyhow::Error)> {
    let mut tx = state.db.begin().await.map_err(|e| (None, e.into()))?;
    let Some((id, email, attempts)) = reset_requests::next(&mut tx).await.map_err(|e| (None, e.into()))?
    else {
        return Ok(false);
    };
    if attempts < MAX_ATTEMPTS {
        password_reset(state, &mut tx, &email).await.map_err(|e| (Some(id), e))?;
    } else {
        tracing::warn!(request.id = %id, "reset request dropped after {MAX_ATTEMPTS} failed attempts");
    }
    reset_requests::remove(&mut tx, id).await.map_err(|e| (Some(id), e.into()))?;
    tx.commit().await.map_err(|e| (Some(id), e.into()))?;
    Ok(true)
}

async fn password_reset(state: &Mailer, tx: &mut sqlx::PgConnection, email: &str) -> anyhow::Result<()> {
    let Some(user) = accounts::account_for(tx, email).await? else { return Ok(()) };
    if !RESET_EMAILS.allows(&state.db, &user.user_id.to_string()).await? {
        tracing::warn!(user.id = %user.user_id, "reset emails limit reached; no email sent");
        return Ok(());
    }
    let token = accounts::start_password_reset(tx, &user).await?;
    let data = mail::LinkMail { name: user.name.clone(), link: format!("{}/reset/{token}", state.base_url) };
    let outgoing = mail::Outgoing {
        kind: "password_reset",
        tenant_id: Some(user.tenant_id),
        to: &user.email,
        locale: user.locale,
        data: &data,
    };
    mail::queue(tx, &state.views, outgoing).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}
