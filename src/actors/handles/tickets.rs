//! [`Tickets`]: the typed API for tickets. Reads come from the read model;
//! edits and deletions go to the ticket's actor through the router.

use std::sync::Arc;

use crate::actors::ticket::{Delete, Edit};
use crate::actors::{CommandError, Core, TicketFilter, TicketRouter};
use crate::domain::{DomainError, EventDate, Price, Ticket, TicketId, Title, UserId};
use crate::storage::Write;

/// Tickets: sell, read, list, and edit or delete as their seller.
#[derive(Clone)]
pub struct Tickets {
    core: Arc<Core>,
    router: Arc<TicketRouter>,
}

impl Tickets {
    /// The handle over `core`, commands routed by `router`.
    pub(crate) fn new(core: Arc<Core>, router: Arc<TicketRouter>) -> Self {
        Tickets { core, router }
    }

    /// Puts a new ticket on sale (durable before it is listed; no actor is
    /// needed until its first command).
    pub async fn create(
        &self,
        seller: UserId,
        title: Title,
        price: Price,
        date: EventDate,
    ) -> Result<Ticket, CommandError> {
        let ticket = Ticket::new(TicketId(self.core.ids.next()), seller, title, price, date);
        self.core
            .storage
            .commit(vec![Write::Ticket(ticket.clone())])
            .await?;
        self.core.read_model.put_ticket(ticket.clone());
        Ok(ticket)
    }

    /// The ticket `id` as last committed.
    pub fn get(&self, id: TicketId) -> Result<Ticket, CommandError> {
        self.core
            .read_model
            .ticket(id)
            .ok_or(CommandError::NotFound)
    }

    /// A page of tickets matching `filter`, oldest first, after `after`.
    pub fn list(&self, filter: TicketFilter, after: Option<TicketId>, limit: usize) -> Vec<Ticket> {
        self.core.read_model.tickets(filter, after, limit)
    }

    /// Ticket `id` as its seller `by` acts on it: `NotFound` without such a
    /// ticket, `SeatOfEvent` for a seat (changed only through its event),
    /// `NotOwner` for anyone else. Asked before the caller reads what it
    /// would change, so a stranger learns nothing from the validation of a
    /// body (the contract's order: 404, 401, then 400).
    pub fn as_seller(&self, id: TicketId, by: UserId) -> Result<AsSeller<'_>, CommandError> {
        let ticket = self.get(id)?;
        if ticket.event_id.is_some() {
            return Err(DomainError::SeatOfEvent.into());
        }
        ticket.check_seller(by)?;
        Ok(AsSeller {
            tickets: self,
            id,
            by,
        })
    }

    /// How many ticket actors are running (a gauge of `/metrics`).
    pub fn running(&self) -> usize {
        self.router.running()
    }
}

/// A ticket its seller acts on (see [`Tickets::as_seller`]). The ticket's
/// actor decides again, on its own state, whether the change is allowed.
pub struct AsSeller<'a> {
    tickets: &'a Tickets,
    id: TicketId,
    by: UserId,
}

impl AsSeller<'_> {
    /// Changes title, price and date while the ticket is available.
    pub async fn edit(
        self,
        title: Title,
        price: Price,
        date: EventDate,
    ) -> Result<Ticket, CommandError> {
        let edit = Edit {
            by: self.by,
            title,
            price,
            date,
        };
        self.tickets.router.send(self.id, edit).await
    }

    /// Deletes the ticket while it is available.
    pub async fn delete(self) -> Result<(), CommandError> {
        let delete = Delete { by: self.by };
        self.tickets.router.send(self.id, delete).await
    }
}
