//! Mujibak's development tools, kept out of the product: the Heroku build (`cargo build
//! --release` of the `mujibak` package, default features) never compiles this crate. The
//! `dev` feature of `mujibak` (what `scripts/dev` and the tests build) brings it in.
//!
//! - `sandbox`: local fakes of Meta's Graph API, OpenAI, Moyasar and an SMTP sink.
//! - `harness`: spawns the real binary's roles, a TCP proxy to partition one, load senders.
//! - `bench`: `scripts/bench`'s scenarios, each against a baseline from the same run.
//! - `chaos`: `scripts/chaos`'s run under kills, a Postgres restart and provider faults.

pub mod bench;
pub mod chaos;
pub mod harness;
pub mod sandbox;
