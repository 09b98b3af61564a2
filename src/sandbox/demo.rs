//! The demo business `scripts/dev` prints a login for. Created once; kept across runs.

use mujibak_core::{
    accounts::{self, SignUp},
    db::users,
    domain::{EmailAddress, Locale, NewPassword},
};
use sqlx::PgPool;

/// Demo owner's email.
pub const DEMO_EMAIL: &str = "demo@mujibak.test";
/// Demo owner's password (sandbox only).
pub const DEMO_PASSWORD: &str = "sandbox-demo-lantern";

/// Creates the demo tenant and owner unless they exist.
pub async fn ensure(pool: &PgPool) -> anyhow::Result<()> {
    if users::by_email(&mut *pool.acquire().await?, DEMO_EMAIL).await?.is_some() {
        return Ok(());
    }
    let signup = SignUp {
        name: "مدير التجربة".into(),
        email: EmailAddress::parse(DEMO_EMAIL).map_err(anyhow::Error::msg)?,
        business_name: "مخبز النور (تجريبي)".into(),
        password: NewPassword::parse(DEMO_PASSWORD, &[]).map_err(anyhow::Error::msg)?,
        locale: Locale::Ar,
    };
    accounts::sign_up(pool, signup).await?;
    tracing::info!("demo business created");
    Ok(())
}
