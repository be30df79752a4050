//! `SeatOrders`: the coordinator of orders of seats, and of events' creation
//! and deletion. Every seat is a ticket with its own actor; an order of
//! several seats moves them all in one durable write:
//!
//! 1. **Tentative holds**: each seat's actor is asked to `Hold` the seat for
//!    the new order. An actor answers at once: its committed state, or a
//!    refusal if the seat is held, sold, or already being placed in another
//!    order. Nothing waits on anything, so two orders can never wait on each
//!    other; a refusal releases every tentative hold (`Settle` without a
//!    state) and the request fails (explicit seats) or picks again without
//!    the refused seats (best available).
//! 2. **One write**: the order and every seat, as one batch. Until it is
//!    durable nothing is visible: tentative holds are invisible to readers.
//! 3. **Publish, then adopt**: the read model takes every seat and the order
//!    under one lock and the event's feed gets one message with all of
//!    them; then each actor adopts its seat's state (`Settle`). The seat
//!    stays refused to others until then, so nothing can change it between.
//!
//! Cancel, expiry and payment of an order of seats move every seat the same
//! way (one write, one read-model update, one live message), under the
//! order's lock, so they never interleave with each other; the seats need
//! no tentative hold for them: a seat owned by a live order is refused to
//! every new order by its actor. An order's hold has one timer (not one per
//! seat, which would release the seats one write at a time), a task that
//! sleeps until the deadline on the core's clock and then expires the order
//! if it is still held; holds are re-armed at start-up.
//!
//! The buyer limit is checked under a lock per (event, buyer), where two
//! orders of one buyer cannot race past it; an event's deletion takes its
//! event's lock for writing, so no order of its seats is in flight while
//! it checks that none is held or sold.

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::join_all;

mod events;
mod moves;

use super::keyed_locks::KeyedLocks;
use super::ticket::{Hold, Settle};
use super::{CommandError, Core, Lines, SeatChoice, TicketRouter};
use crate::domain::event::MAX_SEATS_PER_BUYER;
use crate::domain::{
    seat_order, DomainError, EventId, Order, OrderId, TicketId, TicketState, UserId,
};
use crate::storage::Write;

/// What a new order of seats asks for, once resolved to its event.
enum Wanted {
    /// These seats, in map order.
    Seats(Vec<TicketId>),
    /// The best `quantity` of `section` (an index) or of the whole map.
    Best {
        quantity: usize,
        section: Option<usize>,
    },
}

/// The coordinator (see the module's documentation).
pub struct SeatOrders {
    core: Arc<Core>,
    router: Arc<TicketRouter>,
    /// Read while an order of the event's seats is placed; written while
    /// the event is deleted.
    events: Arc<KeyedLocks<EventId>>,
    /// One buyer's orders of one event, one at a time.
    buyers: Arc<KeyedLocks<(EventId, UserId)>>,
    /// One order's moves, one at a time.
    orders: Arc<KeyedLocks<OrderId>>,
    /// The waiting rooms of queued events.
    lines: Arc<Lines>,
}

impl SeatOrders {
    /// The coordinator over `core`, reaching seats through `router`.
    pub fn new(core: Arc<Core>, router: Arc<TicketRouter>, lines: Arc<Lines>) -> Arc<Self> {
        Arc::new(SeatOrders {
            core,
            router,
            lines,
            events: Arc::default(),
            buyers: Arc::default(),
            orders: Arc::default(),
        })
    }

    /// Arms the expiry of every order of seats still held (at start-up);
    /// returns how many.
    pub fn restore_holds(self: &Arc<Self>) -> usize {
        let held = self.core.read_model.held_seat_orders();
        for (order, deadline) in &held {
            self.arm(*order, *deadline);
        }
        held.len()
    }

