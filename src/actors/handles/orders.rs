//! [`Orders`]: the typed API for orders. An order's commands go to the
//! actor of the ticket it holds, which owns each live order; reads come
//! from the read model. It keeps no state, so it needs no mailbox and
//! queues nothing.

use std::sync::Arc;

use crate::actors::ticket::{Cancel, Pay, Reserve};
use crate::actors::{CommandError, Core, SeatOrders, TicketRouter};
use crate::domain::{DomainError, EventId, Order, OrderId, Payment, TicketId, UserId};

/// Which tickets a new order asks for (`POST /api/orders`'s three bodies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatChoice {
    /// One ticket (a ticket sold on its own, or one seat).
    Ticket(TicketId),
    /// 1 to 10 distinct seats of one event, all or none.
    Seats(Vec<TicketId>),
    /// The best `quantity` free seats of `event` (of `section` if given).
    Best {
        /// The event.
        event: EventId,
        /// How many seats, 1 to 10.
        quantity: usize,
        /// Only this section's seats.
        section: Option<String>,
    },
}

/// A new order: what it asks for, and the waiting room's admission pass
/// (`queuePass`) for a queued event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    /// The tickets asked for.
    pub choice: SeatChoice,
    /// The admission pass, if one was sent.
    pub queue_pass: Option<String>,
}

/// Orders: reserve, read, list, cancel, pay.
#[derive(Clone)]
pub struct Orders {
    core: Arc<Core>,
    router: Arc<TicketRouter>,
    seats: Arc<SeatOrders>,
}

impl Orders {
    /// The handle over `core`, commands routed by `router`.
    pub(crate) fn new(core: Arc<Core>, router: Arc<TicketRouter>, seats: Arc<SeatOrders>) -> Self {
        Orders {
            core,
            router,
            seats,
        }
    }

    /// `buyer` reserves ticket `ticket`: a new order in `created`.
    pub async fn reserve(&self, ticket: TicketId, buyer: UserId) -> Result<Order, CommandError> {
        let order_id = OrderId(self.core.ids.next());
        self.router.send(ticket, Reserve { order_id, buyer }).await
    }

    /// `buyer` places an order for `request`: one ticket as [`Orders::reserve`]
    /// does, or seats of an event, all held in one durable write or none.
    pub async fn place(&self, buyer: UserId, request: PlaceOrder) -> Result<Order, CommandError> {
        match request.choice {
            // A ticket on its own, or none: `reserve` answers as it always
            // did (an unknown or deleted ticket is `NotFound`).
            SeatChoice::Ticket(id)
                if self
                    .core
                    .read_model
                    .ticket(id)
                    .is_none_or(|t| t.event_id.is_none()) =>
            {
                self.reserve(id, buyer).await
            }
            choice => self.seats.place(buyer, choice).await,
        }
    }

    /// The order `id` as last committed, if `by` bought it.
    pub fn get(&self, id: OrderId, by: UserId) -> Result<Order, CommandError> {
        let order = self
            .core
            .read_model
            .order(id)
            .ok_or(CommandError::NotFound)?;
        order.check_buyer(by)?;
        Ok(order)
    }

    /// A buyer's orders, newest first.
    pub fn list(&self, buyer: UserId) -> Vec<Order> {
        self.core.read_model.orders_of(buyer)
    }

    /// The buyer cancels; cancelling a cancelled order changes nothing.
    pub async fn cancel(&self, id: OrderId, by: UserId) -> Result<(), CommandError> {
        let order = self.get(id, by)?;
        if order.event_id().is_some() {
            return self.seats.cancel(id, by).await;
        }
        let ticket = order.ticket().id;
        match self.router.send(ticket, Cancel { order_id: id, by }).await {
            // The ticket is gone, and with it every hold on it.
            Err(CommandError::NotFound) => Ok(()),
            other => other,
        }
    }

    /// The buyer pays for a held order with the card `token`.
    pub async fn pay(
        &self,
        id: OrderId,
        by: UserId,
        token: String,
    ) -> Result<Payment, CommandError> {
        let order = self.get(id, by)?;
        if order.event_id().is_some() {
            return self.seats.pay(id, by, token).await;
        }
        let ticket = order.ticket().id;
        let pay = Pay {
            order_id: id,
            by,
            token,
        };
        match self.router.send(ticket, pay).await {
            // The ticket is gone: its holds were released before it went.
            Err(CommandError::NotFound) => Err(DomainError::PayCancelled.into()),
            other => other,
        }
    }
}
