//! Black-box tests of the whole system: one binary, real Postgres (`#[sqlx::test]` gives
//! each test a fresh database), real HTTP, the real binary for the CLI.

mod accounts;
mod bad_input;
mod cli;
mod cron;
mod delivery_edges;
mod dev_mode;
mod enumeration;
mod first_run;
mod health;
mod helpers;
mod i18n;
mod inbound_guarantees;
mod limits;
mod pipeline;
mod pool_fit;
mod prune;
mod queue_chaos;
mod queue_crash;
mod queue_enqueue;
mod queue_fairness;
mod queue_liveness;
mod queue_retry;
mod queue_shutdown;
mod redirects;
mod security;
mod send_guarantees;
mod slow_clients;
mod takeover;
mod tenancy;
mod tenant_abuse;
mod web;
mod whatsapp_edges;
mod whatsapp_flow;
mod whatsapp_inbox;
mod whatsapp_tenancy;
