//! One customer's messages through the whole pipeline: the reply flow, what arrives and
//! what is sent (each exactly once), messages that are not text, the inbox they land in,
//! and one tenant's data never reaching another.

pub mod edges;
pub mod flow;
pub mod inbound_guarantees;
pub mod inbox;
pub mod order;
pub mod reply_gate;
pub mod send_guarantees;
pub mod set_based;
pub mod tenancy;
pub mod usage_row;
