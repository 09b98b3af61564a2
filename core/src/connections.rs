//! Connecting a WhatsApp number: Meta must first accept the access token for the number
//! (the Graph API reads the number with it), then the webhook key and verify token are
//! generated and the token, app secret and verify token sealed (bound to the connection id). Also
//! re-authorise (the new token checked the same way), disconnect, check against the Graph
//! API, and re-encrypt every secret under the current key. Only a connection Meta verified
//! holds its number (`whatsapp_connections_live_number`), so a made-up token claims nothing.
//! Connecting also asks Meta whether the WhatsApp Business Account holds the number and
//! subscribes the app to the account's webhooks; a refusal names the owner's next step
//! ([`Refusal`]).

mod refusal;

pub use refusal::{Refusal, Step};

use secrecy::SecretString;
use serde_json::json;
use sqlx::PgPool;

use crate::{
    auth::new_token,
    clients::whatsapp::{Creds, GraphClient, GraphError, NumberInfo},
    crypto::{CryptoError, Keyring},
    db::{
        audit::{self, Actor},
        bot_settings, connections,
        connections::Connection,
    },
    domain::{ConnectionId, TenantId},
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
    /// Meta refused (or could not be asked); nothing was stored.
    #[error("Meta refused the connection: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub fn token_context(connection_id: ConnectionId) -> String {
    format!("whatsapp.access_token:{connection_id}")
}

pub fn secret_context(connection_id: ConnectionId) -> String {
    format!("whatsapp.app_secret:{connection_id}")
}

pub fn verify_context(connection_id: ConnectionId) -> String {
    format!("whatsapp.verify_token:{connection_id}")
}

/// Asks Meta to read `phone_number_id` with `token`: what it answers, or why not.
async fn verify(
    graph: &GraphClient,
    phone_number_id: &str,
    token: &SecretString,
) -> Result<NumberInfo, ConnectionError> {
    let creds = Creds { phone_number_id, access_token: token };
    graph.check(&creds).await.map_err(|e| ConnectionError::Refused(Refusal::of(Step::Number, &e)))
}

/// Asks Meta whether the account `waba_id` holds the number, then subscribes the app to the
/// account's webhooks (asking again is harmless: Meta keeps one subscription).
async fn join_account(
    graph: &GraphClient,
    waba_id: &str,
    phone_number_id: &str,
    token: &SecretString,
) -> Result<(), ConnectionError> {
    let refused = |e: GraphError| ConnectionError::Refused(Refusal::of(Step::Account, &e));
    let numbers = graph.account_numbers(waba_id, token).await.map_err(refused)?;
    if !numbers.iter().any(|n| n == phone_number_id) {
        return Err(ConnectionError::Refused(Refusal::WrongAccount));
    }
    graph.subscribe_app(waba_id, token).await.map_err(refused)
}

fn map_unique(e: sqlx::Error) -> ConnectionError {
    match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("whatsapp_connections_live_tenant") => {
            ConnectionError::AlreadyConnected
        }
        sqlx::Error::Database(d) if d.constraint() == Some("whatsapp_connections_live_number") => {
            ConnectionError::NumberTaken
        }
        _ => ConnectionError::Database(e),
    }
}

