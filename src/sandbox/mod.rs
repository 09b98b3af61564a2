//! The sandbox: local stand-ins for the third parties Mujibak talks to, speaking their
//! real wire protocols, used by `scripts/dev` and by the tests: an SMTP sink, the Meta
//! Graph API (with signed status webhooks) and an OpenAI-compatible server. (Moyasar
//! arrives with billing.)

pub mod demo;
pub mod graph;
pub mod mail;
pub mod openai;
pub mod simulator;
