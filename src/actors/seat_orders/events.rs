//! Events' creation and deletion: every seat in one write, and a deletion
//! that no order of the event's seats, nor any write of its waiting room's
//! line, can interleave with.

use std::sync::Arc;

use super::SeatOrders;
use crate::actors::CommandError;
use crate::domain::{DomainError, Event, EventId, NewEvent, SeatMap, SeatState, TicketId, UserId};
use crate::storage::Write;

impl SeatOrders {
    /// `organizer` puts `plan` on sale: the event and every seat in one
    /// durable write (built and encoded on the blocking pool: a 100,000-seat
    /// event is tens of megabytes), then visible.
    pub async fn create_event(
        self: &Arc<Self>,
        organizer: UserId,
        plan: NewEvent,
    ) -> Result<Event, CommandError> {
        let this = self.clone();
        Self::detached(async move { this.create_in(organizer, plan).await }).await
    }

    async fn create_in(&self, organizer: UserId, plan: NewEvent) -> Result<Event, CommandError> {
        let total: u32 = plan.sections.iter().map(|s| s.seat_count()).sum();
        let event = Event {
            id: EventId(self.core.ids.next()),
            name: plan.name,
            venue: plan.venue,
            starts_at: plan.starts_at,
            on_sale_at: plan.on_sale_at,
            organizer,
            queue: plan.queue,
            sections: plan.sections,
            first_seat: TicketId(self.core.ids.next_block(u64::from(total))),
            created_at: self.core.clock.now(),
        };
        let map = SeatMap::new(event.clone());
        let storage = self.core.storage.clone();
        let (map, durable) = tokio::task::spawn_blocking(move || {
            let mut writes = Vec::with_capacity(map.total() as usize + 1);
            writes.push(Write::Event(map.event().clone()));
            writes.extend((0..map.total()).map(|o| Write::Ticket(map.ticket(o, SeatState::FRESH))));
            let durable = storage.commit(writes);
            (map, durable)
        })
        .await
        .map_err(|_| CommandError::ShuttingDown)?;
        durable.await?;
        if event.queue {
            let on_sale = event.on_sale_at.unwrap_or(event.created_at);
            let arbiter = self.router.arbiter();
            self.lines
                .start(arbiter, event.id, on_sale, Vec::new(), None);
        }
        self.core.read_model.add_event(map);
        Ok(event)
    }

    /// `by` deletes event `id` and its seats: refused for anyone but its
    /// organiser, and while any seat is held or sold.
    pub async fn delete_event(
        self: &Arc<Self>,
        id: EventId,
        by: UserId,
    ) -> Result<(), CommandError> {
        let this = self.clone();
        Self::detached(async move { this.delete_in(id, by).await }).await
    }

    async fn delete_in(&self, id: EventId, by: UserId) -> Result<(), CommandError> {
        let _event = self.events.write(id).await;
        let model = &self.core.read_model;
        let map = model.event_map(id).ok_or(CommandError::NotFound)?;
        if map.event().organizer != by {
            return Err(DomainError::NotOwner.into());
        }
        let counts = model.event_counts(id).ok_or(CommandError::NotFound)?;
        if counts.reserved + counts.sold > 0 {
            return Err(DomainError::EventHasOrders.into());
        }
        let queue = map.event().queue;
        let mut writes = vec![Write::DeleteEvent {
            id,
            first_seat: map.event().first_seat,
            seats: map.total(),
        }];
        if queue {
            // Frozen, the line writes nothing more: everyone in it now is
            // everyone it will ever have stored.
            writes.push(Write::ForgetLine {
                event: id,
                users: self.lines.freeze(id).await,
            });
        }
        // The deletion's batch names every seat's key (100,000 of them at
        // most): encoded on the blocking pool, like the creation's.
        let storage = self.core.storage.clone();
        let stored = match tokio::task::spawn_blocking(move || storage.commit(writes)).await {
            Ok(durable) => durable.await.map_err(CommandError::from),
            Err(_) => Err(CommandError::ShuttingDown),
        };
        if let Err(e) = stored {
            if queue {
                self.lines.thaw(id);
            }
            return Err(e);
        }
        model.remove_event(id);
        self.lines.stop(id);
        Ok(())
    }
}
