//! `ticketing check` on events, seats and orders of several seats that do
//! not agree, in records written straight into a data directory (past
//! `import`'s own check), starting from a small consistent store.

use ticketing::domain::{
    Email, Event, EventDate, EventId, Layout, Order, OrderId, OrderStatus, Price, Row, SeatMap,
    SeatPosition, SeatState, Section, Ticket, TicketId, TicketStatus, Timestamp, Title, User,
    UserId,
};
use ticketing::storage::{SledStore, Store as _, Write as Change};

use crate::ticketing;

/// A small consistent store: a user, event 10 of three seats (tickets 11
/// and 12 in row A of the stalls, 13 a standing place on the floor) and
/// order 20 holding seats 11 and 12. Records as the server writes them.
struct Seats {
    user: User,
    event: Event,
    tickets: Vec<Ticket>,
    orders: Vec<Order>,
}

impl Seats {
    fn new() -> Self {
        let user = User {
            id: UserId(1),
            email: Email::parse("organiser@example.com").unwrap(),
            password_hash: "x".into(),
            created_at: Timestamp(0),
        };
        let price = Price::from_cents(2500).unwrap();
        let event = Event {
            id: EventId(10),
            name: Title::parse("Gala").unwrap(),
            venue: None,
            starts_at: Timestamp(1_900_000_000_000),
            on_sale_at: None,
            organizer: user.id,
            queue: false,
            sections: vec![
                Section {
                    name: "Stalls".into(),
                    price,
                    layout: Layout::Rows(vec![Row {
                        label: "A".into(),
                        seats: 2,
                    }]),
                },
                Section {
                    name: "Floor".into(),
                    price,
                    layout: Layout::Standing(1),
                },
            ],
            first_seat: TicketId(11),
            created_at: Timestamp(0),
        };
        let map = SeatMap::new(event.clone());
        let held = SeatState {
            version: 1,
            status: TicketStatus::Reserved,
            order_id: Some(OrderId(20)),
        };
        let tickets = vec![
            map.ticket(0, held),
            map.ticket(1, held),
            map.ticket(2, SeatState::FRESH),
        ];
        let order = Order {
            id: OrderId(20),
            buyer: user.id,
            tickets: vec![tickets[0].snapshot(), tickets[1].snapshot()],
            status: OrderStatus::Created,
            expires_at: Timestamp(i64::MAX / 2),
            version: 0,
            created_at: Timestamp(0),
            cancel_reason: None,
            payment: None,
        };
        Seats {
            user,
            event,
            tickets,
            orders: vec![order],
        }
    }

    /// Writes the records straight into a new data directory (past
    /// `import`'s own check) and runs `ticketing check` on it: (passed,
    /// what it printed).
    fn check(&self) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let writes: Vec<Change> = [
            Change::User(self.user.clone()),
            Change::Event(self.event.clone()),
        ]
        .into_iter()
        .chain(self.tickets.iter().cloned().map(Change::Ticket))
        .chain(self.orders.iter().cloned().map(Change::Order))
        .collect();
        store.import(&writes).unwrap();
        store.close().unwrap();
        drop(store);
        let (ok, out, err) = ticketing(dir.path(), &["check"]);
        (ok, format!("{out}{err}"))
    }

    fn ticket(&mut self, id: u64) -> &mut Ticket {
        self.tickets.iter_mut().find(|t| t.id.0 == id).unwrap()
    }
}

/// `seats` fails `check`, saying `problem`.
fn fails_check(seats: &Seats, problem: &str) {
    let (ok, said) = seats.check();
    assert!(!ok, "check passed a store where {problem}:\n{said}");
    assert!(said.contains(problem), "{said}");
}

#[test]
fn check_passes_a_consistent_event_and_order_of_several_seats() {
    let (ok, said) = Seats::new().check();
    assert!(ok, "{said}");
    assert!(
        said.contains("1 users, 3 tickets, 1 orders, 0 payments, 1 events"),
        "{said}"
    );
}

#[test]
fn check_finds_an_event_seat_missing_or_out_of_place() {
    let mut seats = Seats::new();
    seats.tickets.retain(|t| t.id.0 != 13);
    fails_check(
        &seats,
        "event 000000000000000a: 1 of its 3 seats are wrong, first: its seat 000000000000000d is missing",
    );

    let mut seats = Seats::new();
    seats.ticket(13).seat = Some(SeatPosition {
        section: "Stalls".into(),
        row: Some("A".into()),
        number: Some(3),
    });
    fails_check(&seats, "its seat 000000000000000d is at");

    let mut seats = Seats::new();
    seats.ticket(13).event_id = None;
    fails_check(&seats, "its seat 000000000000000d claims event None");
}

#[test]
fn check_finds_a_ticket_that_claims_a_missing_event_or_a_seat_it_is_not() {
    let mut seats = Seats::new();
    let mut stray = seats.ticket(13).clone();
    stray.id = TicketId(30);
    stray.event_id = Some(EventId(99));
    seats.tickets.push(stray.clone());
    fails_check(
        &seats,
        "ticket 000000000000001e claims a missing event 0000000000000063",
    );

    let mut seats = Seats::new();
    stray.event_id = Some(EventId(10));
    seats.tickets.push(stray);
    fails_check(
        &seats,
        "ticket 000000000000001e claims event 000000000000000a but is not one of its seats",
    );
}

#[test]
fn check_finds_a_seat_of_a_live_order_that_does_not_point_back_or_is_in_two() {
    let mut seats = Seats::new();
    let t = seats.ticket(12);
    t.order_id = None;
    t.status = TicketStatus::Available;
    fails_check(
        &seats,
        "ticket 000000000000000c does not point at its live order 0000000000000014",
    );

    let mut seats = Seats::new();
    let mut second = seats.orders[0].clone();
    second.id = OrderId(21);
    second.tickets.remove(0);
    seats.orders.push(second);
    fails_check(&seats, "ticket 000000000000000c has 2 live orders");
}

#[test]
fn check_finds_an_order_of_several_seats_beyond_one_event() {
    let mut seats = Seats::new();
    // Order 20 holds seat 11 and ticket 30, which is no event's seat.
    let mut other = Ticket::new(
        TicketId(30),
        seats.user.id,
        Title::parse("Other").unwrap(),
        Price::from_cents(100).unwrap(),
        EventDate(None),
    );
    other.status = TicketStatus::Reserved;
    other.order_id = Some(OrderId(20));
    other.version = 1;
    seats.orders[0].tickets[1] = other.snapshot();
    seats.tickets.push(other);
    let t = seats.ticket(12);
    t.order_id = None;
    t.status = TicketStatus::Available;
    fails_check(
        &seats,
        "order 0000000000000014 of 2 seats is not within one event",
    );
}
