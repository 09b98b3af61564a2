//! What the dashboard tells an owner: how far the business is through setting up, and
//! the month in plain figures (how many replies the bot wrote, how many people did).

use sqlx::PgConnection;

use crate::domain::TenantId;

/// The setup steps the business has done (the address's confirmation is the user's own).
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow, serde::Serialize)]
pub struct Setup {
    pub connected: bool,
    /// The bot is on and knows something of the business (instructions or FAQ).
    pub bot_written: bool,
    /// A customer (or the simulator) has written.
    pub tested: bool,
    /// Someone else has joined or been invited.
    pub team_invited: bool,
}

pub async fn setup(conn: &mut PgConnection, tenant_id: TenantId) -> Result<Setup, sqlx::Error> {
    sqlx::query_as(
        "select exists (select 1 from whatsapp_connections where tenant_id = $1 and unlinked_at is null) as connected,
                exists (select 1 from bot_settings where tenant_id = $1 and enabled
                          and (btrim(instructions) <> '' or btrim(knowledge) <> ''
                               or exists (select 1 from knowledge_entries k where k.tenant_id = $1))) as bot_written,
                exists (select 1 from messages where tenant_id = $1 and direction = 'in') as tested,
                (select count(*) from users where tenant_id = $1) > 1
                  or exists (select 1 from user_tokens where tenant_id = $1 and purpose = 'invitation') as team_invited",
    )
    .bind(tenant_id)
    .fetch_one(conn)
    .await
}

/// The last `days` days in plain figures.
#[derive(Debug, Clone, Copy, Default, sqlx::FromRow, serde::Serialize)]
pub struct Figures {
    /// Replies the bot wrote, and those a person wrote.
    pub by_bot: i64,
    pub by_people: i64,
}

pub async fn figures(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    days: i32,
) -> Result<Figures, sqlx::Error> {
    sqlx::query_as(
        "select (select count(*) from messages where tenant_id = $1 and direction = 'out' and author = 'bot'
                   and created_at > now() - make_interval(days => $2)) as by_bot,
                (select count(*) from messages where tenant_id = $1 and direction = 'out' and author = 'human'
                   and created_at > now() - make_interval(days => $2)) as by_people",
    )
    .bind(tenant_id)
    .bind(days)
    .fetch_one(conn)
    .await
}
