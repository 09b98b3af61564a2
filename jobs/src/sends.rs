//! What the two jobs of one WhatsApp send carry: [`SendMessage`] (send a stored outbound
//! message, effectively once: `send_message`) and [`ReconcileSend`] (settle or send once
//! more a message whose send had an unknown outcome: `reconcile_send`). Each job's handler
//! is in its own file; the payloads sit here because each job queues the other.

use mujibak_core::domain::{MessageId, TenantId};
use serde::{Deserialize, Serialize};

/// Send the queued outbound message `message_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessage {
    pub tenant_id: TenantId,
    pub message_id: MessageId,
}

/// Settle or resend the `uncertain` outbound message `message_id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReconcileSend {
    pub tenant_id: TenantId,
    pub message_id: MessageId,
}
