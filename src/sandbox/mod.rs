//! The sandbox: local stand-ins for the third parties Mujibak talks to, speaking their
//! real wire protocols, used by `scripts/dev` and by the tests. So far: an SMTP sink.
//! (The Meta Graph API, OpenAI and Moyasar fakes arrive with the WhatsApp and billing work.)

pub mod demo;
pub mod mail;
