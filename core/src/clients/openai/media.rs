//! Understanding customer media: a voice note is transcribed through the OpenAI-compatible
//! transcription endpoint (`OPENAI_TRANSCRIBE_MODEL`), an image described by a
//! vision-capable chat model (`OPENAI_VISION_MODEL`), each bounded by the model timeout and
//! failing with the reply's error classes. Either is off when its model is set to `off`.

use std::time::Duration;

use async_openai::types::{
    audio::{AudioInput, CreateTranscriptionRequestArgs},
    chat::{
        ChatCompletionRequestMessageContentPartImage, ChatCompletionRequestSystemMessageArgs,
        ChatCompletionRequestUserMessageArgs, ChatCompletionRequestUserMessageContentPart, ImageDetail,
        ImageUrl,
    },
};
use base64::Engine;

use super::{call_outcome, classify, invalid, ModelError, ReplyModel};
use crate::{
    domain::media::extension,
    metrics::{self, Provider},
};

/// What the vision model is asked.
const DESCRIBE: &str = "A customer sent this image to a business on WhatsApp. Describe in one or two \
    sentences what it shows that matters for answering them: products, visible text, prices, \
    damage, a place. Write in Arabic if the image's text or the caption is Arabic, else in English. \
    Do not guess what you cannot see.";

impl ReplyModel {
    /// Whether voice notes are transcribed.
    pub fn transcribes(&self) -> bool {
        self.config.transcribe_model.is_some()
    }

    /// Whether images are described.
    pub fn describes(&self) -> bool {
        self.config.vision_model.is_some()
    }

    /// The text of a voice note (`None` when transcription is off).
    pub async fn transcribe(&self, bytes: Vec<u8>, mime: &str) -> Result<Option<String>, ModelError> {
        let Some(model) = &self.config.transcribe_model else { return Ok(None) };
        let file = AudioInput::from_vec_u8(format!("voice-note.{}", extension(mime)), bytes);
        let request = CreateTranscriptionRequestArgs::default()
            .file(file)
            .model(model.as_str())
            .build()
            .map_err(invalid)?;
        let audio = self.client.audio();
        let transcriptions = audio.transcription();
        // Read raw: OpenAI adds `usage`, which compatible servers (faster-whisper, vLLM)
        // may leave out; only `text` is needed.
        let call = transcriptions.create_raw(request);
        let answered = tokio::time::timeout(self.config.timeout + Duration::from_secs(1), call).await;
        metrics::outbound_call(Provider::OpenAi, call_outcome(&answered));
        let body = answered.map_err(|_| ModelError::Transient("timed out".into()))?.map_err(classify)?;
        let text = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("text").and_then(serde_json::Value::as_str).map(str::to_owned))
            .ok_or_else(|| ModelError::Transient("malformed transcription".into()))?;
        Ok(Some(text.trim().to_owned()))
    }

    /// What an image shows (`None` when description is off); `caption` is the customer's.
    pub async fn describe(
        &self,
        bytes: &[u8],
        mime: &str,
        caption: Option<&str>,
    ) -> Result<Option<String>, ModelError> {
        let Some(model) = &self.config.vision_model else { return Ok(None) };
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        let image = ChatCompletionRequestMessageContentPartImage {
            image_url: ImageUrl { url: format!("data:{mime};base64,{data}"), detail: Some(ImageDetail::Low) },
            prompt_cache_breakpoint: None,
        };
        let mut parts = vec![ChatCompletionRequestUserMessageContentPart::ImageUrl(image)];
        if let Some(caption) = caption.filter(|c| !c.trim().is_empty()) {
            parts.push(ChatCompletionRequestUserMessageContentPart::Text(
                format!("Caption: {caption}").into(),
            ));
        }
        let system =
            ChatCompletionRequestSystemMessageArgs::default().content(DESCRIBE).build().map_err(invalid)?;
        let user = ChatCompletionRequestUserMessageArgs::default().content(parts).build().map_err(invalid)?;
        let text = self.complete(model, vec![system.into(), user.into()], 0.0, 200).await?;
        Ok(Some(text.trim().to_owned()))
    }
}
