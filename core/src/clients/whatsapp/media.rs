//! Downloading a customer's media through the Graph API: `GET /{media-id}` (with the
//! connection's token) answers a short-lived URL, the file's type and size; `GET url`
//! (same token) answers the bytes. A file Meta says is too large or of a type we do not
//! keep is refused before a byte is read; the body is read with the size limit enforced
//! as it streams, and checked against its type's signature (`domain::media`).

use secrecy::ExposeSecret;
use serde_json::Value;

use super::{failed_exchange, transport, Creds, GraphClient, GraphError};
use crate::{
    domain::media::{accepted, essence, looks_like, Failure},
    metrics::{self, CallOutcome, Provider},
};

/// A downloaded file.
#[derive(Debug)]
pub struct Downloaded {
    pub mime_type: String,
    pub bytes: Vec<u8>,
}

/// Why a file was not downloaded.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Meta failed or could not be reached: retried as its class says.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// Never kept, whatever the retries.
    #[error("media not kept: {}", .0.as_str())]
    Refused(Failure),
}

impl GraphClient {
    /// Downloads the `kind` media `media_id` with the connection's token.
    pub async fn download_media(
        &self,
        creds: &Creds<'_>,
        kind: &str,
        media_id: &str,
    ) -> Result<Downloaded, MediaError> {
        let object = Creds { phone_number_id: media_id, access_token: creds.access_token };
        let info = self.call(reqwest::Method::GET, &object, "", None).await?;
        let Some(url) = info.get("url").and_then(Value::as_str) else {
            return Err(GraphError::Ambiguous("unexpected answer: no url".into()).into());
        };
        let mime_type = info.get("mime_type").and_then(Value::as_str).unwrap_or("").to_owned();
        if !accepted(kind, &mime_type) {
            return Err(MediaError::Refused(Failure::Unsupported));
        }
        // Meta writes the size as a number or a string.
        let size = match info.get("file_size") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        if size.is_some_and(|s| s > self.media_max) {
            return Err(MediaError::Refused(Failure::TooLarge));
        }
        let bytes = self.fetch(url, creds, &mime_type).await?;
        if !looks_like(&mime_type, &bytes) {
            return Err(MediaError::Refused(Failure::Mismatch));
        }
        Ok(Downloaded { mime_type, bytes })
    }

    /// The bytes at Meta's short-lived `url`, at most `media_max` of them.
    async fn fetch(&self, url: &str, creds: &Creds<'_>, mime_type: &str) -> Result<Vec<u8>, MediaError> {
        let sent = self.http.get(url).bearer_auth(creds.access_token.expose_secret()).send().await;
        let mut res = sent.map_err(|e| {
            metrics::outbound_call(Provider::Meta, failed_exchange(&e));
            transport(e)
        })?;
        let http = res.status().as_u16();
        if !(200..300).contains(&http) {
            metrics::outbound_call(Provider::Meta, CallOutcome::from_status(http));
            // An expired URL is 404: the retry asks Meta for a fresh one.
            let code = if http >= 500 || http == 404 { 2 } else { 100 };
            let message = format!("media download answered HTTP {http}");
            return Err(GraphError::Api { http, code, message }.into());
        }
        if res.content_length().is_some_and(|n| n > self.media_max) {
            metrics::outbound_call(Provider::Meta, CallOutcome::Ok);
            return Err(MediaError::Refused(Failure::TooLarge));
        }
        let served = res.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        if served
            .is_some_and(|t| essence(t) != essence(mime_type) && essence(t) != "application/octet-stream")
        {
            metrics::outbound_call(Provider::Meta, CallOutcome::Ok);
            return Err(MediaError::Refused(Failure::Mismatch));
        }
        let mut bytes = Vec::new();
        loop {
            match res.chunk().await {
                Ok(Some(chunk)) => {
                    if (bytes.len() + chunk.len()) as u64 > self.media_max {
                        metrics::outbound_call(Provider::Meta, CallOutcome::Ok);
                        return Err(MediaError::Refused(Failure::TooLarge));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    metrics::outbound_call(Provider::Meta, failed_exchange(&e));
                    return Err(transport(e).into());
                }
            }
        }
        metrics::outbound_call(Provider::Meta, CallOutcome::Ok);
        Ok(bytes)
    }
}
