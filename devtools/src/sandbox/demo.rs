//! The demo business `scripts/dev` prints a login for: an owner (address proven: it is
//! ours), a connected sandbox number (verified against the sandbox Graph API like any
//! other) and a bot with a small FAQ. Created once; kept across runs.

use mujibak_core::{
    accounts::{self, SignUp},
    clients::whatsapp::GraphClient,
    connections::{self, ConnectInput},
    crypto::Keyring,
    db::{audit::Actor, bot_settings, connections as db_connections, plans, users},
    domain::{DisplayName, EmailAddress, Locale, NewPassword},
};
use secrecy::SecretString;
use sqlx::PgPool;

/// Demo owner's email.
pub const DEMO_EMAIL: &str = "demo@mujibak.test";
/// Demo owner's password (sandbox only).
pub const DEMO_PASSWORD: &str = "sandbox-demo-lantern";
/// The sandbox number's credentials (the local Graph API accepts exactly these).
pub const PHONE_NUMBER_ID: &str = "SANDBOX-PN-1";
pub const ACCESS_TOKEN: &str = "sandbox-access-token";
pub const APP_SECRET: &str = "sandbox-app-secret";

/// Creates the demo tenant, owner, sandbox connection and bot unless they exist; returns
/// the connection's webhook key. `graph` is the sandbox Graph API, where the demo number
/// is registered (the connection is verified against it).
pub async fn ensure(pool: &PgPool, keyring: &Keyring, graph: &GraphClient) -> anyhow::Result<String> {
    let owner = match users::by_email(&mut *pool.acquire().await?, DEMO_EMAIL).await? {
        Some(u) => u,
        None => {
            let signup = SignUp {
                name: DisplayName::parse("مدير التجربة", 100).map_err(anyhow::Error::msg)?,
                email: EmailAddress::parse(DEMO_EMAIL).map_err(anyhow::Error::msg)?,
                business_name: DisplayName::parse("مخبز النور (تجريبي)", 80).map_err(anyhow::Error::msg)?,
                password: NewPassword::parse(DEMO_PASSWORD, &[]).map_err(anyhow::Error::msg)?,
                locale: Locale::Ar,
            };
            let mut tx = pool.begin().await?;
            let (owner, _) = accounts::sign_up(&mut tx, signup).await?;
            tx.commit().await?;
            let bot = bot_settings::BotSettings {
                enabled: true,
                description: "مخبز عائلي في الرياض / A family bakery in Riyadh.".into(),
                instructions: "رحّب بالعميل بلطف. Greet the customer warmly.".into(),
                knowledge: "س: متى تفتحون؟\nج: نفتح يوميًا من ٧ صباحًا حتى ١١ مساءً.\nQ: When do you open?\nA: Daily from 7am to 11pm.\nQ: Do you deliver?\nA: Yes, across Riyadh for 15 SAR.".into(),
                reply_language: "match".into(),
                fallback_message: "سيرد عليك أحد أفراد الفريق قريبًا. A team member will reply shortly.".into(),
                handoff_email_minutes: 5,
                ..Default::default()
            };
            bot_settings::save(&mut *pool.acquire().await?, owner.tenant_id, &bot).await?;
            // The demo shows a paying business (the trial's 100 replies run out in a demo day).
            plans::set_for(&mut *pool.acquire().await?, owner.tenant_id, "pro").await?;
            tracing::info!("demo business created");
            owner
        }
    };
    users::mark_verified(&mut *pool.acquire().await?, owner.tenant_id, owner.user_id).await?;
    if let Some(conn) = db_connections::live(&mut *pool.acquire().await?, owner.tenant_id).await? {
        return Ok(conn.webhook_key);
    }
    let input = ConnectInput {
        phone_number_id: PHONE_NUMBER_ID.into(),
        waba_id: "SANDBOX-WABA".into(),
        display_number: "+966 50 000 0000".into(),
        access_token: SecretString::from(ACCESS_TOKEN),
        app_secret: SecretString::from(APP_SECRET),
    };
    Ok(connections::connect(pool, keyring, graph, owner.tenant_id, &input, &Actor::System).await?.webhook_key)
}
