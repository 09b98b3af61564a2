//! The sandbox: local stand-ins for the third parties Mujibak talks to, speaking their
//! real wire protocols, used by `scripts/dev` and by the tests: an SMTP sink, the Meta
//! Graph API (with signed status webhooks), an OpenAI-compatible server and Moyasar
//! (hosted invoices with a pay page, callbacks and retried webhooks); and the demo
//! business `scripts/dev` prints a login for. The sandbox's own pages in the app (the
//! customer simulator, the billing button, a number in one click) are `mujibak::web::sandbox`.

pub mod demo;
pub mod graph;
pub mod in_flight;
pub mod mail;
pub mod moyasar;
pub mod openai;
