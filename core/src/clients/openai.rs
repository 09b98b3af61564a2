//! Reply generation (and, in `media`, voice-note transcription and image description)
//! through async-openai, against OpenAI or any compatible server.
//! async-openai retries by itself, without a bound on `Retry-After`, and has no timeout:
//! here its built-in retry is replaced by a plain HTTP service (retries are the job
//! runtime's, with backoff), and every call is bounded by a total timeout. Its error
//! bodies can quote customer text, so errors are reduced to their class and status.
//! Every call is counted by outcome (`metrics::outbound_call`, provider `openai`).

use std::time::Duration;

use async_openai::{
    config::OpenAIConfig,
    error::OpenAIError,
    middleware::ReqwestService,
    types::chat::{
        ChatCompletionRequestAssistantMessageArgs, ChatCompletionRequestMessage,
        ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
        CreateChatCompletionRequestArgs,
    },
    Client,
};
use secrecy::ExposeSecret;

mod media;

pub use crate::domain::reply::Turn;
use crate::{
    config::{AiConfig, TokenField},
    metrics::{self, CallOutcome, Provider},
};

/// Why no reply came back.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model server is rate limiting us")]
    RateLimited,
    #[error("temporary model failure: {0}")]
    Transient(String),
    #[error("the model server refused the request: {0}")]
    Permanent(String),
}

/// Writes replies.
#[derive(Clone)]
pub struct ReplyModel {
    client: Client<OpenAIConfig>,
    config: AiConfig,
}

impl std::fmt::Debug for ReplyModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyModel").field("base_url", &self.config.base_url).finish_non_exhaustive()
    }
}

impl ReplyModel {
    pub fn new(config: &AiConfig) -> Self {
        let key = config.api_key.as_ref().map(|k| k.expose_secret().to_owned()).unwrap_or_default();
        let cfg = OpenAIConfig::new().with_api_base(config.base_url.clone()).with_api_key(key);
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent("Mujibak/1.0")
            .build()
            .expect("a reqwest client with static settings builds");
        let client = Client::with_config(cfg).with_http_service(ReqwestService::new(http));
        Self { client, config: config.clone() }
    }

    /// Whether an API key is configured (a server like Ollama accepts any non-empty key).
    pub fn configured(&self) -> bool {
        self.config.api_key.is_some()
    }

    /// The models the operator lists (`OPENAI_MODELS`), the default first.
    pub fn models(&self) -> &[String] {
        &self.config.models
    }

    /// The model a reply is asked of: `chosen` if the operator lists it, else the default.
    pub fn model_for<'a>(&'a self, chosen: Option<&'a str>) -> &'a str {
        chosen.filter(|m| self.config.models.iter().any(|allowed| allowed == m)).unwrap_or(&self.config.model)
    }

    /// Asks `model` (if the operator lists it; else the default) for the next reply.
    pub async fn reply(
        &self,
        model: Option<&str>,
        system: &str,
        turns: &[Turn],
    ) -> Result<String, ModelError> {
        let mut messages: Vec<ChatCompletionRequestMessage> =
            vec![ChatCompletionRequestSystemMessageArgs::default()
                .content(system)
                .build()
                .map_err(invalid)?
                .into()];
        for t in turns {
            messages.push(if t.from_customer {
                ChatCompletionRequestUserMessageArgs::default()
                    .content(t.text.as_str())
                    .build()
                    .map_err(invalid)?
                    .into()
            } else {
                ChatCompletionRequestAssistantMessageArgs::default()
                    .content(t.text.as_str())
                    .build()
                    .map_err(invalid)?
                    .into()
            });
        }
        self.complete(self.model_for(model), messages, 0.3, self.config.max_tokens).await
    }

    /// One chat completion of `model`, bounded by the timeout: its text, never empty.
    async fn complete(
        &self,
        model: &str,
        messages: Vec<ChatCompletionRequestMessage>,
        temperature: f32,
        max_tokens: u32,
    ) -> Result<String, ModelError> {
        let mut req = CreateChatCompletionRequestArgs::default();
        req.model(model).messages(messages).temperature(temperature);
        match self.config.token_field {
            TokenField::MaxCompletionTokens => req.max_completion_tokens(max_tokens),
            #[allow(deprecated)]
            TokenField::MaxTokens => req.max_tokens(max_tokens),
        };
        let request = req.build().map_err(invalid)?;
        let chat = self.client.chat();
        let call = chat.create(request);
        let answered = tokio::time::timeout(self.config.timeout + Duration::from_secs(1), call).await;
        metrics::outbound_call(Provider::OpenAi, call_outcome(&answered));
        let response = answered.map_err(|_| ModelError::Transient("timed out".into()))?.map_err(classify)?;
        let text = response.choices.into_iter().next().and_then(|c| c.message.content).unwrap_or_default();
        if text.trim().is_empty() {
            return Err(ModelError::Transient("empty answer".into()));
        }
        Ok(text)
    }
}

/// How a call ended, for the metrics (whatever the taxonomy makes of it).
fn call_outcome<T>(answered: &Result<Result<T, OpenAIError>, tokio::time::error::Elapsed>) -> CallOutcome {
    match answered {
        Err(_) => CallOutcome::Timeout,
        Ok(Ok(_)) => CallOutcome::Ok,
        Ok(Err(OpenAIError::ApiError(api))) => CallOutcome::from_status(api.status_code.as_u16()),
        Ok(Err(OpenAIError::Reqwest(e))) if e.is_timeout() => CallOutcome::Timeout,
        Ok(Err(_)) => CallOutcome::Error,
    }
}

fn invalid(e: impl std::fmt::Display) -> ModelError {
    ModelError::Permanent(format!("invalid request: {e}"))
}

fn classify(e: OpenAIError) -> ModelError {
    match e {
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let code = api.api_error.code.clone().unwrap_or_default();
            match status {
                429 if code == "insufficient_quota" => ModelError::Permanent("insufficient quota".into()),
                429 => ModelError::RateLimited,
                408 | 409 | 500..=599 => ModelError::Transient(format!("HTTP {status}")),
                _ => ModelError::Permanent(format!("HTTP {status} {code}")),
            }
        }
        OpenAIError::Reqwest(e) if e.is_timeout() => ModelError::Transient("timed out".into()),
        OpenAIError::Reqwest(_) => ModelError::Transient("connection failed".into()),
        OpenAIError::JSONDeserialize(..) => ModelError::Transient("malformed response".into()),
        other => ModelError::Transient(format!("{}", other).chars().take(80).collect()),
    }
}
