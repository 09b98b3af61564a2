//! Logging set-up shared by every process role. Log lines carry ids in structured fields;
//! message text, phone numbers, tokens and passwords are never logged (see docs/security.md,
//! "Security model"). `async_openai` logs whole response bodies, so its target is capped.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Default filter when `RUST_LOG` is unset: our crates at info, noisy dependencies quieter.
const DEFAULT_FILTER: &str =
    "info,sqlx=warn,apalis=warn,apalis_core=warn,apalis_postgres=warn,async_openai=off";

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops).
/// Colours only on a terminal: a log file or a log drain gets plain text.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = fmt().with_env_filter(filter).with_target(true).with_ansi(on_terminal);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
