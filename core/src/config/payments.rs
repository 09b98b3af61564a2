//! Billing's configuration: the seller on invoices (`Config::seller`), Moyasar's keys and
//! the dunning delays (`Config::billing`).

use std::time::Duration;

use secrecy::SecretString;

use super::{invalid, BillingConfig, ConfigError, Env, MoyasarConfig};

pub(super) fn billing(env: &Env<'_>) -> Result<BillingConfig, ConfigError> {
    let remind_after_days: u32 = env.parsed("BILLING_REMIND_AFTER_DAYS", 3)?;
    let suspend_after_days: u32 = env.parsed("BILLING_SUSPEND_AFTER_DAYS", 14)?;
    if suspend_after_days <= remind_after_days {
        return Err(invalid(
            "BILLING_SUSPEND_AFTER_DAYS",
            "must be more than BILLING_REMIND_AFTER_DAYS (the reminder comes before the pause)",
        ));
    }
    Ok(BillingConfig { moyasar: moyasar(env)?, remind_after_days, suspend_after_days })
}

fn moyasar(env: &Env<'_>) -> Result<Option<MoyasarConfig>, ConfigError> {
    let Some(key) = env.optional("MOYASAR_SECRET_KEY") else {
        return Ok(None);
    };
    let key = key.trim().to_owned();
    let live = if key.starts_with("sk_live_") {
        true
    } else if key.starts_with("sk_test_") {
        false
    } else {
        return Err(invalid(
            "MOYASAR_SECRET_KEY",
            "a Moyasar secret key starts with sk_test_ or sk_live_ (the publishable pk_ key is not used)",
        ));
    };
    let webhook_secret = env.required(
        "MOYASAR_WEBHOOK_SECRET",
        "the Secret Token of the webhook set in Moyasar's dashboard; required with MOYASAR_SECRET_KEY",
    )?;
    if webhook_secret.trim().len() < 16 {
        return Err(invalid("MOYASAR_WEBHOOK_SECRET", "use at least 16 characters"));
    }
    let api_url = env
        .optional("MOYASAR_API_URL")
        .unwrap_or_else(|| "https://api.moyasar.com/v1".into())
        .trim_end_matches('/')
        .to_owned();
    if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
        return Err(invalid("MOYASAR_API_URL", "must start with https:// (or http:// for the sandbox)"));
    }
    let timeout = Duration::from_secs(env.parsed("MOYASAR_TIMEOUT_SECS", 15)?);
    if timeout.is_zero() {
        return Err(invalid("MOYASAR_TIMEOUT_SECS", "must be at least 1"));
    }
    Ok(Some(MoyasarConfig {
        api_url,
        secret_key: SecretString::from(key),
        webhook_secret: SecretString::from(webhook_secret.trim().to_owned()),
        live,
        timeout,
    }))
}

/// `SELLER_NAME`, `SELLER_VAT_NUMBER` and `SELLER_ADDRESS`: all three or none.
pub(super) fn seller(env: &Env<'_>) -> Result<Option<crate::billing::Seller>, ConfigError> {
    let (name, vat, address) =
        (env.optional("SELLER_NAME"), env.optional("SELLER_VAT_NUMBER"), env.optional("SELLER_ADDRESS"));
    let (name, vat_number, address) = match (name, vat, address) {
        (None, None, None) => return Ok(None),
        (Some(n), Some(v), Some(a)) => (n.trim().to_owned(), v.trim().to_owned(), a.trim().to_owned()),
        _ => {
            return Err(invalid(
                "SELLER_VAT_NUMBER",
                "set SELLER_NAME, SELLER_VAT_NUMBER and SELLER_ADDRESS together (or none: no invoices are issued)",
            ))
        }
    };
    let digits = vat_number.len() == 15 && vat_number.bytes().all(|b| b.is_ascii_digit());
    if !digits || !vat_number.starts_with('3') || !vat_number.ends_with('3') {
        return Err(invalid(
            "SELLER_VAT_NUMBER",
            "a Saudi VAT number is 15 digits starting and ending with 3",
        ));
    }
    if name.len() > 255 {
        return Err(invalid("SELLER_NAME", "at most 255 bytes fit the invoice's QR code"));
    }
    Ok(Some(crate::billing::Seller { name, vat_number, address }))
}
