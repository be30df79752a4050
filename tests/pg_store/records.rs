//! The records the store tests commit: every kind, in batches as the
//! server would commit them, and what loading them back should give.

use std::time::Duration;

use futures_util::future::join_all;
use ticketing::domain::line::{Draw, Entry, EntryStatus};
use ticketing::domain::{
    CancelReason, Email, Event, EventDate, EventId, Layout, Order, OrderId, OrderStatus,
    OrderTicket, Payment, PaymentId, PaymentRef, Price, Row, SeatPosition, Section, SessionId,
    Ticket, TicketId, TicketStatus, Timestamp, Title, User, UserId,
};
use ticketing::storage::{PgStore, Snapshot, StorageError, Store, Write};

pub fn title(s: &str) -> Title {
    Title::parse(s).unwrap()
}

pub fn price(cents: u64) -> Price {
    Price::from_cents(cents).unwrap()
}

pub fn user(id: u64, email: &str) -> User {
    User {
        id: UserId(id),
        email: Email::parse(email).unwrap(),
        password_hash: format!("$2b$04$hash-of-{id}"),
        created_at: Timestamp(1_767_225_600_123 + id as i64),
    }
}

fn seat(section: &str, row: Option<&str>, number: Option<u32>) -> Option<SeatPosition> {
    Some(SeatPosition {
        section: section.into(),
        row: row.map(Into::into),
        number,
    })
}

/// An event of five seats (ids 21 to 25): two rows and a standing section.
pub fn event() -> (Event, Vec<Ticket>) {
    let event = Event {
        id: EventId(20),
        name: title("Gala 🎻"),
        venue: Some("Hall".into()),
        starts_at: Timestamp(1_900_000_000_500),
        on_sale_at: Some(Timestamp(1_800_000_000_000)),
        organizer: UserId(10),
        queue: true,
        sections: vec![
            Section {
                name: "Stalls".into(),
                price: price(2500),
                layout: Layout::Rows(vec![
                    Row {
                        label: "A".into(),
                        seats: 2,
                    },
                    Row {
                        label: "B".into(),
                        seats: 1,
                    },
                ]),
            },
            Section {
                name: "Floor".into(),
                price: price(1000),
                layout: Layout::Standing(2),
            },
        ],
        first_seat: TicketId(21),
        created_at: Timestamp(1_767_225_600_000),
    };
    let places = [
        seat("Stalls", Some("A"), Some(1)),
        seat("Stalls", Some("A"), Some(2)),
        seat("Stalls", Some("B"), Some(1)),
        seat("Floor", None, None),
        seat("Floor", None, None),
    ];
    let seats = (places.into_iter().enumerate())
        .map(|(i, place)| {
            let mut t = Ticket::new(
                TicketId(21 + i as u64),
                UserId(10),
                event.name.clone(),
                price(if i < 3 { 2500 } else { 1000 }),
                EventDate(Some(event.starts_at)),
            );
            t.event_id = Some(event.id);
            t.seat = place;
            t
        })
        .collect();
    (event, seats)
}

