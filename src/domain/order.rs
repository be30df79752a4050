//! Orders (a buyer's hold on, or purchase of, one ticket) and payments.

use serde::{Deserialize, Serialize};

use super::{
    DomainError, EventDate, EventId, OrderId, PaymentId, Price, SeatPosition, TicketId, Timestamp,
    Title, UserId,
};

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    /// Holding its ticket until `expires_at`.
    Created,
    /// Cancelled by the buyer or by expiry; final.
    Cancelled,
    /// A payment is being taken (kept for clients of the original system).
    AwaitingPayment,
    /// Paid; the ticket is sold; final.
    Complete,
}

impl OrderStatus {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::AwaitingPayment => "awaiting:payment",
            OrderStatus::Complete => "complete",
        }
    }

    /// Whether an order in this status holds or owns its ticket.
    pub fn is_live(self) -> bool {
        !matches!(self, OrderStatus::Cancelled)
    }
}

/// The ticket as the order saw it at its last change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTicket {
    /// The ticket's id.
    pub id: TicketId,
    /// Its title.
    pub title: Title,
    /// Its price.
    pub price: Price,
    /// Its event date.
    pub date: EventDate,
    /// The ticket's version after the order's last change.
    pub version: u64,
    /// The ticket's event, if it is a seat of one (see [`super::Ticket`]).
    #[serde(default)]
    pub event_id: Option<EventId>,
    /// The ticket's place in that event's map.
    #[serde(default)]
    pub seat: Option<SeatPosition>,
}

/// One buyer's order for one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Its id.
    pub id: OrderId,
    /// The buyer.
    pub buyer: UserId,
    /// The ticket it holds or bought.
    pub ticket: OrderTicket,
    /// Where it stands.
    pub status: OrderStatus,
    /// When an unpaid hold lapses (absolute, so it survives restarts).
    pub expires_at: Timestamp,
    /// 0 at creation, one more per change.
    pub version: u64,
}

impl Order {
    /// Only its buyer may see, cancel or pay an order: the one place that
    /// rule lives (the read side and the ticket's state both ask here).
    pub fn check_buyer(&self, by: UserId) -> Result<(), DomainError> {
        if self.buyer == by {
            Ok(())
        } else {
            Err(DomainError::NotOwner)
        }
    }
}

/// A successful charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Its id.
    pub id: PaymentId,
    /// The order it paid.
    pub order_id: OrderId,
    /// The gateway's reference for the charge.
    pub charge_id: String,
    /// What was charged.
    pub amount: Price,
    /// When.
    pub created_at: Timestamp,
}
