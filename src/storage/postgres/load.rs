//! Reading everything back: each table in key order into the domain's
//! records, for the [`Snapshot`] start-up needs (and export and check).

use std::collections::HashMap;

use tokio_postgres::{Client, Row};

use super::convert::{self, corrupt, from_cents, from_id, from_time, stored};
use super::schema::describe;
use crate::domain::line::{Draw, Entry};
use crate::domain::{
    Event, EventDate, EventId, Order, OrderId, OrderTicket, Payment, PaymentId, PaymentRef,
    SeatPosition, SessionId, Ticket, TicketId, User, UserId,
};
use crate::storage::{Snapshot, StorageError};

/// Every record in the database.
pub async fn snapshot(client: &Client) -> Result<Snapshot, StorageError> {
    let q = |sql: &'static str| async move {
        client.query(sql, &[]).await.map_err(|e| {
            StorageError::Unavailable(format!("reading the database: {}", describe(&e)))
        })
    };
    let mut snap = Snapshot {
        users: each(q("SELECT * FROM users ORDER BY id").await?, user)?,
        events: each(
            q("SELECT *, sections::text AS map FROM events ORDER BY id").await?,
            event,
        )?,
        entries: each(
            q("SELECT * FROM queue_entries ORDER BY event_id, user_id").await?,
            entry,
        )?,
        draws: each(
            q("SELECT * FROM queue_draws ORDER BY event_id").await?,
            draw,
        )?,
        tickets: each(q("SELECT * FROM tickets ORDER BY id").await?, ticket)?,
        payments: each(q("SELECT * FROM payments ORDER BY id").await?, payment)?,
        ..Snapshot::default()
    };
    let mut lines: HashMap<u64, Vec<OrderTicket>> = HashMap::new();
    for row in q("SELECT * FROM order_tickets ORDER BY order_id, position").await? {
        lines
            .entry(from_id(row.get("order_id")))
            .or_default()
            .push(order_ticket(&row)?);
    }
    snap.orders = q("SELECT * FROM orders ORDER BY id")
        .await?
        .iter()
        .map(|row| order(row, &mut lines))
        .collect::<Result<_, _>>()?;
    for row in q("SELECT * FROM revoked_sessions ORDER BY id").await? {
        snap.revoked.push((
            SessionId(from_id(row.get("id"))),
            from_time(row.get("expires_at")),
        ));
    }
    snap.max_id = max_id(&snap);
    Ok(snap)
}

/// The largest id of any record (an entry counts by its event, as the
/// embedded store's keys do).
fn max_id(s: &Snapshot) -> u64 {
    let ids = (s.users.iter().map(|u| u.id.0))
        .chain(s.events.iter().map(|e| e.id.0))
        .chain(s.entries.iter().map(|e| e.event.0))
        .chain(s.draws.iter().map(|d| d.event.0))
        .chain(s.tickets.iter().map(|t| t.id.0))
        .chain(s.orders.iter().map(|o| o.id.0))
        .chain(s.payments.iter().map(|p| p.id.0))
        .chain(s.revoked.iter().map(|r| r.0 .0));
    ids.max().unwrap_or_default()
}

fn each<T>(
    rows: Vec<Row>,
    read: fn(&Row) -> Result<T, StorageError>,
) -> Result<Vec<T>, StorageError> {
    rows.iter().map(read).collect()
}

fn user(row: &Row) -> Result<User, StorageError> {
    Ok(User {
        id: UserId(from_id(row.get("id"))),
        email: stored("users.email", row.get("email"))?,
        password_hash: row.get("password_hash"),
        created_at: from_time(row.get("created_at")),
    })
}

fn event(row: &Row) -> Result<Event, StorageError> {
    let map: String = row.get("map");
    Ok(Event {
        id: EventId(from_id(row.get("id"))),
        name: stored("events.name", row.get("name"))?,
        venue: row.get("venue"),
        starts_at: from_time(row.get("starts_at")),
        on_sale_at: row.get::<_, Option<_>>("on_sale_at").map(from_time),
        organizer: UserId(from_id(row.get("organizer"))),
        queue: row.get("queue"),
        sections: serde_json::from_str(&map).map_err(|e| corrupt("events.sections", e))?,
        first_seat: TicketId(from_id(row.get("first_seat"))),
        created_at: from_time(row.get("created_at")),
    })
}

