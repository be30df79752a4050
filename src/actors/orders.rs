//! `OrderSupervisor`: routes an order's commands to the actor of the ticket
//! it holds, and serves a buyer's orders from the read model. It keeps no
//! state of its own (the ticket actor owns each live order), so it needs no
//! mailbox and queues nothing.

use std::sync::Arc;

use super::ticket::{Cancel, Pay, Reserve};
use super::{CommandError, Core, TicketRouter};
use crate::domain::{DomainError, Order, OrderId, OrderStatus, Payment, TicketId, UserId};

/// Routes order commands; reads orders.
#[derive(Clone)]
pub struct OrderSupervisor {
    core: Arc<Core>,
    tickets: Arc<TicketRouter>,
}

impl OrderSupervisor {
    /// A router over `tickets`.
    pub fn new(core: Arc<Core>, tickets: Arc<TicketRouter>) -> Self {
        OrderSupervisor { core, tickets }
    }

    /// `buyer` reserves ticket `ticket`: a new order in `created`.
    pub async fn reserve(&self, ticket: TicketId, buyer: UserId) -> Result<Order, CommandError> {
        let order_id = OrderId(self.core.ids.next());
        self.tickets.send(ticket, Reserve { order_id, buyer }).await
    }

    /// The order `id` if `by` bought it (`NotOwner` otherwise).
    pub fn get(&self, id: OrderId, by: UserId) -> Result<Order, CommandError> {
        let order = self
            .core
            .read_model
            .order(id)
            .ok_or(CommandError::NotFound)?;
        if order.buyer != by {
            return Err(DomainError::NotOwner.into());
        }
        Ok(order)
    }

    /// A buyer's orders, newest first.
    pub fn list(&self, buyer: UserId) -> Vec<Order> {
        self.core.read_model.orders_of(buyer)
    }

    /// The buyer cancels; cancelling a cancelled order changes nothing.
    pub async fn cancel(&self, id: OrderId, by: UserId) -> Result<(), CommandError> {
        let order = self.get(id, by)?;
        match order.status {
            OrderStatus::Cancelled => Ok(()),
            OrderStatus::Complete => Err(DomainError::CancelPaid.into()),
            _ => {
                let msg = Cancel { order_id: id, by };
                match self.tickets.send(order.ticket.id, msg).await {
                    // The ticket is gone, and with it every hold on it.
                    Err(CommandError::NotFound) => Ok(()),
                    other => other,
                }
            }
        }
    }

    /// The buyer pays for a held order.
    pub async fn pay(
        &self,
        id: OrderId,
        by: UserId,
        token: String,
    ) -> Result<Payment, CommandError> {
        let order = self.get(id, by)?;
        match order.status {
            OrderStatus::Cancelled => Err(DomainError::PayCancelled.into()),
            OrderStatus::Complete => Err(DomainError::AlreadyPaid.into()),
            _ => {
                let msg = Pay {
                    order_id: id,
                    by,
                    token,
                };
                match self.tickets.send(order.ticket.id, msg).await {
                    Err(CommandError::NotFound) => Err(DomainError::PayCancelled.into()),
                    other => other,
                }
            }
        }
    }
}
