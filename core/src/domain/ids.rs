//! Typed ids: a `TenantId` can never be passed where a `UserId` is expected.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A business using Mujibak.
    TenantId
);
id_type!(
    /// A person who signs in to a tenant's dashboard.
    UserId
);
id_type!(
    /// A row of the email outbox.
    EmailId
);
id_type!(
    /// A security incident staff recorded (breach notification).
    IncidentId
);
id_type!(
    /// A request to delete a tenant's account.
    DeletionRequestId
);
id_type!(
    /// An export of a tenant's data.
    ExportId
);
id_type!(
    /// One customer's thread with a business (one per contact).
    ConversationId
);
id_type!(
    /// A message in a conversation, either way.
    MessageId
);
id_type!(
    /// One WhatsApp customer of a business.
    ContactId
);
id_type!(
    /// A business's connected WhatsApp number.
    ConnectionId
);
