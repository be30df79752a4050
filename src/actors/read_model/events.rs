//! The read model's events: each event's map (built once) and the changing
//! part of its seats (`SeatState`, a few words per seat, in map order), its
//! counts by status, and its JSON encoded once per change. A seat's ticket
//! is built from its map offset when asked for, so a 100,000-seat event
//! costs a few megabytes, not 100,000 tickets.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{Index, ReadModel};
use crate::actors::live::{Encoder, LiveHub, Topic};
use crate::actors::{CommandError, SeatQuery};
use crate::domain::{
    DomainError, EventId, Order, OrderId, SeatMap, SeatState, Ticket, TicketId, TicketStatus,
    Timestamp, UserId,
};
use crate::views::{self, EventView, SeatCountsView};

/// One event as readers see it.
pub(super) struct EventEntry {
    map: Arc<SeatMap>,
    seats: Vec<SeatState>,
    section_available: Vec<u32>,
    counts: SeatCountsView,
    /// The event's JSON at its current state, encoded by the first reader.
    json: Mutex<Option<Bytes>>,
}

impl EventEntry {
    fn new(map: SeatMap) -> Self {
        let total = map.total();
        let section_available = (0..map.event().sections.len())
            .map(|i| map.section_range(i).len() as u32)
            .collect();
        EventEntry {
            seats: vec![SeatState::FRESH; total as usize],
            map: Arc::new(map),
            section_available,
            counts: SeatCountsView {
                total,
                available: total,
                reserved: 0,
                sold: 0,
            },
            json: Mutex::default(),
        }
    }

    /// Sets the seat at `offset` to `seat`, keeping the counts.
    fn set(&mut self, offset: u32, seat: SeatState) {
        let old = std::mem::replace(&mut self.seats[offset as usize], seat);
        if old.status == seat.status {
            return;
        }
        let section = self.map.block_of(offset).section;
        for (status, delta) in [(old.status, -1i64), (seat.status, 1)] {
            let count = match status {
                TicketStatus::Available => {
                    let s = &mut self.section_available[section];
                    *s = (i64::from(*s) + delta) as u32;
                    &mut self.counts.available
                }
                TicketStatus::Reserved => &mut self.counts.reserved,
                TicketStatus::Sold => &mut self.counts.sold,
            };
            *count = (i64::from(*count) + delta) as u32;
        }
    }

    /// Its seats by status.
    pub(super) fn counts(&self) -> SeatCountsView {
        self.counts
    }

    fn view(&self) -> EventView {
        views::event(self.map.event(), self.counts, &self.section_available)
    }

    fn tickets(&self, offsets: impl Iterator<Item = u32>) -> Vec<Ticket> {
        offsets
            .map(|o| self.map.ticket(o, self.seats[o as usize]))
            .collect()
    }
}

impl Index {
    pub(super) fn add_event(&mut self, map: SeatMap) {
        let e = map.event();
        self.by_start.insert((e.starts_at, e.id));
        self.seat_ranges.insert(e.first_seat, e.id);
        self.events.insert(e.id, EventEntry::new(map));
    }

    /// The event whose seat `id` is, and the seat's map offset.
    pub(super) fn seat(&self, id: TicketId) -> Option<(&EventEntry, u32)> {
        let (_, event) = self.seat_ranges.range(..=id).next_back()?;
        let entry = self.events.get(event)?;
        Some((entry, entry.map.offset_of(id)?))
    }

    pub(super) fn seat_ticket(&self, id: TicketId) -> Option<Ticket> {
        let (entry, offset) = self.seat(id)?;
        Some(entry.map.ticket(offset, entry.seats[offset as usize]))
    }

    /// Records a seat's state as loaded from storage.
    pub(super) fn load_seat(&mut self, t: &Ticket) {
        let Some(event) = t.event_id else { return };
        if let Some(entry) = self.events.get_mut(&event) {
            if let Some(offset) = entry.map.offset_of(t.id) {
                entry.set(offset, SeatState::of(t));
            }
        }
    }
}

impl ReadModel {
    /// A new event, every seat available (after its write is durable).
    pub fn add_event(&self, map: SeatMap) {
        self.index.write().expect("read model lock").add_event(map);
    }

    /// Records changed seats of `event` and their changed orders at once,
    /// and publishes them to the event's feed as ONE message: the seats of
    /// one order change together for every reader.
    pub fn put_seats(&self, event: EventId, tickets: &[Ticket], orders: &[Order]) {
        let topic = Topic::Event(event);
        let encode = || LiveHub::seats_event(tickets);
        let mut message = self.live.watched(topic).then(encode);
        let mut ix = self.index.write().expect("read model lock");
        for o in orders {
            ix.put_order(o.clone());
        }
        let Some(entry) = ix.events.get_mut(&event) else {
            return;
        };
        for t in tickets {
            if let Some(offset) = entry.map.offset_of(t.id) {
                entry.set(offset, SeatState::of(t));
            }
        }
        entry.json.lock().expect("event json lock").take();
        if message.is_none() && self.live.watched(topic) {
            message = Some(encode());
        }
        self.live.publish(topic, message.into_iter().collect());
    }

    /// Forgets a deleted event and its seats; its feed sends `deleted` and
    /// ends.
    pub fn remove_event(&self, id: EventId) {
        let mut ix = self.index.write().expect("read model lock");
        if let Some(entry) = ix.events.remove(&id) {
            let e = entry.map.event();
            ix.by_start.remove(&(e.starts_at, id));
            ix.seat_ranges.remove(&e.first_seat);
        }
        self.live.end(Topic::Event(id), LiveHub::event_deleted());
    }

