//! [`Orders`]: the typed API for orders. An order's commands go to the
//! actor of the ticket it holds, which owns each live order; reads come
//! from the read model. It keeps no state, so it needs no mailbox and
//! queues nothing.

use std::sync::Arc;

use crate::actors::ticket::{Cancel, Pay, Reserve};
use crate::actors::{CommandError, Core, TicketRouter};
use crate::domain::{DomainError, Order, OrderId, Payment, TicketId, UserId};

/// Orders: reserve, read, list, cancel, pay.
#[derive(Clone)]
pub struct Orders {
    core: Arc<Core>,
    router: Arc<TicketRouter>,
}

impl Orders {
    /// The handle over `core`, commands routed by `router`.
    pub(crate) fn new(core: Arc<Core>, router: Arc<TicketRouter>) -> Self {
        Orders { core, router }
    }

    /// `buyer` reserves ticket `ticket`: a new order in `created`.
    pub async fn reserve(&self, ticket: TicketId, buyer: UserId) -> Result<Order, CommandError> {
        let order_id = OrderId(self.core.ids.next());
        self.router.send(ticket, Reserve { order_id, buyer }).await
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
        let ticket = self.get(id, by)?.ticket().id;
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
        let ticket = self.get(id, by)?.ticket().id;
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
