//! The read model: an in-memory index of committed tickets and orders that
//! serves lists, GETs and live snapshots without a round trip through the
//! actors. Ticket actors update it after each durable commit, so a reader
//! sees only durable changes, and every acknowledged one.

mod events;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::RwLock;

use super::live::{Encoder, LiveHub, Subscription, Topic};
use crate::domain::{
    Event, EventId, Order, OrderId, SeatMap, Ticket, TicketId, TicketState, TicketStatus,
    Timestamp, UserId,
};
use events::EventEntry;

/// Which tickets a list wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketFilter {
    /// Only tickets that can be reserved now.
    Available,
    /// Every ticket.
    Any,
}

/// How many tickets and orders there are in each status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tickets by status (`available`, `reserved`, `sold`).
    pub tickets: Vec<(&'static str, usize)>,
    /// Orders by status.
    pub orders: Vec<(&'static str, usize)>,
    /// Orders holding a ticket now.
    pub holds_active: usize,
}

#[derive(Default)]
struct Index {
    tickets: BTreeMap<TicketId, Ticket>,
    /// A B-tree, not a hash map: ids only grow, so inserts land at the
    /// right edge, and there is no rehash of every order (tens of ms under
    /// the write lock at a few hundred thousand) when the table grows.
    orders: BTreeMap<OrderId, Order>,
    orders_by_buyer: HashMap<UserId, BTreeSet<OrderId>>,
    available: BTreeSet<TicketId>,
    /// Events (their seats are not in `tickets`: those are the tickets
    /// sold on their own).
    events: HashMap<EventId, EventEntry>,
    /// Events by start, for the list.
    by_start: BTreeSet<(Timestamp, EventId)>,
    /// Each event's first seat id: the event of a seat is the entry at or
    /// before its id.
    seat_ranges: BTreeMap<TicketId, EventId>,
    /// Seats each buyer holds or owns, by event (the buyer limit's count,
    /// kept as orders change rather than counted over a buyer's history).
    seats_by_buyer: HashMap<(EventId, UserId), usize>,
}

/// Committed state for readers; cheap concurrent reads. Each change is
/// published to the live hub while the index is locked for writing, and a
/// live subscription starts with a snapshot taken under the read lock, so a
/// subscriber sees every change exactly once: in its snapshot or after it.
pub struct ReadModel {
    index: RwLock<Index>,
    live: LiveHub,
    closing: tokio::sync::watch::Sender<bool>,
}

impl Default for ReadModel {
    fn default() -> Self {
        ReadModel {
            index: RwLock::default(),
            live: LiveHub::default(),
            closing: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl ReadModel {
    /// A read model holding `events`, `tickets` (seats of those events
    /// among them) and `orders` (from storage at start-up).
    pub fn new(events: Vec<Event>, tickets: Vec<Ticket>, orders: Vec<Order>) -> Self {
        let model = ReadModel::default();
        {
            let mut ix = model.index.write().expect("read model lock");
            for e in events {
                ix.add_event(SeatMap::new(e));
            }
            for t in tickets {
                if t.event_id.is_some() {
                    ix.load_seat(&t);
                } else {
                    ix.put_ticket(t);
                }
            }
            for o in orders {
                ix.put_order(o);
            }
        }
        model
    }

    /// Records a ticket's new state.
    pub fn put_ticket(&self, t: Ticket) {
        self.put(&[t], &[]);
    }

    /// Records a changed ticket and its changed orders at once, so readers
    /// never see one without the other.
    /// `tickets` are the ticket's successive states; each is published, in
    /// order, as its own change.
    pub fn put(&self, tickets: &[Ticket], orders: &[Order]) {
        let encode = || -> Vec<_> { tickets.iter().map(LiveHub::ticket_event).collect() };
        // Encoded outside the lock when someone watches; nobody watching is
        // re-checked under the lock, where subscriptions cannot start.
        let mut events = if self.live.watched(Topic::Tickets) {
            encode()
        } else {
            Vec::new()
        };
        let mut ix = self.index.write().expect("read model lock");
        if let Some(t) = tickets.last() {
            ix.put_ticket(t.clone());
        }
        for o in orders {
            ix.put_order(o.clone());
        }
        if tickets.is_empty() {
            // No ticket changed: the live feed has nothing to say.
            return;
        }
        if events.is_empty() && self.live.watched(Topic::Tickets) {
            events = encode();
        }
        self.live.publish(Topic::Tickets, events);
    }

    /// Forgets a deleted ticket (its orders stay, for their buyers' history),
    /// publishing first any change that came with the deletion (a lapsed
    /// hold released on the way).
    pub fn remove_ticket(&self, id: TicketId, changes: &crate::domain::Changes) {
        let mut events: Vec<_> = changes.tickets.iter().map(LiveHub::ticket_event).collect();
        events.push(LiveHub::deleted_event(id));
        // Deletions are rare: always encoded, unlike `put`.
        let mut ix = self.index.write().expect("read model lock");
        ix.tickets.remove(&id);
        ix.available.remove(&id);
        for o in &changes.orders {
            ix.put_order(o.clone());
        }
        self.live.publish(Topic::Tickets, events);
    }

    /// A live subscription to `topic`: its snapshot now (shared with every
    /// subscriber at the same state) and every change after it. Only a copy
    /// of the state is taken under the read lock; it is encoded later, off
    /// the lock.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        let ix = self.index.read().expect("read model lock");
        self.live.subscribe(topic, || -> Encoder {
            match topic {
                Topic::Tickets => {
                    let tickets: Vec<Ticket> = ix.tickets.values().cloned().collect();
                    Box::new(move || LiveHub::tickets_snapshot(&tickets))
                }
                Topic::Event(id) => ReadModel::event_encoder(&ix, id),
            }
        })
    }

    /// A live subscription to event `id`'s seat map; `None` for no such
    /// event.
    pub fn subscribe_event(&self, id: EventId) -> Option<Subscription> {
        let ix = self.index.read().expect("read model lock");
        ix.events.contains_key(&id).then(|| {
            self.live
                .subscribe(Topic::Event(id), || ReadModel::event_encoder(&ix, id))
        })
    }

    /// Resolves (`changed()`) when the server shuts down, so live sessions end.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Tells every live session to end.
    pub fn close_live(&self) {
        self.closing.send_replace(true);
    }

    /// Current live subscribers.
    pub fn subscribers(&self) -> usize {
        self.live.subscribers()
    }

    /// One ticket: one sold on its own, or a seat of an event.
    pub fn ticket(&self, id: TicketId) -> Option<Ticket> {
        let ix = self.index.read().expect("read model lock");
        ix.tickets.get(&id).cloned().or_else(|| ix.seat_ticket(id))
    }

    /// Up to `limit` tickets after `after`, oldest first.
    pub fn tickets(
        &self,
        filter: TicketFilter,
        after: Option<TicketId>,
        limit: usize,
    ) -> Vec<Ticket> {
        use std::ops::Bound::{Excluded, Unbounded};
        let ix = self.index.read().expect("read model lock");
        let lower = after.map_or(Unbounded, Excluded);
        match filter {
            TicketFilter::Any => ix
                .tickets
                .range((lower, Unbounded))
                .take(limit)
                .map(|(_, t)| t.clone())
                .collect(),
            TicketFilter::Available => ix
                .available
                .range((lower, Unbounded))
                .take(limit)
                .filter_map(|id| ix.tickets.get(id).cloned())
                .collect(),
        }
    }

    /// Every ticket sold on its own, oldest first (for live snapshots and
    /// restoring holds).
    pub fn all_tickets(&self) -> Vec<Ticket> {
        self.tickets(TicketFilter::Any, None, usize::MAX)
    }

    /// One ticket with the order holding or owning it, as last committed:
    /// the state a ticket actor starts from.
    pub fn ticket_state(&self, id: TicketId) -> Option<TicketState> {
        let ix = self.index.read().expect("read model lock");
        let ticket = ix
            .tickets
            .get(&id)
            .cloned()
            .or_else(|| ix.seat_ticket(id))?;
        let order = ticket.order_id.and_then(|oid| ix.orders.get(&oid).cloned());
        Some(TicketState { ticket, order })
    }

    /// One order.
    pub fn order(&self, id: OrderId) -> Option<Order> {
        self.index
            .read()
            .expect("read model lock")
            .orders
            .get(&id)
            .cloned()
    }

    /// A buyer's orders, newest first.
    pub fn orders_of(&self, buyer: UserId) -> Vec<Order> {
        let ix = self.index.read().expect("read model lock");
        ix.orders_by_buyer
            .get(&buyer)
            .map(|ids| {
                ids.iter()
                    .rev()
                    .filter_map(|id| ix.orders.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Tickets and orders by status (for metrics; one pass over the index).
    pub fn counts(&self) -> Counts {
        use crate::domain::OrderStatus;
        let ix = self.index.read().expect("read model lock");
        let mut tickets = [0usize; 3];
        for t in ix.tickets.values() {
            tickets[t.status as usize] += 1;
        }
        for e in ix.events.values() {
            let c = e.counts();
            tickets[TicketStatus::Available as usize] += c.available as usize;
            tickets[TicketStatus::Reserved as usize] += c.reserved as usize;
            tickets[TicketStatus::Sold as usize] += c.sold as usize;
        }
        let mut orders = [0usize; 4];
        for o in ix.orders.values() {
            orders[o.status as usize] += 1;
        }
        Counts {
            tickets: [
                TicketStatus::Available,
                TicketStatus::Reserved,
                TicketStatus::Sold,
            ]
            .iter()
            .map(|s| (s.as_str(), tickets[*s as usize]))
            .collect(),
            orders: [
                OrderStatus::Created,
                OrderStatus::Cancelled,
                OrderStatus::AwaitingPayment,
                OrderStatus::Complete,
            ]
            .iter()
            .map(|s| (s.as_str(), orders[*s as usize]))
            .collect(),
            holds_active: orders[OrderStatus::Created as usize]
                + orders[OrderStatus::AwaitingPayment as usize],
        }
    }
}

impl Index {
    fn put_ticket(&mut self, t: Ticket) {
        if t.status == TicketStatus::Available {
            self.available.insert(t.id);
        } else {
            self.available.remove(&t.id);
        }
        self.tickets.insert(t.id, t);
    }

    fn put_order(&mut self, o: Order) {
        self.orders_by_buyer
            .entry(o.buyer)
            .or_default()
            .insert(o.id);
        let (buyer, live) = (o.buyer, live_seats(&o));
        let old = self.orders.insert(o.id, o);
        let was = old.as_ref().and_then(live_seats);
        if let Some((event, n)) = live {
            *self.seats_by_buyer.entry((event, buyer)).or_default() += n;
        }
        if let Some((event, n)) = was {
            let key = (event, buyer);
            if let Some(count) = self.seats_by_buyer.get_mut(&key) {
                *count -= n;
                if *count == 0 {
                    self.seats_by_buyer.remove(&key);
                }
            }
        }
    }
}

/// The event and the number of seats an order of seats holds or owns, if
/// it is live.
fn live_seats(o: &Order) -> Option<(EventId, usize)> {
    o.event_id()
        .filter(|_| o.status.is_live())
        .map(|e| (e, o.tickets.len()))
}