    /// The event's map, if it exists.
    pub fn event_map(&self, id: EventId) -> Option<Arc<SeatMap>> {
        let ix = self.index.read().expect("read model lock");
        ix.events.get(&id).map(|e| e.map.clone())
    }

    /// The event's seats by status now.
    pub fn event_counts(&self, id: EventId) -> Option<SeatCountsView> {
        let ix = self.index.read().expect("read model lock");
        ix.events.get(&id).map(|e| e.counts)
    }

    /// The event's JSON, encoded once per change of the event and shared.
    pub fn event_json(&self, id: EventId) -> Option<Bytes> {
        let ix = self.index.read().expect("read model lock");
        let entry = ix.events.get(&id)?;
        let mut json = entry.json.lock().expect("event json lock");
        Some(
            json.get_or_insert_with(|| {
                Bytes::from(serde_json::to_vec(&entry.view()).expect("an event serialises"))
            })
            .clone(),
        )
    }

    /// Up to `limit` events after `after`, soonest start first.
    pub fn events(&self, after: Option<EventId>, limit: usize) -> Vec<EventView> {
        use std::ops::Bound::{Excluded, Unbounded};
        let ix = self.index.read().expect("read model lock");
        let lower = match after {
            None => Unbounded,
            Some(id) => match ix.events.get(&id) {
                Some(e) => Excluded((e.map.event().starts_at, id)),
                // An unknown (deleted) cursor: start after where it would be.
                None => Excluded((Timestamp(i64::MIN), id)),
            },
        };
        ix.by_start
            .range((lower, Unbounded))
            .take(limit)
            .filter_map(|(_, id)| ix.events.get(id).map(EventEntry::view))
            .collect()
    }

    /// The event's seats in map order, as `query` asks.
    pub fn seats(&self, id: EventId, query: &SeatQuery) -> Result<Vec<Ticket>, CommandError> {
        let ix = self.index.read().expect("read model lock");
        let entry = ix.events.get(&id).ok_or(CommandError::NotFound)?;
        let range = match &query.section {
            None => 0..entry.map.total(),
            Some(name) => entry
                .map
                .section_index(name)
                .map(|i| entry.map.section_range(i))
                .ok_or(DomainError::Invalid {
                    field: "section",
                    message: "No such section in this event",
                })?,
        };
        let start = match query.after {
            Some(after) => match entry.map.offset_of(after) {
                Some(o) => (o + 1).max(range.start),
                None => range.end,
            },
            None => range.start,
        };
        let offsets = (start..range.end)
            .filter(|&o| {
                !query.available_only || entry.seats[o as usize].status == TicketStatus::Available
            })
            .take(query.limit);
        Ok(entry.tickets(offsets))
    }

    /// The best `quantity` seats of event `id` that are available and not
    /// in `refused` (of section `section` if given), in map order; `None`
    /// when there are not that many.
    pub fn best_seats(
        &self,
        id: EventId,
        quantity: usize,
        section: Option<usize>,
        refused: &HashSet<TicketId>,
    ) -> Option<Vec<TicketId>> {
        let ix = self.index.read().expect("read model lock");
        let entry = ix.events.get(&id)?;
        let map = &entry.map;
        let within = section.map_or(0..map.total(), |s| map.section_range(s));
        let free = |o: u32| {
            entry.seats[o as usize].status == TicketStatus::Available
                && !refused.contains(&map.seat_id(o))
        };
        map.best_available(quantity, within, free)
            .map(|offsets| offsets.into_iter().map(|o| map.seat_id(o)).collect())
    }

    /// How many seats of `event` the buyer holds or owns now.
    pub fn seats_of_buyer(&self, event: EventId, buyer: UserId) -> usize {
        let ix = self.index.read().expect("read model lock");
        ix.seats_by_buyer.get(&(event, buyer)).copied().unwrap_or(0)
    }

    /// Whether `buyer` placed an order of `event` at or after `since`.
    /// Orders are walked newest first (ids follow creation), stopping a
    /// minute before `since` (slack for a clock stepped back).
    pub fn ordered_since(&self, event: EventId, buyer: UserId, since: Timestamp) -> bool {
        let ix = self.index.read().expect("read model lock");
        let stop = Timestamp(since.0.saturating_sub(60_000));
        ix.orders_by_buyer.get(&buyer).is_some_and(|ids| {
            ids.iter()
                .rev()
                .filter_map(|id| ix.orders.get(id))
                .take_while(|o| o.created_at >= stop)
                .any(|o| o.event_id() == Some(event) && o.created_at >= since)
        })
    }

    /// Every order of seats holding them unpaid, with its deadline (to arm
    /// their expiry at start-up).
    pub fn held_seat_orders(&self) -> Vec<(OrderId, Timestamp)> {
        let ix = self.index.read().expect("read model lock");
        ix.orders
            .values()
            .filter(|o| o.is_held() && o.event_id().is_some())
            .map(|o| (o.id, o.expires_at))
            .collect()
    }

    /// The snapshot encoder of event `id`'s feed: a copy of its seats taken
    /// under the read lock, encoded later off it.
    pub(super) fn event_encoder(ix: &Index, id: EventId) -> Encoder {
        match ix.events.get(&id) {
            Some(entry) => {
                let map = entry.map.clone();
                let seats = entry.seats.clone();
                let view = entry.view();
                Box::new(move || {
                    let tickets = (0..map.total()).map(|o| map.ticket(o, seats[o as usize]));
                    LiveHub::event_snapshot(&view, tickets)
                })
            }
            None => Box::new(LiveHub::event_deleted),
        }
    }
}
