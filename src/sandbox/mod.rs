//! The sandbox: local stand-ins for the third parties Mujibak talks to, speaking their
//! real wire protocols, used by `scripts/dev` and by the tests: an SMTP sink, the Meta
//! Graph API (with signed status webhooks), an OpenAI-compatible server and Moyasar
//! (hosted invoices with a pay page, callbacks and retried webhooks).

pub mod billing;
pub mod connect;
pub mod demo;
pub mod graph;
pub mod mail;
pub mod moyasar;
pub mod openai;
pub mod simulator;
