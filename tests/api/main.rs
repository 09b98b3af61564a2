//! Black-box tests of the whole system: one binary, real Postgres (`#[sqlx::test]` gives
//! each test a fresh database), real HTTP, the real binary for the CLI.

// The suite drives the sandbox (its fakes, its pages and `mujibak dev`).
#[cfg(not(feature = "dev"))]
compile_error!("the API tests need the sandbox: run them with `--features mujibak/dev` (scripts/test does)");

mod accounts;
mod audit;
mod bad_input;
mod billing;
mod business_hours;
mod cli;
mod connection_caps;
mod cron;
mod customer_data;
mod dashboard;
mod deletion;
mod deletion_gate;
mod dev_mode;
mod email_once;
mod enumeration;
mod eval;
mod export;
mod export_build;
mod fakes;
mod first_run;
mod handoff;
mod hardening;
mod health;
mod i18n;
mod inbox_browser;
mod incidents;
mod job_rollup;
mod knowledge;
mod limits;
mod live_inbox;
mod logs;
mod media;
mod metrics;
mod model_data;
mod number_setup;
mod ops;
mod polish;
mod pool_fit;
mod processors;
mod prune;
mod purge;
mod queue;
mod redirects;
mod retention;
mod route_suite;
mod security;
mod signin_lockout;
mod slow_clients;
mod stream_caps;
mod support;
mod takeover;
mod team_inbox;
mod team_trust;
mod templates;
mod tenancy;
mod tenant_abuse;
mod unverified;
mod webhooks;
mod whatsapp;

// The helpers live in support/; these names keep `crate::helpers::…` paths short.
use support::{browser, helpers, pipeline, web};