/// Every kind of record, in batches as the server would commit them.
pub fn every_kind() -> Vec<Vec<Write>> {
    let (event, mut seats) = event();
    let mut standalone = Ticket::new(
        TicketId(30),
        UserId(10),
        title("Solo"),
        price(1250),
        EventDate(None),
    );
    let spare = spare();
    // Ticket 30: sold by order 40, paid by payment 50.
    standalone.version = 2;
    standalone.status = TicketStatus::Sold;
    standalone.order_id = Some(OrderId(40));
    let paid = Order {
        id: OrderId(40),
        buyer: UserId(11),
        tickets: vec![OrderTicket {
            version: 2,
            ..standalone.snapshot()
        }],
        status: OrderStatus::Complete,
        expires_at: Timestamp(1_767_225_700_000),
        version: 1,
        created_at: Timestamp(1_767_225_640_000),
        cancel_reason: None,
        payment: Some(PaymentRef {
            id: PaymentId(50),
            paid_at: Timestamp(1_767_225_650_001),
        }),
    };
    let payment = Payment {
        id: PaymentId(50),
        order_id: OrderId(40),
        charge_id: "ch_123".into(),
        amount: price(1250),
        created_at: Timestamp(1_767_225_650_001),
    };
    // Seats 21 and 22 held by order 41; seat 23's hold (order 42) lapsed.
    for s in &mut seats[..2] {
        s.version = 1;
        s.status = TicketStatus::Reserved;
        s.order_id = Some(OrderId(41));
    }
    seats[2].version = 2;
    let held = Order::hold(
        OrderId(41),
        UserId(11),
        vec![seats[0].snapshot(), seats[1].snapshot()],
        Timestamp(1_767_225_660_000),
        Duration::from_secs(600),
    );
    let lapsed = Order {
        status: OrderStatus::Cancelled,
        cancel_reason: Some(CancelReason::Expired),
        version: 1,
        ..Order::hold(
            OrderId(42),
            UserId(10),
            vec![seats[2].snapshot()],
            Timestamp(1_767_225_000_000),
            Duration::from_secs(60),
        )
    };
    let entries = [
        Entry {
            event: EventId(20),
            user: UserId(11),
            joined_at: Timestamp(1_767_225_600_500),
            place: Some(1),
            status: EntryStatus::Admitted,
            admitted_at: Some(Timestamp(1_800_000_000_001)),
            pass_expires_at: Some(Timestamp(1_800_000_300_001)),
            order: Some(OrderId(41)),
        },
        Entry {
            event: EventId(20),
            user: UserId(10),
            joined_at: Timestamp(1_767_225_600_600),
            place: None,
            status: EntryStatus::Waiting,
            admitted_at: None,
            pass_expires_at: None,
            order: None,
        },
    ];
    let mut with_event = vec![Write::Event(event)];
    with_event.extend(seats.into_iter().map(Write::Ticket));
    vec![
        vec![
            Write::User(user(10, "Ann@Example.com")),
            Write::User(user(11, "bob@example.org")),
        ],
        with_event,
        vec![Write::Ticket(standalone), Write::Ticket(spare)],
        vec![Write::Order(paid), Write::Payment(payment)],
        vec![Write::Order(held), Write::Order(lapsed)],
        vec![Write::RevokeSession(
            SessionId(60),
            Timestamp(1_767_300_000_000),
        )],
        entries.into_iter().map(Write::Entry).collect(),
        vec![Write::Draw(Draw {
            event: EventId(20),
            seed: u64::MAX - 5,
            at: Timestamp(1_800_000_000_000),
            placed: 1,
        })],
    ]
}

/// What loading should give after `batches`: every put record, by kind,
/// in key order.
pub fn expected(batches: &[Vec<Write>]) -> Snapshot {
    let mut s = Snapshot::default();
    for w in batches.iter().flatten() {
        match w.clone() {
            Write::User(u) => s.users.push(u),
            Write::Event(e) => s.events.push(e),
            Write::Entry(e) => s.entries.push(e),
            Write::Draw(d) => s.draws.push(d),
            Write::Ticket(t) => s.tickets.push(t),
            Write::Order(o) => s.orders.push(o),
            Write::Payment(p) => s.payments.push(p),
            Write::RevokeSession(id, exp) => s.revoked.push((id, exp)),
            other => panic!("not a put: {other:?}"),
        }
    }
    s.users.sort_by_key(|u| u.id);
    s.tickets.sort_by_key(|t| t.id);
    s.orders.sort_by_key(|o| o.id);
    s.entries.sort_by_key(|e| (e.event, e.user));
    s
}

pub fn assert_same(loaded: &Snapshot, want: &Snapshot) {
    assert_eq!(loaded.users, want.users);
    assert_eq!(loaded.events, want.events);
    assert_eq!(loaded.entries, want.entries);
    assert_eq!(loaded.draws, want.draws);
    assert_eq!(loaded.tickets, want.tickets);
    assert_eq!(loaded.orders, want.orders);
    assert_eq!(loaded.payments, want.payments);
    assert_eq!(loaded.revoked, want.revoked);
}

/// Commits every batch at once (each takes its place when `commit` is
/// called) and returns each outcome.
pub async fn commit_all(
    store: &PgStore,
    batches: Vec<Vec<Write>>,
) -> Vec<Result<(), StorageError>> {
    let pending: Vec<_> = batches.into_iter().map(|b| store.commit(b)).collect();
    join_all(pending).await
}

/// The ids of the users `store` holds, in its order.
pub async fn user_ids(store: &PgStore) -> Vec<u64> {
    let snapshot = store.load().await.unwrap();
    snapshot.users.iter().map(|u| u.id.0).collect()
}

/// Ticket 31, sold on its own by user 11: the spare of every record set.
pub fn spare() -> Ticket {
    Ticket::new(
        TicketId(31),
        UserId(11),
        title("Spare"),
        price(1),
        EventDate(None),
    )
}