/// Creates the tenant's connection (status active, verified) once Meta accepted the token
/// for the number, confirmed the account holds it and subscribed the app to the account;
/// the display number is the one Meta reports, if it reports one.
pub async fn connect(
    pool: &PgPool,
    keyring: &Keyring,
    graph: &GraphClient,
    tenant_id: TenantId,
    input: &ConnectInput,
    actor: &Actor,
) -> Result<Connection, ConnectionError> {
    use secrecy::ExposeSecret;
    let phone_number_id = input.phone_number_id.trim();
    let info = verify(graph, phone_number_id, &input.access_token).await?;
    join_account(graph, input.waba_id.trim(), phone_number_id, &input.access_token).await?;
    let display_number = Some(info.display_phone_number.trim())
        .filter(|d| !d.is_empty())
        .unwrap_or(input.display_number.trim());
    let connection_id = ConnectionId::new();
    let (webhook_key, _) = new_token();
    let (verify_token, _) = new_token();
    let token_enc = keyring.seal(input.access_token.expose_secret(), &token_context(connection_id));
    let secret_enc = keyring.seal(input.app_secret.expose_secret(), &secret_context(connection_id));
    let verify_enc = keyring.seal(&verify_token, &verify_context(connection_id));
    let mut tx = pool.begin().await?;
    let new = connections::NewConnection {
        connection_id,
        webhook_key: &webhook_key,
        phone_number_id,
        waba_id: input.waba_id.trim(),
        display_number,
        access_token_enc: &token_enc,
        app_secret_enc: &secret_enc,
        verify_token_enc: &verify_enc,
    };
    connections::insert(&mut tx, tenant_id, &new).await.map_err(map_unique)?;
    let conn =
        connections::get(&mut tx, tenant_id, connection_id).await?.ok_or(ConnectionError::NotConnected)?;
    let detail = json!({ "connection_id": connection_id, "phone_number_id": phone_number_id });
    audit::record(&mut tx, Some(tenant_id), actor, "connection_connected", detail).await?;
    tx.commit().await?;
    Ok(conn)
}