    /// Runs `work` as a task of its own on this arbiter, so it finishes
    /// (and releases every tentative hold it took) even if the request that
    /// asked goes away.
    async fn detached<T: 'static>(
        work: impl std::future::Future<Output = Result<T, CommandError>> + 'static,
    ) -> Result<T, CommandError> {
        actix::spawn(work)
            .await
            .map_err(|_| CommandError::ShuttingDown)?
    }

    /// `buyer` orders seats of an event, all held in one write or none.
    pub async fn place(
        self: &Arc<Self>,
        buyer: UserId,
        choice: SeatChoice,
        pass: Option<String>,
    ) -> Result<Order, CommandError> {
        let (event, wanted) = self.resolve(choice)?;
        let this = self.clone();
        Self::detached(async move { this.place_in(event, buyer, wanted, pass).await }).await
    }

    /// The event and the seats `choice` asks for, or why not.
    fn resolve(&self, choice: SeatChoice) -> Result<(EventId, Wanted), CommandError> {
        let model = &self.core.read_model;
        let invalid =
            |field, message| CommandError::Domain(DomainError::Invalid { field, message });
        match choice {
            SeatChoice::Ticket(id) => {
                let ticket = model.ticket(id).ok_or(CommandError::NotFound)?;
                let event = ticket.event_id.ok_or(CommandError::NotFound)?;
                Ok((event, Wanted::Seats(vec![id])))
            }
            SeatChoice::Seats(mut ids) => {
                if ids.is_empty() || ids.len() > MAX_SEATS_PER_BUYER {
                    return Err(invalid("ticketIds", "Choose 1 to 10 seats"));
                }
                let mut event = None;
                for id in &ids {
                    let ticket = model.ticket(*id).ok_or(CommandError::NotFound)?;
                    let Some(of) = ticket.event_id else {
                        return Err(invalid(
                            "ticketIds",
                            "A ticket sold on its own is an order by itself",
                        ));
                    };
                    if event.is_some_and(|e| e != of) {
                        return Err(invalid("ticketIds", "Seats must all be of one event"));
                    }
                    event = Some(of);
                }
                ids.sort_unstable();
                if ids.windows(2).any(|w| w[0] == w[1]) {
                    return Err(invalid("ticketIds", "Each seat may be listed once"));
                }
                Ok((event.expect("at least one seat"), Wanted::Seats(ids)))
            }
            SeatChoice::Best {
                event,
                quantity,
                section,
            } => {
                let map = model.event_map(event).ok_or(CommandError::NotFound)?;
                if !(1..=MAX_SEATS_PER_BUYER).contains(&quantity) {
                    return Err(invalid("quantity", "Quantity must be 1 to 10"));
                }
                let section = match section {
                    None => None,
                    Some(name) => Some(
                        map.section_index(&name)
                            .ok_or(invalid("section", "No such section in this event"))?,
                    ),
                };
                Ok((event, Wanted::Best { quantity, section }))
            }
        }
    }

    async fn place_in(
        self: Arc<Self>,
        event: EventId,
        buyer: UserId,
        wanted: Wanted,
        pass: Option<String>,
    ) -> Result<Order, CommandError> {
        let _event = self.events.read(event).await;
        let model = &self.core.read_model;
        let map = model.event_map(event).ok_or(CommandError::NotFound)?;
        let now = self.core.clock.now();
        if map.event().on_sale_at.is_some_and(|at| now < at) {
            return Err(DomainError::NotOnSale.into());
        }
        let admission = if map.event().queue {
            Some(
                self.lines
                    .passes()
                    .check(pass.as_deref(), event, buyer, now)?,
            )
        } else {
            None
        };
        let count = match &wanted {
            Wanted::Seats(ids) => ids.len(),
            Wanted::Best { quantity, .. } => *quantity,
        };
        let _buyer = self.buyers.write((event, buyer)).await;
        if let Some(admission) = admission {
            // A pass is good for one order: the first since its admission.
            if model.ordered_since(event, buyer, admission.admitted_at) {
                return Err(DomainError::QueuePassRequired.into());
            }
        }
        if model.seats_of_buyer(event, buyer) + count > MAX_SEATS_PER_BUYER {
            return Err(DomainError::SeatLimit.into());
        }
        let mut refused = HashSet::new();
        loop {
            let ids = match &wanted {
                Wanted::Seats(ids) => ids.clone(),
                Wanted::Best { quantity, section } => model
                    .best_seats(event, *quantity, *section, &refused)
                    .ok_or(DomainError::NotEnoughSeats)?,
            };
            let order_id = OrderId(self.core.ids.next());
            match self.hold(order_id, &ids).await {
                Ok(seats) => {
                    let order = self.commit_new(event, order_id, buyer, seats).await?;
                    if admission.is_some() {
                        self.lines.order_news(event, buyer, order.id, false);
                    }
                    return Ok(order);
                }
                Err(Refused::Taken(taken)) if matches!(wanted, Wanted::Best { .. }) => {
                    refused.extend(taken);
                }
                Err(Refused::Taken(_)) => return Err(DomainError::AlreadyReserved.into()),
                Err(Refused::Failed(e)) => return Err(e),
            }
        }
    }

    /// Holds every seat of `ids` tentatively for `order_id`: their states,
    /// or (every tentative hold released) the seats that were taken.
    async fn hold(&self, order_id: OrderId, ids: &[TicketId]) -> Result<Vec<TicketState>, Refused> {
        let answers = join_all(
            ids.iter()
                .map(|id| self.router.send(*id, Hold { order_id })),
        )
        .await;
        let mut held = Vec::with_capacity(ids.len());
        let mut taken = Vec::new();
        let mut failed = None;
        for (id, answer) in ids.iter().zip(answers) {
            match answer {
                Ok(state) => held.push(state),
                Err(CommandError::Domain(DomainError::AlreadyReserved)) => taken.push(*id),
                Err(e) => failed = Some(e),
            }
        }
        if taken.is_empty() && failed.is_none() {
            return Ok(held);
        }
        self.settle(Some(order_id), held.iter().map(|s| (s.ticket.id, None)));
        Err(failed.map_or(Refused::Taken(taken), Refused::Failed))
    }

    /// Ends the tentative holds of `order_id` (if any) on each seat, each
    /// taking its new committed state if it has one. Told, not awaited: a
    /// seat's mailbox is first in, first out, so any later message to it
    /// finds the seat settled; a seat whose actor is not running starts
    /// from the read model, already up to date.
    fn settle(
        &self,
        order_id: Option<OrderId>,
        seats: impl Iterator<Item = (TicketId, Option<TicketState>)>,
    ) {
        for (id, state) in seats {
            self.router.tell_running(id, Settle { order_id, state });
        }
    }

    /// Stores the new order of the held `seats` with them, then publishes
    /// and lets each seat adopt its state; on a refused write every
    /// tentative hold is released and nothing was seen.
    async fn commit_new(
        self: &Arc<Self>,
        event: EventId,
        order_id: OrderId,
        buyer: UserId,
        mut seats: Vec<TicketState>,
    ) -> Result<Order, CommandError> {
        let now = self.core.clock.now();
        let window = self.core.reservation_window;
        let ids: Vec<TicketId> = seats.iter().map(|s| s.ticket.id).collect();
        let changes = match seat_order::reserve(&mut seats, order_id, buyer, now, window) {
            Ok(changes) => changes,
            Err(e) => {
                self.settle(Some(order_id), ids.into_iter().map(|id| (id, None)));
                return Err(e.into());
            }
        };
        if let Err(e) = self.core.storage.commit(writes(&changes, None)).await {
            self.settle(Some(order_id), ids.into_iter().map(|id| (id, None)));
            return Err(e.into());
        }
        self.core
            .read_model
            .put_seats(event, &changes.tickets, &changes.orders);
        self.settle(
            Some(order_id),
            seats.into_iter().map(|s| (s.ticket.id, Some(s))),
        );
        let order = changes.orders.into_iter().next().expect("the new order");
        self.arm(order.id, order.expires_at);
        Ok(order)
    }
}

/// The batch that stores `changes` of seats and their order, plus `extra`.
fn writes(changes: &crate::domain::Changes, extra: Option<Write>) -> Vec<Write> {
    changes
        .tickets
        .iter()
        .cloned()
        .map(Write::Ticket)
        .chain(changes.orders.iter().cloned().map(Write::Order))
        .chain(extra)
        .collect()
}

/// Why tentative holds were not all taken.
enum Refused {
    /// These seats are held, sold or being placed in another order.
    Taken(Vec<TicketId>),
    /// Something else failed (the actor system is stopping).
    Failed(CommandError),
}
