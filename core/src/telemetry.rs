//! Logging set-up shared by every process role. Log lines carry ids in structured fields;
//! message text, phone numbers, tokens and passwords are never logged (see docs/security.md,
//! "Security model"). Dependencies that log payloads (`async_openai` logs whole response
//! bodies; `lettre`, built with tracing, would log the SMTP conversation: addresses,
//! credentials) are capped whatever `RUST_LOG` says.

use tracing_subscriber::{filter::Directive, fmt, EnvFilter};

use crate::config::LogFormat;

/// Default filter when `RUST_LOG` is unset: our crates at info, noisy dependencies quieter.
const DEFAULT_FILTER: &str = "info,sqlx=warn,apalis=warn,apalis_core=warn,apalis_postgres=warn";

/// Added after `RUST_LOG`'s own directives, so `RUST_LOG=debug` cannot turn them on.
const PAYLOAD_CAPS: [&str; 2] = ["async_openai=off", "lettre=info"];

/// Installs the global subscriber. Safe to call more than once (later calls are no-ops).
/// Colours only on a terminal: a log file or a log drain gets plain text.
pub fn init(format: LogFormat) {
    let filter = filter(std::env::var("RUST_LOG").ok().as_deref());
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = fmt().with_env_filter(filter).with_target(true).with_ansi(on_terminal);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// `rust_log` (the default when unset or unreadable), then the payload caps.
fn filter(rust_log: Option<&str>) -> EnvFilter {
    let mut filter = rust_log
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    for cap in PAYLOAD_CAPS {
        filter = filter.add_directive(cap.parse::<Directive>().expect("a valid directive"));
    }
    filter
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;

    use super::filter;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// What `rust_log` lets through of a payload-logging dependency and of our own debug line.
    fn logged(rust_log: Option<&str>) -> String {
        let out = Captured::default();
        let subscriber =
            tracing_subscriber::fmt().with_env_filter(filter(rust_log)).with_writer(out.clone()).finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "async_openai::error", "failed deserialization of: Hello Sara");
            tracing::debug!(target: "lettre::transport::smtp", "Wrote: RCPT TO:<sara@example.sa>");
            tracing::debug!(target: "mujibak_core::telemetry", "our own debug line");
            tracing::info!(target: "mujibak_core::telemetry", "our own info line");
        });
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn payload_logging_dependencies_stay_capped_even_under_rust_log_debug() {
        for rust_log in [None, Some("debug"), Some("trace"), Some("async_openai=debug,lettre=trace,debug")] {
            let logs = logged(rust_log);
            assert!(logs.contains("our own info line"), "{rust_log:?}: the filter lets our lines through");
            assert!(!logs.contains("Hello Sara"), "{rust_log:?}: async_openai logged a body: {logs}");
            assert!(!logs.contains("sara@example.sa"), "{rust_log:?}: lettre logged an address: {logs}");
        }
        assert!(logged(Some("debug")).contains("our own debug line"), "RUST_LOG=debug is still debug");
    }
}