/// Replaces the access token (e.g. after Meta rejected the old one) once Meta accepted the
/// new one for the number, and reactivates.
pub async fn reauthorize(
    pool: &PgPool,
    keyring: &Keyring,
    graph: &GraphClient,
    tenant_id: TenantId,
    token: &SecretString,
    actor: &Actor,
) -> Result<(), ConnectionError> {
    use secrecy::ExposeSecret;
    let live = connections::live(&mut *pool.acquire().await?, tenant_id)
        .await?
        .ok_or(ConnectionError::NotConnected)?;
    verify(graph, &live.phone_number_id, token).await?;
    let mut tx = pool.begin().await?;
    let conn = connections::live(&mut tx, tenant_id).await?.ok_or(ConnectionError::NotConnected)?;
    if conn.connection_id != live.connection_id {
        return Err(ConnectionError::NotConnected);
    }
    let token_enc = keyring.seal(token.expose_secret(), &token_context(conn.connection_id));
    connections::set_token(&mut tx, tenant_id, conn.connection_id, &token_enc).await?;
    connections::mark_verified(&mut tx, tenant_id, conn.connection_id).await.map_err(map_unique)?;
    connections::set_status(&mut tx, tenant_id, conn.connection_id, "active", None).await?;
    let detail = json!({ "connection_id": conn.connection_id });
    audit::record(&mut tx, Some(tenant_id), actor, "connection_reauthorized", detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Records that Meta accepted the stored token (a successful "check connection"); a
/// connection made before verification existed then holds its number, unless a verified
/// connection of another business already does.
pub async fn confirm_verified(pool: &PgPool, conn: &Connection) -> Result<(), ConnectionError> {
    let mut tx = pool.begin().await?;
    connections::mark_verified(&mut tx, conn.tenant_id, conn.connection_id).await.map_err(map_unique)?;
    connections::set_status(&mut tx, conn.tenant_id, conn.connection_id, "active", None).await?;
    tx.commit().await?;
    Ok(())
}

/// Unlinks the live connection (history is kept) and turns the bot off.
pub async fn disconnect(pool: &PgPool, tenant_id: TenantId, actor: &Actor) -> Result<(), ConnectionError> {
    let mut tx = pool.begin().await?;
    let conn = connections::live(&mut tx, tenant_id).await?.ok_or(ConnectionError::NotConnected)?;
    connections::unlink(&mut tx, tenant_id, conn.connection_id).await?;
    bot_settings::disable(&mut tx, tenant_id).await?;
    let detail = json!({ "connection_id": conn.connection_id });
    audit::record(&mut tx, Some(tenant_id), actor, "connection_disconnected", detail).await?;
    tx.commit().await?;
    Ok(())
}

/// Calls the Graph API with the stored credentials.
pub async fn check(
    graph: &GraphClient,
    keyring: &Keyring,
    conn: &Connection,
) -> Result<Result<NumberInfo, GraphError>, CryptoError> {
    let token = access_token(keyring, conn)?;
    let creds = Creds { phone_number_id: &conn.phone_number_id, access_token: &token };
    Ok(graph.check(&creds).await)
}

/// The access token of a connection (Graph API calls).
pub fn access_token(keyring: &Keyring, conn: &Connection) -> Result<SecretString, CryptoError> {
    keyring.open(&conn.access_token_enc, &token_context(conn.connection_id))
}

/// The app secret of a connection (webhook signatures).
pub fn app_secret(keyring: &Keyring, conn: &Connection) -> Result<SecretString, CryptoError> {
    keyring.open(&conn.app_secret_enc, &secret_context(conn.connection_id))
}

/// The verify token Meta's webhook handshake must present (shown to the owner to paste).
pub fn verify_token(keyring: &Keyring, conn: &Connection) -> Result<SecretString, CryptoError> {
    match (&conn.verify_token_enc, &conn.verify_token) {
        (Some(sealed), _) => keyring.open(sealed, &verify_context(conn.connection_id)),
        // Stored before tokens were sealed; `mujibak migrate` seals it.
        (None, Some(plain)) => Ok(SecretString::from(plain.clone())),
        (None, None) => Err(CryptoError::Malformed),
    }
}

/// Seals verify tokens stored in plaintext before tokens were sealed (the release phase
/// runs it after migrating); a no-op once none is left. How many connections were rewritten.
pub async fn seal_legacy(pool: &PgPool, keyring: &Keyring) -> Result<usize, ConnectionError> {
    if connections::all_secrets(pool).await?.iter().all(|s| s.verify_token.is_none()) {
        return Ok(0);
    }
    rotate_keys(pool, keyring).await
}

/// Re-encrypts every secret not under the current key, and seals a verify token stored
/// in plaintext before tokens were sealed. Returns how many connections were rewritten.
pub async fn rotate_keys(pool: &PgPool, keyring: &Keyring) -> Result<usize, ConnectionError> {
    use secrecy::ExposeSecret;
    let mut rewritten = 0;
    for s in connections::all_secrets(pool).await? {
        let (id, current) = (s.connection_id, Some(keyring.current_id()));
        let verify_sealed = s.verify_token_enc.as_deref().and_then(Keyring::key_id);
        if Keyring::key_id(&s.access_token_enc) == current
            && Keyring::key_id(&s.app_secret_enc) == current
            && verify_sealed == current
        {
            continue;
        }
        let token = keyring.open(&s.access_token_enc, &token_context(id))?;
        let secret = keyring.open(&s.app_secret_enc, &secret_context(id))?;
        let verify = match (&s.verify_token_enc, s.verify_token) {
            (Some(sealed), _) => keyring.open(sealed, &verify_context(id))?,
            (None, plain) => SecretString::from(plain.unwrap_or_default()),
        };
        let token_enc = keyring.seal(token.expose_secret(), &token_context(id));
        let secret_enc = keyring.seal(secret.expose_secret(), &secret_context(id));
        let verify_enc = keyring.seal(verify.expose_secret(), &verify_context(id));
        connections::set_secrets(pool, id, &token_enc, &secret_enc, &verify_enc).await?;
        rewritten += 1;
    }
    let detail = json!({ "connections": rewritten, "key": keyring.current_id() });
    audit::record(&mut *pool.acquire().await?, None, &Actor::System, "secrets_rekeyed", detail).await?;
    Ok(rewritten)
}
