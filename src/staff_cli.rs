//! `mujibak staff-token create | list | revoke`: the operator's commands for the ops
//! console's access tokens (a token is printed once; only its hash is stored).

use anyhow::Context;
use clap::Subcommand;
use mujibak_core::{
    db::staff,
    ops::{self, tokens},
    Config,
};

use crate::roles::{connect, ensure_migrated};

#[derive(Subcommand)]
pub enum StaffToken {
    /// Create a token and print it once.
    Create {
        /// Who holds it (shown in the console and the audit log).
        #[arg(long)]
        name: String,
        /// Comma-separated: ops:read, ops:write, support:read, tenants:write,
        /// incidents:write, billing:write.
        #[arg(long)]
        scopes: String,
        /// Lifetime: 30d, 12h or 90m (at most 365d).
        #[arg(long, default_value = "30d")]
        expires: String,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by id; its console sessions end at once.
    Revoke { id: uuid::Uuid },
}

pub async fn run(config: &Config, command: StaffToken) -> anyhow::Result<()> {
    let pool = connect(config).await?;
    ensure_migrated(&pool).await?;
    match command {
        StaffToken::Create { name, scopes, expires } => {
            let scopes = ops::parse_scopes(&scopes)?;
            let ttl = tokens::parse_expiry(&expires)?;
            let (token, id, expires_at) = tokens::create(&pool, &name, &scopes, ttl).await?;
            println!("{token}");
            eprintln!("token {id} for {name:?} expires {expires_at}; it is shown only this once");
        }
        StaffToken::List => {
            println!(
                "{:<36}  {:<20}  {:<9}  {:<20}  {:<20}  scopes",
                "id", "name", "state", "expires", "last used"
            );
            for t in staff::list(&pool).await.context("cannot list tokens")? {
                let state = match (t.revoked_at, t.expires_at < chrono::Utc::now()) {
                    (Some(_), _) => "revoked",
                    (None, true) => "expired",
                    (None, false) => "active",
                };
                let used =
                    t.last_used_at.map(|d| d.format("%Y-%m-%d %H:%M").to_string()).unwrap_or("never".into());
                println!(
                    "{:<36}  {:<20}  {:<9}  {:<20}  {:<20}  {}",
                    t.token_id,
                    t.name,
                    state,
                    t.expires_at.format("%Y-%m-%d %H:%M"),
                    used,
                    t.scopes.join(",")
                );
            }
        }
        StaffToken::Revoke { id } => {
            tokens::revoke(&pool, id).await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
