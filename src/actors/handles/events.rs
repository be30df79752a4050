//! [`Events`]: the typed API for events: put one on sale with every seat in
//! one durable write, read it (its map with counts, encoded once per
//! change), list them, list its seats in map order, delete it.

use std::sync::Arc;

use bytes::Bytes;

use crate::actors::{CommandError, Core, SeatOrders};
use crate::domain::{Event, EventId, NewEvent, Ticket, TicketId, UserId};
use crate::views::EventView;

/// Which seats of an event a list wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeatQuery {
    /// Only this section's (`?section=NAME`); an unknown name is a 400 on
    /// `section`.
    pub section: Option<String>,
    /// Only seats free now (`?status=available`).
    pub available_only: bool,
    /// The page starts after this seat.
    pub after: Option<TicketId>,
    /// At most this many.
    pub limit: usize,
}

/// Events: create, read, list, seats, delete.
#[derive(Clone)]
pub struct Events {
    core: Arc<Core>,
    seats: Arc<SeatOrders>,
}

impl Events {
    /// The handle over `core`.
    pub(crate) fn new(core: Arc<Core>, seats: Arc<SeatOrders>) -> Self {
        Events { core, seats }
    }

    /// `organizer` puts `plan` on sale: the event and every seat (available,
    /// version 0) in one durable write.
    pub async fn create(&self, organizer: UserId, plan: NewEvent) -> Result<Event, CommandError> {
        self.seats.create_event(organizer, plan).await
    }

    /// The event's JSON (`EventView`) as of its last change, encoded once
    /// per change and shared by every request.
    pub fn get(&self, id: EventId) -> Option<Bytes> {
        self.core.read_model.event_json(id)
    }

    /// Up to `limit` events after `after`, soonest `startsAt` first.
    pub fn list(&self, after: Option<EventId>, limit: usize) -> Vec<EventView> {
        self.core.read_model.events(after, limit)
    }

    /// The event's seats in map order, as `query` filters them; `NotFound`
    /// for no such event.
    pub fn seats(&self, id: EventId, query: &SeatQuery) -> Result<Vec<Ticket>, CommandError> {
        self.core.read_model.seats(id, query)
    }

    /// `by` deletes the event and its seats: 404, 401 for anyone but its
    /// organiser, 400 while any seat is held or sold.
    pub async fn delete(&self, id: EventId, by: UserId) -> Result<(), CommandError> {
        self.seats.delete_event(id, by).await
    }
}
