//! Orders (a buyer's hold on, or purchase of, one ticket or several seats
//! of one event, all or nothing) and payments.

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

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelReason {
    /// Its buyer cancelled it.
    Buyer,
    /// Its hold lapsed unpaid.
    Expired,
}

impl CancelReason {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::Buyer => "cancelled",
            CancelReason::Expired => "expired",
        }
    }
}

/// The payment that completed an order, for its receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRef {
    /// The payment's id.
    pub id: PaymentId,
    /// When it was taken.
    pub paid_at: Timestamp,
}

/// One buyer's order: one ticket, or 1 to 10 seats of one event that move
/// together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Its id.
    pub id: OrderId,
    /// The buyer.
    pub buyer: UserId,
    /// The tickets it holds or bought, at least one, in map order.
    pub tickets: Vec<OrderTicket>,
    /// Where it stands.
    pub status: OrderStatus,
    /// When an unpaid hold lapses (absolute, so it survives restarts).
    pub expires_at: Timestamp,
    /// 0 at creation, one more per change.
    pub version: u64,
    /// When it was placed.
    pub created_at: Timestamp,
    /// Why it was cancelled, once it is.
    pub cancel_reason: Option<CancelReason>,
    /// The payment that completed it, once paid.
    pub payment: Option<PaymentRef>,
}

impl Order {
    /// A new order of `buyer` holding `tickets` from `now` until
    /// `now + window`.
    pub fn hold(
        id: OrderId,
        buyer: UserId,
        tickets: Vec<OrderTicket>,
        now: Timestamp,
        window: std::time::Duration,
    ) -> Self {
        Order {
            id,
            buyer,
            tickets,
            status: OrderStatus::Created,
            expires_at: now.plus(window),
            version: 0,
            created_at: now,
            cancel_reason: None,
            payment: None,
        }
    }

    /// Its first ticket (the contract's `ticket`, for clients of one-ticket
    /// orders).
    pub fn ticket(&self) -> &OrderTicket {
        &self.tickets[0]
    }

    /// The event its seats belong to; `None` for a ticket sold on its own.
    pub fn event_id(&self) -> Option<EventId> {
        self.tickets[0].event_id
    }

    /// What it costs: the sum of its tickets' prices.
    pub fn total(&self) -> Price {
        let cents = self.tickets.iter().map(|t| t.price.cents()).sum();
        Price::from_total_cents(cents)
    }

    /// Whether it still holds its tickets unpaid at `now`'s deadline check.
    pub fn is_held(&self) -> bool {
        self.status == OrderStatus::Created
    }

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
