//! SMTP delivery through lettre. Errors are split the way the send job must branch:
//! transient (connection, timeout, 4xx: retry) and permanent (5xx, bad address: stop).

use std::time::Duration;

use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use secrecy::ExposeSecret;

use crate::config::MailConfig;

/// Why an email was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail configuration: {0}")]
    Config(String),
    #[error("invalid address: {0}")]
    Address(String),
    #[error("temporary SMTP failure: {0}")]
    Transient(String),
    #[error("SMTP server refused the message: {0}")]
    Permanent(String),
}

/// A connection-pooled SMTP sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds a mailer from `SMTP_URL` and `MAIL_FROM`.
    pub fn new(config: &MailConfig) -> Result<Self, MailError> {
        let url = config.smtp_url.as_ref().ok_or_else(|| MailError::Config("SMTP_URL is not set".into()))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|e| MailError::Config(format!("SMTP_URL: {e}")))?
            .timeout(Some(Duration::from_secs(20)))
            .build();
        let from = config.from.parse().map_err(|e| MailError::Config(format!("MAIL_FROM: {e}")))?;
        Ok(Self { transport, from })
    }

    /// Sends a multipart (text + HTML) message.
    pub async fn send(&self, to: &str, subject: &str, text: &str, html: &str) -> Result<(), MailError> {
        let to: Mailbox =
            to.parse().map_err(|e: lettre::address::AddressError| MailError::Address(e.to_string()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text.to_owned()))
                    .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.to_owned())),
            )
            .map_err(|e| MailError::Permanent(format!("could not build the message: {e}")))?;
        // Server replies can quote the recipient: keep only the class and the code, so
        // nothing personal reaches job errors or logs.
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let code = e.status().map(|c| format!("reply {c}")).unwrap_or_else(|| {
                    if e.is_timeout() {
                        "timeout".into()
                    } else {
                        "connection failed".into()
                    }
                });
                if e.is_permanent() {
                    Err(MailError::Permanent(code))
                } else {
                    Err(MailError::Transient(code))
                }
            }
        }
    }
}
