//! A business's knowledge base: its FAQ entries and documents, their passages, and the
//! full-text search that finds the passages a customer's question needs (the bot page's
//! pasted knowledge text is indexed too, as passages with no entry, by
//! `bot_settings::save`). Passages are split
//! and normalised in SQL (`kb_passages`, `kb_normalize`: migration `knowledge_base`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

pub use crate::domain::knowledge::Passage;
use crate::domain::{knowledge::Terms, TenantId};

/// An entry as the knowledge page lists it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Entry {
    pub entry_id: Uuid,
    /// `faq` or `document`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub passages: i64,
    pub created_at: DateTime<Utc>,
}

/// `tenant`'s entries, FAQ first, oldest first.
pub async fn list(conn: &mut PgConnection, tenant: TenantId) -> Result<Vec<Entry>, sqlx::Error> {
    sqlx::query_as(
        "select e.entry_id, e.kind, e.title, e.body, e.created_at,
                (select count(*) from knowledge_passages p where p.tenant_id = e.tenant_id and p.entry_id = e.entry_id)
                  as passages
           from knowledge_entries e where e.tenant_id = $1
          order by e.kind desc, e.created_at, e.entry_id",
    )
    .bind(tenant)
    .fetch_all(conn)
    .await
}

/// How many entries `tenant` keeps.
pub async fn count(conn: &mut PgConnection, tenant: TenantId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select count(*) from knowledge_entries where tenant_id = $1")
        .bind(tenant)
        .fetch_one(conn)
        .await
}

/// Adds an FAQ entry, its one passage `passage` (the pair as the prompt reads it).
pub async fn add_faq(
    conn: &mut PgConnection,
    tenant: TenantId,
    question: &str,
    answer: &str,
    passage: &str,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "with e as (insert into knowledge_entries (tenant_id, entry_id, kind, title, body)
                    values ($1, $2, 'faq', $3, $4) returning tenant_id, entry_id)
         insert into knowledge_passages (tenant_id, entry_id, body) select tenant_id, entry_id, $5 from e",
    )
    .bind(tenant)
    .bind(id)
    .bind(question)
    .bind(answer)
    .bind(passage)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Adds a document, split into passages (paragraphs; FAQ pairs on their own).
pub async fn add_document(
    conn: &mut PgConnection,
    tenant: TenantId,
    title: &str,
    text: &str,
) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::new_v4();
    sqlx::query(
        "with e as (insert into knowledge_entries (tenant_id, entry_id, kind, title, body)
                    values ($1, $2, 'document', $3, $4) returning tenant_id, entry_id, body)
         insert into knowledge_passages (tenant_id, entry_id, body)
         select e.tenant_id, e.entry_id, p from e, kb_passages(e.body) p",
    )
    .bind(tenant)
    .bind(id)
    .bind(title)
    .bind(text)
    .execute(conn)
    .await?;
    Ok(id)
}

/// Deletes an entry and its passages. `false` if it was not the tenant's.
pub async fn delete(conn: &mut PgConnection, tenant: TenantId, entry: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("delete from knowledge_entries where tenant_id = $1 and entry_id = $2")
        .bind(tenant)
        .bind(entry)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The passages of `tenant` that best match `terms`, best first, at most `limit`.
pub async fn relevant(
    conn: &mut PgConnection,
    tenant: TenantId,
    terms: &Terms,
    limit: i64,
) -> Result<Vec<Passage>, sqlx::Error> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(
        "with q as (select to_tsquery('arabic', kb_normalize($2)) || to_tsquery('english', $3) as q)
         select p.body, e.title, ts_rank_cd(p.search, q.q) as rank
           from q, knowledge_passages p
           left join knowledge_entries e on e.tenant_id = p.tenant_id and e.entry_id = p.entry_id
          where p.tenant_id = $1 and p.search @@ q.q
          order by rank desc, p.passage_id
          limit $4",
    )
    .bind(tenant)
    .bind(&terms.arabic)
    .bind(&terms.other)
    .bind(limit)
    .fetch_all(conn)
    .await
}
