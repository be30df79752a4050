//! The `LiveHub`: a bounded broadcast of committed ticket changes, each
//! serialised once and shared by every subscriber.

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::{Ticket, TicketId};

/// How many changes a subscriber may fall behind before it is resynchronised.
pub const LIVE_BACKLOG: usize = 4096;

/// A change as subscribers receive it, tagged by `type`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Event {
    Ticket { ticket: crate::views::TicketView },
    Deleted { id: String },
}

fn encode(event: &Event) -> Bytes {
    Bytes::from(serde_json::to_vec(event).expect("a live event always serialises"))
}

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
    /// `{"type":"ticket","ticket":...}`, serialised once for everyone.
    pub fn ticket_event(t: &Ticket) -> Bytes {
        encode(&Event::Ticket {
            ticket: crate::views::ticket(t),
        })
    }

    /// `{"type":"deleted","id":...}`.
    pub fn deleted_event(id: TicketId) -> Bytes {
        encode(&Event::Deleted { id: id.to_string() })
    }

    /// Sends `event` to every subscriber (none is fine: nobody watches).
    pub fn publish(&self, event: Bytes) {
        let _ = self.tx.send(event);
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
