//! Connecting a WhatsApp number: generate the webhook key and verify token, seal the
//! access token and app secret (bound to the connection id), re-authorise, disconnect,
//! check against the Graph API, and re-encrypt every secret under the current key.

use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::new_token,
    clients::whatsapp::{Creds, GraphClient, GraphError, NumberInfo},
    crypto::{CryptoError, Keyring},
    db::{bot_settings, connections, connections::Connection},
    domain::TenantId,
};

/// What the owner enters to connect a number.
pub struct ConnectInput {
    pub phone_number_id: String,
    pub waba_id: String,
    pub display_number: String,
    pub access_token: SecretString,
    pub app_secret: SecretString,
}

/// Why a connection operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("this business already has a connected number")]
    AlreadyConnected,
    #[error("this number is connected to another business")]
    NumberTaken,
    #[error("no connected number")]
    NotConnected,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub fn token_context(connection_id: Uuid) -> String {
    format!("whatsapp.access_token:{connection_id}")
}

pub fn secret_context(connection_id: Uuid) -> String {
    format!("whatsapp.app_secret:{connection_id}")
}

/// Creates the tenant's connection (status active).
pub async fn connect(
    pool: &PgPool,
    keyring: &Keyring,
    tenant_id: TenantId,
    input: &ConnectInput,
) -> Result<Connection, ConnectionError> {
    use secrecy::ExposeSecret;
    let connection_id = Uuid::new_v4();
    let (webhook_key, _) = new_token();
    let (verify_token, _) = new_token();
    let token_enc = keyring.seal(input.access_token.expose_secret(), &token_context(connection_id));
    let secret_enc = keyring.seal(input.app_secret.expose_secret(), &secret_context(connection_id));
    let mut tx = pool.begin().await?;
    let new = connections::NewConnection {
        connection_id,
        webhook_key: &webhook_key,
        phone_number_id: input.phone_number_id.trim(),
        waba_id: input.waba_id.trim(),
        display_number: input.display_number.trim(),
        access_token_enc: &token_enc,
        app_secret_enc: &secret_enc,
        verify_token: &verify_token,
    };
    connections::insert(&mut tx, tenant_id, &new).await.map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("whatsapp_connections_live_tenant") => {
            ConnectionError::AlreadyConnected
        }
        sqlx::Error::Database(d) if d.constraint() == Some("whatsapp_connections_live_number") => {
            ConnectionError::NumberTaken
        }
        _ => ConnectionError::Database(e),
    })?;
    let conn =
        connections::get(&mut tx, tenant_id, connection_id).await?.ok_or(ConnectionError::NotConnected)?;
    tx.commit().await?;
    Ok(conn)
}

/// Replaces the access token (e.g. after Meta rejected the old one) and reactivates.
pub async fn reauthorize(
    pool: &PgPool,
    keyring: &Keyring,
    tenant_id: TenantId,
    token: &SecretString,
) -> Result<(), ConnectionError> {
    use secrecy::ExposeSecret;
    let mut tx = pool.begin().await?;
    let conn = connections::live(&mut tx, tenant_id).await?.ok_or(ConnectionError::NotConnected)?;
    let token_enc = keyring.seal(token.expose_secret(), &token_context(conn.connection_id));
    let secret_enc = conn.app_secret_enc.clone();
    sqlx::query("update whatsapp_connections set access_token_enc = $3, app_secret_enc = $4 where tenant_id = $1 and connection_id = $2")
        .bind(tenant_id)
        .bind(conn.connection_id)
        .bind(token_enc)
        .bind(secret_enc)
        .execute(&mut *tx)
        .await?;
    connections::set_status(&mut tx, tenant_id, conn.connection_id, "active", None).await?;
    tx.commit().await?;
    Ok(())
}

/// Unlinks the live connection (history is kept) and turns the bot off.
pub async fn disconnect(pool: &PgPool, tenant_id: TenantId) -> Result<(), ConnectionError> {
    let mut tx = pool.begin().await?;
    let conn = connections::live(&mut tx, tenant_id).await?.ok_or(ConnectionError::NotConnected)?;
    connections::unlink(&mut tx, tenant_id, conn.connection_id).await?;
    bot_settings::disable(&mut tx, tenant_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Calls the Graph API with the stored credentials.
pub async fn check(
    graph: &GraphClient,
    keyring: &Keyring,
    conn: &Connection,
) -> Result<Result<NumberInfo, GraphError>, CryptoError> {
    let token = keyring.open(&conn.access_token_enc, &token_context(conn.connection_id))?;
    let creds = Creds { phone_number_id: &conn.phone_number_id, access_token: &token };
    Ok(graph.check(&creds).await)
}

/// The app secret of a connection (webhook signatures).
pub fn app_secret(keyring: &Keyring, conn: &Connection) -> Result<SecretString, CryptoError> {
    keyring.open(&conn.app_secret_enc, &secret_context(conn.connection_id))
}

/// Re-encrypts every secret not under the current key. Returns how many were rewritten.
pub async fn rotate_keys(pool: &PgPool, keyring: &Keyring) -> Result<usize, ConnectionError> {
    use secrecy::ExposeSecret;
    let mut rewritten = 0;
    for (id, token_enc, secret_enc) in connections::all_secrets(pool).await? {
        let current = keyring.current_id();
        if Keyring::key_id(&token_enc) == Some(current) && Keyring::key_id(&secret_enc) == Some(current) {
            continue;
        }
        let token = keyring.open(&token_enc, &token_context(id))?;
        let secret = keyring.open(&secret_enc, &secret_context(id))?;
        let token_enc = keyring.seal(token.expose_secret(), &token_context(id));
        let secret_enc = keyring.seal(secret.expose_secret(), &secret_context(id));
        connections::set_secrets(pool, id, &token_enc, &secret_enc).await?;
        rewritten += 1;
    }
    Ok(rewritten)
}
