//! What a user may do in their tenant: owners manage billing, the WhatsApp connection,
//! the team, exports and deletion; agents work the inbox.

use serde::{Deserialize, Serialize};

/// A user's role in their tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Agent,
}