/// The seat of a row with `section`, `row_label` and `seat_number`.
fn seat(row: &Row) -> Option<SeatPosition> {
    row.get::<_, Option<String>>("section")
        .map(|section| SeatPosition {
            section,
            row: row.get("row_label"),
            number: row.get::<_, Option<i32>>("seat_number").map(|n| n as u32),
        })
}

fn date(row: &Row) -> EventDate {
    EventDate(row.get::<_, Option<_>>("date").map(from_time))
}

fn ticket(row: &Row) -> Result<Ticket, StorageError> {
    Ok(Ticket {
        id: TicketId(from_id(row.get("id"))),
        title: stored("tickets.title", row.get("title"))?,
        price: from_cents(row.get("price_cents")),
        date: date(row),
        seller: UserId(from_id(row.get("seller"))),
        version: row.get::<_, i64>("version") as u64,
        status: convert::ticket_status(row.get("status"))?,
        order_id: row
            .get::<_, Option<i64>>("order_id")
            .map(|o| OrderId(from_id(o))),
        event_id: row
            .get::<_, Option<i64>>("event_id")
            .map(|e| EventId(from_id(e))),
        seat: seat(row),
    })
}

fn order_ticket(row: &Row) -> Result<OrderTicket, StorageError> {
    Ok(OrderTicket {
        id: TicketId(from_id(row.get("ticket_id"))),
        title: stored("order_tickets.title", row.get("title"))?,
        price: from_cents(row.get("price_cents")),
        date: date(row),
        version: row.get::<_, i64>("version") as u64,
        event_id: row
            .get::<_, Option<i64>>("event_id")
            .map(|e| EventId(from_id(e))),
        seat: seat(row),
    })
}

fn order(row: &Row, lines: &mut HashMap<u64, Vec<OrderTicket>>) -> Result<Order, StorageError> {
    let id = from_id(row.get("id"));
    let tickets = lines.remove(&id).unwrap_or_default();
    if tickets.is_empty() {
        return Err(corrupt(
            &format!("orders.id = {id}"),
            "an order without tickets",
        ));
    }
    let payment = match (
        row.get::<_, Option<i64>>("payment_id"),
        row.get::<_, Option<_>>("paid_at"),
    ) {
        (Some(p), Some(at)) => Some(PaymentRef {
            id: PaymentId(from_id(p)),
            paid_at: from_time(at),
        }),
        _ => None,
    };
    Ok(Order {
        id: OrderId(id),
        buyer: UserId(from_id(row.get("buyer"))),
        tickets,
        status: convert::order_status(row.get("status"))?,
        expires_at: from_time(row.get("expires_at")),
        version: row.get::<_, i64>("version") as u64,
        created_at: from_time(row.get("created_at")),
        cancel_reason: (row.get::<_, Option<&str>>("cancel_reason"))
            .map(convert::cancel_reason)
            .transpose()?,
        payment,
    })
}

fn payment(row: &Row) -> Result<Payment, StorageError> {
    Ok(Payment {
        id: PaymentId(from_id(row.get("id"))),
        order_id: OrderId(from_id(row.get("order_id"))),
        charge_id: row.get("charge_id"),
        amount: from_cents(row.get("amount_cents")),
        created_at: from_time(row.get("created_at")),
    })
}

fn entry(row: &Row) -> Result<Entry, StorageError> {
    Ok(Entry {
        event: EventId(from_id(row.get("event_id"))),
        user: UserId(from_id(row.get("user_id"))),
        joined_at: from_time(row.get("joined_at")),
        place: row.get::<_, Option<i64>>("place").map(|p| p as u64),
        status: convert::entry_status(row.get("status"))?,
        admitted_at: row.get::<_, Option<_>>("admitted_at").map(from_time),
        pass_expires_at: row.get::<_, Option<_>>("pass_expires_at").map(from_time),
        order: row
            .get::<_, Option<i64>>("order_id")
            .map(|o| OrderId(from_id(o))),
    })
}

fn draw(row: &Row) -> Result<Draw, StorageError> {
    Ok(Draw {
        event: EventId(from_id(row.get("event_id"))),
        seed: row.get::<_, i64>("seed") as u64,
        at: from_time(row.get("drawn_at")),
        placed: row.get::<_, i64>("placed") as u64,
    })
}
