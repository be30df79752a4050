//! The invariants `check` verifies (and `import` before it writes): no
//! ticket in two live orders, every live order's tickets pointing back at
//! it, every sale paid, every event's seats present where its map puts
//! them, an order of several seats within one event, references intact.

use std::collections::{HashMap, HashSet};

use crate::domain::{
    EventId, Order, OrderId, OrderStatus, SeatMap, Ticket, TicketId, TicketStatus, UserId,
};
use crate::storage::Snapshot;

/// The records of a snapshot by id, for the checks' look-ups.
struct Index<'a> {
    users: HashSet<UserId>,
    events: HashMap<EventId, SeatMap>,
    tickets: HashMap<TicketId, &'a Ticket>,
    orders: HashMap<OrderId, &'a Order>,
}

/// Every broken invariant in `snap`, one sentence each.
pub fn check(snap: &Snapshot) -> Vec<String> {
    let ix = Index {
        users: snap.users.iter().map(|u| u.id).collect(),
        events: snap
            .events
            .iter()
            .map(|e| (e.id, SeatMap::new(e.clone())))
            .collect(),
        tickets: snap.tickets.iter().map(|t| (t.id, t)).collect(),
        orders: snap.orders.iter().map(|o| (o.id, o)).collect(),
    };
    let mut problems = Vec::new();
    let mut emails = HashSet::new();
    for u in &snap.users {
        if !emails.insert(u.email.as_str()) {
            problems.push(format!("email {} belongs to two users", u.email.as_str()));
        }
    }
    for e in &snap.events {
        check_event(&ix.events[&e.id], &ix, &mut problems);
    }
    check_orders(snap, &ix, &mut problems);
    for t in &snap.tickets {
        check_ticket(t, &ix, &mut problems);
    }
    check_payments(snap, &ix, &mut problems);
    problems
}

/// The event's organiser exists, and each of its seats is a ticket of it
/// at the place its map gives (one sentence per event, however many seats
/// are wrong).
fn check_event(map: &SeatMap, ix: &Index, problems: &mut Vec<String>) {
    let e = map.event();
    if !ix.users.contains(&e.organizer) {
        problems.push(format!(
            "event {} has an unknown organizer {}",
            e.id, e.organizer
        ));
    }
    let mut wrong = 0;
    let mut first = None;
    for offset in 0..map.total() {
        let id = map.seat_id(offset);
        let place = map.position(offset);
        let problem = match ix.tickets.get(&id) {
            None => format!("its seat {id} is missing"),
            Some(t) if t.event_id != Some(e.id) => {
                format!("its seat {id} claims event {:?}", t.event_id)
            }
            Some(t) if t.seat.as_ref() != Some(&place) => {
                format!("its seat {id} is at {:?}, not at {place:?}", t.seat)
            }
            Some(_) => continue,
        };
        wrong += 1;
        first.get_or_insert(problem);
    }
    if let Some(first) = first {
        problems.push(format!(
            "event {}: {wrong} of its {} seats are wrong, first: {first}",
            e.id,
            map.total()
        ));
    }
}

/// Every order has a known buyer and at least one ticket, an order of
/// several seats takes them from one event, and each ticket of a live
/// order is in no other live order and points back at it.
fn check_orders(snap: &Snapshot, ix: &Index, problems: &mut Vec<String>) {
    let mut live_by_ticket: HashMap<TicketId, Vec<OrderId>> = HashMap::new();
    for o in &snap.orders {
        if !ix.users.contains(&o.buyer) {
            problems.push(format!("order {} has an unknown buyer {}", o.id, o.buyer));
        }
        if o.tickets.is_empty() {
            problems.push(format!("order {} has no tickets", o.id));
        }
        if o.tickets.len() > 1 {
            // What the order saw and what the tickets say must both agree.
            let events: HashSet<_> = o
                .tickets
                .iter()
                .flat_map(|s| [Some(s.event_id), ix.tickets.get(&s.id).map(|t| t.event_id)])
                .flatten()
                .collect();
            if events.len() != 1 || events.contains(&None) {
                problems.push(format!(
                    "order {} of {} seats is not within one event",
                    o.id,
                    o.tickets.len()
                ));
            }
        }
        if o.status.is_live() {
            for s in &o.tickets {
                live_by_ticket.entry(s.id).or_default().push(o.id);
            }
        }
    }
    for (ticket, live) in &live_by_ticket {
        if live.len() > 1 {
            problems.push(format!("ticket {ticket} has {} live orders", live.len()));
        }
        match ix.tickets.get(ticket) {
            None => problems.push(format!(
                "live order {} holds a missing ticket {ticket}",
                live[0]
            )),
            Some(t) if t.order_id != Some(live[0]) && live.len() == 1 => problems.push(format!(
                "ticket {ticket} does not point at its live order {}",
                live[0]
            )),
            _ => {}
        }
    }
}

/// The ticket's seller and event exist (and it is one of that event's
/// seats), its status matches its order's, and that order holds it.
fn check_ticket(t: &Ticket, ix: &Index, problems: &mut Vec<String>) {
    if !ix.users.contains(&t.seller) {
        problems.push(format!(
            "ticket {} has an unknown seller {}",
            t.id, t.seller
        ));
    }
    if let Some(event) = t.event_id {
        match ix.events.get(&event) {
            None => problems.push(format!("ticket {} claims a missing event {event}", t.id)),
            Some(map) if map.offset_of(t.id).is_none() => problems.push(format!(
                "ticket {} claims event {event} but is not one of its seats",
                t.id
            )),
            Some(_) => {}
        }
    }
    let order = t.order_id.and_then(|id| ix.orders.get(&id));
    let consistent = match (t.status, order.map(|o| o.status)) {
        (TicketStatus::Available, None) => t.order_id.is_none(),
        (TicketStatus::Reserved, Some(OrderStatus::Created | OrderStatus::AwaitingPayment)) => true,
        (TicketStatus::Sold, Some(OrderStatus::Complete)) => true,
        _ => false,
    };
    if !consistent {
        problems.push(format!(
            "ticket {} is {} but its order is {:?}",
            t.id,
            t.status.as_str(),
            order.map(|o| o.status.as_str())
        ));
    }
    if let Some(o) = order {
        match o.tickets.iter().find(|s| s.id == t.id) {
            None => problems.push(format!(
                "ticket {} points at order {} which does not hold it",
                t.id, o.id
            )),
            Some(s) if s.version > t.version => problems.push(format!(
                "order {} saw ticket {} at a version above its own",
                o.id, t.id
            )),
            Some(_) => {}
        }
    }
}

/// Every payment is for a complete order, and every complete order has one.
fn check_payments(snap: &Snapshot, ix: &Index, problems: &mut Vec<String>) {
    let paid: HashSet<_> = snap.payments.iter().map(|p| p.order_id).collect();
    for p in &snap.payments {
        match ix.orders.get(&p.order_id) {
            Some(o) if o.status == OrderStatus::Complete => {}
            Some(o) => problems.push(format!(
                "payment {} is for order {} which is {}",
                p.id,
                o.id,
                o.status.as_str()
            )),
            None => problems.push(format!(
                "payment {} is for a missing order {}",
                p.id, p.order_id
            )),
        }
    }
    for o in snap
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::Complete)
    {
        if !paid.contains(&o.id) {
            problems.push(format!("complete order {} has no payment", o.id));
        }
    }
}
