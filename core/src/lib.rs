//! Mujibak's core: configuration, telemetry, metrics and all SQL (`db`). Both processes (web and
//! worker) stand on it. It must not depend on axum, tera or apalis: the web layer lives in
//! the root package and the queue runtime in `mujibak-jobs`.

pub mod accounts;
pub mod auth;
pub mod billing;
pub mod clients;
pub mod config;
pub mod connections;
pub mod crypto;
pub mod db;
pub mod deletion;
pub mod delivery;
pub mod domain;
pub mod erasure;
pub mod eval;
pub mod export;
pub mod inbound;
pub mod incidents;
pub mod metrics;
pub mod notices;
pub mod ops;
pub mod purge;
pub mod telemetry;

pub use config::{Config, ConfigError};
