//! Meta's webhooks as they arrive: every field of the documented table, edits and
//! deletions, echoes from the WhatsApp Business app, interactive and flow replies, number
//! changes, account events, the hot path's cost per delivery, and deliveries at the edges.

pub mod account;
pub mod delivery_edges;
pub mod echoes;
pub mod edits;
pub mod fields;
pub mod hot_path;
pub mod identity;
pub mod interactive;
