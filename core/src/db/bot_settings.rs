//! A tenant's bot settings (one row per tenant; defaults when absent).

use sqlx::PgConnection;

use crate::domain::TenantId;

pub use crate::domain::bot::{BotSettings, Hours};

pub async fn get(conn: &mut PgConnection, tenant_id: TenantId) -> Result<BotSettings, sqlx::Error> {
    let row: Option<BotSettings> = sqlx::query_as(
        "select enabled, description, instructions, knowledge, reply_language, business_hours, away_message,
                away_mode, fallback_message, model, welcome_message, handoff_message, handoff_phrases,
                handoff_email_minutes, media_understanding
           from bot_settings where tenant_id = $1",
    )
    .bind(tenant_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.unwrap_or_else(|| BotSettings {
        reply_language: "match".into(),
        away_mode: "notice_only".into(),
        handoff_email_minutes: 5,
        ..Default::default()
    }))
}

/// Saves `tenant_id`'s settings and, in the same statement, re-indexes the pasted
/// knowledge text as knowledge-base passages (`kb_passages`; passages with no entry).
pub async fn save(conn: &mut PgConnection, tenant_id: TenantId, s: &BotSettings) -> Result<(), sqlx::Error> {
    sqlx::query(
        "with saved as (
         insert into bot_settings (tenant_id, enabled, description, instructions, knowledge, reply_language,
           business_hours, away_message, fallback_message, model, welcome_message, away_mode, handoff_message,
           handoff_phrases, handoff_email_minutes, media_understanding, updated_at)
         values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16, now())
         on conflict (tenant_id) do update set enabled = $2, description = $3, instructions = $4, knowledge = $5,
           reply_language = $6, business_hours = $7, away_message = $8, fallback_message = $9, model = $10,
           welcome_message = $11, away_mode = $12, handoff_message = $13, handoff_phrases = $14,
           handoff_email_minutes = $15, media_understanding = $16, updated_at = now()
         returning knowledge),
         gone as (delete from knowledge_passages where tenant_id = $1 and entry_id is null)
         insert into knowledge_passages (tenant_id, body) select $1, p from saved, kb_passages(saved.knowledge) p",
    )
    .bind(tenant_id)
    .bind(s.enabled)
    .bind(&s.description)
    .bind(&s.instructions)
    .bind(&s.knowledge)
    .bind(&s.reply_language)
    .bind(&s.business_hours)
    .bind(&s.away_message)
    .bind(&s.fallback_message)
    .bind(&s.model)
    .bind(&s.welcome_message)
    .bind(if s.away_mode == "notice_and_ai" { "notice_and_ai" } else { "notice_only" })
    .bind(&s.handoff_message)
    .bind(&s.handoff_phrases)
    .bind(s.handoff_email_minutes.clamp(0, 1440))
    .bind(s.media_understanding)
    .execute(conn)
    .await?;
    Ok(())
}

/// Turns the bot off (e.g. when the connection needs re-authorisation).
pub async fn disable(conn: &mut PgConnection, tenant_id: TenantId) -> Result<(), sqlx::Error> {
    sqlx::query("update bot_settings set enabled = false, updated_at = now() where tenant_id = $1")
        .bind(tenant_id)
        .execute(conn)
        .await?;
    Ok(())
}
