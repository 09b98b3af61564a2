//! Pure domain types and rules: parsed once at the edge ("parse, don't validate"), no I/O.

pub mod bot;
pub mod contact;
pub mod digits;
pub mod email;
pub mod graph_error;
pub mod handoff;
pub mod hijri;
pub mod hours;
pub mod ids;
pub mod knowledge;
pub mod locale;
pub mod media;
pub mod message;
pub mod name;
pub mod password;
pub mod reply;
pub mod role;
pub mod stored;
pub mod template;
pub mod whatsapp;

pub use email::EmailAddress;
pub use ids::{
    ConnectionId, ContactId, ConversationId, DeletionRequestId, EmailId, ExportId, IncidentId, MessageId,
    TenantId, UserId,
};
pub use locale::Locale;
pub use name::DisplayName;
pub use password::NewPassword;
pub use role::Role;
