//! The `LiveHub`: a bounded broadcast of committed ticket changes, each
//! serialised once and shared by every subscriber.

use bytes::Bytes;
use serde_json::json;
use tokio::sync::broadcast;

use crate::domain::{Ticket, TicketId};

/// How many changes a subscriber may fall behind before it is resynchronised.
pub const LIVE_BACKLOG: usize = 4096;

/// Fan-out of ticket changes to WebSocket sessions.
pub struct LiveHub {
    tx: broadcast::Sender<Bytes>,
}

impl Default for LiveHub {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(LIVE_BACKLOG);
        LiveHub { tx }
    }
}

impl LiveHub {
    /// Publishes `{"type":"ticket","ticket":...}`.
    pub fn ticket_changed(&self, t: &Ticket) {
        self.publish(json!({"type": "ticket", "ticket": crate::views::ticket(t)}));
    }

    /// Publishes `{"type":"deleted","id":...}`.
    pub fn ticket_deleted(&self, id: TicketId) {
        self.publish(json!({"type": "deleted", "id": id.to_string()}));
    }

    fn publish(&self, event: serde_json::Value) {
        if self.tx.receiver_count() > 0 {
            // No receivers is not an error: nobody is watching.
            let _ = self.tx.send(Bytes::from(event.to_string()));
        }
    }

    /// A new subscription; subscribe before taking the snapshot so no change
    /// falls between the two.
    pub fn subscribe(&self) -> broadcast::Receiver<Bytes> {
        self.tx.subscribe()
    }

    /// Current subscribers.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}
