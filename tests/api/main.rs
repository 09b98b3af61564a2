//! Black-box tests of the whole system: one binary, real Postgres (`#[sqlx::test]` gives
//! each test a fresh database), real HTTP, the real binary for the CLI.

// The suite drives the sandbox (its fakes, its pages and `mujibak dev`).
#[cfg(not(feature = "dev"))]
compile_error!("the API tests need the sandbox: run them with `--features mujibak/dev` (scripts/test does)");

mod accounts;
mod audit;
mod bad_input;
mod billing_page;
mod business_hours;
mod cli;
mod connection_caps;
mod cron;
mod dashboard;
mod deletion;
mod deletion_gate;
mod delivery_edges;
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
mod inbound_guarantees;
mod inbox_browser;
mod incidents;
mod invoice_page;
mod invoice_run;
mod invoices;
mod knowledge;
mod limits;
mod live_inbox;
mod media;
mod metrics;
mod number_setup;
mod ops;
mod payments;
mod plan_hopping;
mod polish;
mod pool_fit;
mod prune;
mod purge;
mod queue;
mod quota;
mod redirects;
mod retention;
mod route_suite;
mod seats;
mod security;
mod send_guarantees;
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
mod webhook_account;
mod webhook_echoes;
mod webhook_edits;
mod webhook_fields;
mod webhook_hot_path;
mod webhook_identity;
mod webhook_interactive;
mod whatsapp_edges;
mod whatsapp_flow;
mod whatsapp_inbox;
mod whatsapp_tenancy;

// The helpers live in support/; these names keep `crate::helpers::…` paths short.
use support::{browser, helpers, pipeline, web};
