//! Outbound clients, one module per vendor; typed requests and errors callers can branch on.

pub mod moyasar;
pub mod openai;
pub mod smtp;
pub mod whatsapp;
