//! `ticketing export`, `import` and `check`: a backup round trip through the
//! binary, into a fresh directory, serves the same data; `check` passes on
//! it; import refuses a damaged backup and a non-empty directory; events
//! round-trip; `check` finds events, seats and orders of several seats that
//! do not agree, in records written straight into a directory; and data
//! moves from sled to PostgreSQL and back (`moves`).

#[path = "support/child.rs"]
mod child;
#[path = "api/client.rs"]
mod client;
#[path = "maintenance/moves.rs"]
mod moves;
#[path = "support/postgres.rs"]
mod postgres;

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use ticketing::config::Settings;
use ticketing::domain::{
    Email, Event, EventDate, EventId, Layout, Order, OrderId, OrderStatus, Price, Row, SeatMap,
    SeatPosition, SeatState, Section, Ticket, TicketId, TicketStatus, Timestamp, Title, User,
    UserId,
};
use ticketing::storage::{SledStore, Store as _, Write as Change};
use ticketing::App;

fn ticketing(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketing"))
        .args(args)
        .env("TICKETING_STORAGE__PATH", data)
        .output()
        .expect("run ticketing");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn call(
    c: &reqwest::Client,
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = c.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Everything a client can see of the data, for comparison.
async fn view(base: &str, tokens: &[String]) -> Value {
    let c = reqwest::Client::new();
    let (_, tickets) = call(
        &c,
        "GET",
        format!("{base}/api/tickets?status=any&limit=1000"),
        None,
        None,
    )
    .await;
    let mut orders = Vec::new();
    for t in tokens {
        let (_, o) = call(&c, "GET", format!("{base}/api/orders"), Some(t), None).await;
        orders.push(o);
    }
    json!({"tickets": tickets, "orders": orders})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_round_trip_serves_the_same_data_and_checks_clean() {
    let original = tempfile::tempdir().unwrap();
    let app = App::start(Settings::for_tests(original.path(), 600))
        .await
        .unwrap();
    let base = format!("http://{}", app.addr());
    let c = reqwest::Client::new();
    let mut tokens = Vec::new();
    for email in ["seller@example.com", "buyer@example.com"] {
        let (s, v) = call(
            &c,
            "POST",
            format!("{base}/api/users/signup"),
            None,
            Some(json!({"email": email, "password": "password1"})),
        )
        .await;
        assert_eq!(s, 201);
        tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    let (seller, buyer) = (tokens[0].clone(), tokens[1].clone());
    let mut ids = Vec::new();
    for (i, title) in ["Sold", "Held", "Released", "Deleted", "Edited"]
        .iter()
        .enumerate()
    {
        let (s, v) = call(
            &c,
            "POST",
            format!("{base}/api/tickets"),
            Some(&seller),
            Some(json!({"title": title, "price": 10 + i, "date": "2027-01-01T20:00:00Z"})),
        )
        .await;
        assert_eq!(s, 201);
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let (_, sold) = call(
        &c,
        "POST",
        format!("{base}/api/orders"),
        Some(&buyer),
        Some(json!({"ticketId": ids[0]})),
    )
    .await;
    let (s, _) = call(
        &c,
        "POST",
        format!("{base}/api/payments"),
        Some(&buyer),
        Some(json!({"orderId": sold["id"], "token": "tok_visa"})),
    )
    .await;
    assert_eq!(s, 201);
    call(
        &c,
        "POST",
        format!("{base}/api/orders"),
        Some(&buyer),
        Some(json!({"ticketId": ids[1]})),
    )
    .await;
    let (_, released) = call(
        &c,
        "POST",
        format!("{base}/api/orders"),
        Some(&buyer),
        Some(json!({"ticketId": ids[2]})),
    )
    .await;
    call(
        &c,
        "DELETE",
        format!("{base}/api/orders/{}", released["id"].as_str().unwrap()),
        Some(&buyer),
        None,
    )
    .await;
    call(
        &c,
        "DELETE",
        format!("{base}/api/tickets/{}", ids[3]),
        Some(&seller),
        None,
    )
    .await;
    call(
        &c,
        "PUT",
        format!("{base}/api/tickets/{}", ids[4]),
        Some(&seller),
        Some(json!({"title": "Edited twice", "price": "99.99"})),
    )
    .await;
    let before = view(&base, &tokens).await;
    app.shutdown().await;

    let backup = original.path().join("../backup.jsonl");
    let backup = backup.to_str().unwrap().to_owned();
    let (ok, stdout, stderr) = ticketing(original.path(), &["export", &backup]);
    assert!(ok, "export failed: {stderr}");
    assert!(
        stdout.contains("2 users, 4 tickets, 3 orders, 1 payments"),
        "{stdout}"
    );

    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    let (ok, _, stderr) = ticketing(&target, &["import", &backup]);
    assert!(ok, "import failed: {stderr}");
    let (ok, stdout, stderr) = ticketing(&target, &["check"]);
    assert!(ok, "check failed: {stdout}{stderr}");
    // A mistyped directory is an error, not an empty success; a refused
    // export leaves the existing backup alone.
    let nowhere = restored.path().join("no-such-dir");
    let (ok, _, stderr) = ticketing(&nowhere, &["check"]);
    assert!(!ok && stderr.contains("not a data directory"), "{stderr}");
    let (ok, _, _) = ticketing(&nowhere, &["export", &backup]);
    assert!(!ok);
    assert!(
        std::fs::metadata(&backup).unwrap().len() > 0,
        "the old backup was emptied"
    );
    assert!(!nowhere.exists(), "export created a data directory");
    // Importing twice into the same directory is refused.
    let (ok, _, stderr) = ticketing(&target, &["import", &backup]);
    assert!(!ok && stderr.contains("empty"), "{stderr}");

    let app = App::start(Settings::for_tests(&target, 600)).await.unwrap();
    let base = format!("http://{}", app.addr());
    // Sessions are not part of a backup: sign in again (the password hash is).
    let mut new_tokens = Vec::new();
    for email in ["seller@example.com", "buyer@example.com"] {
        let (s, v) = call(
            &c,
            "POST",
            format!("{base}/api/users/signin"),
            None,
            Some(json!({"email": email, "password": "password1"})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        new_tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    assert_eq!(view(&base, &new_tokens).await, before);
    // New records do not collide with imported ids.
    let (s, _) = call(
        &c,
        "POST",
        format!("{base}/api/tickets"),
        Some(&new_tokens[0]),
        Some(json!({"title": "After", "price": 1})),
    )
    .await;
    assert_eq!(s, 201);
    app.shutdown().await;
}

#[test]
fn import_refuses_a_backup_that_breaks_an_invariant_and_check_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    let user = json!({"kind": "user", "record": {"id": 1, "email": "a@example.com", "password_hash": "x", "created_at": 0}});
    let ticket = json!({"kind": "ticket", "record": {"id": 2, "title": "T", "price": 100, "date": null, "seller": 1, "version": 1, "status": "Reserved", "order_id": 3}});
    let order = |id: u64| json!({"kind": "order", "record": {"id": id, "buyer": 1, "ticket": {"id": 2, "title": "T", "price": 100, "date": null, "version": 1}, "status": "Created", "expires_at": 0, "version": 0}});
    let lines = [
        json!({"format": "ticketing-export", "version": 1, "exported_at": "2026-01-01T00:00:00Z"}),
        user,
        ticket,
        order(3),
        order(4),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let target = dir.path().join("data");
    let (ok, _, stderr) = ticketing(&target, &["import", file.to_str().unwrap()]);
    assert!(
        !ok,
        "a backup with two live orders for one ticket was imported"
    );
    assert!(stderr.contains("2 live orders"), "{stderr}");
    std::fs::write(&file, "{\"format\": \"something else\"}\n").unwrap();
    let (ok, _, stderr) = ticketing(&target, &["import", file.to_str().unwrap()]);
    assert!(!ok && stderr.contains("line 1"), "{stderr}");
}

/// The lines of an export after its header.
fn records(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_and_events_survive_import_and_export_and_are_served() {
    let dir = tempfile::tempdir().unwrap();
    // A user with a real password hash: made by a server, taken from its export.
    let first = dir.path().join("first");
    let app = App::start(Settings::for_tests(&first, 600)).await.unwrap();
    let c = reqwest::Client::new();
    let base = format!("http://{}", app.addr());
    let signup = json!({"email": "buyer@example.com", "password": "password1"});
    let (s, _) = call(
        &c,
        "POST",
        format!("{base}/api/users/signup"),
        None,
        Some(signup.clone()),
    )
    .await;
    assert_eq!(s, 201);
    app.shutdown().await;
    let file = dir.path().join("first.jsonl");
    let (ok, _, err) = ticketing(&first, &["export", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let user = records(&file).remove(0);
    let uid = user["record"]["id"].as_u64().unwrap();

    // Event 7: row A of the stalls has one seat (ticket 100), the floor one
    // standing place (ticket 101).
    let event = json!({"kind": "event", "record": {"id": 7, "name": "Gala", "venue": "Hall", "starts_at": 1_900_000_000_000i64, "on_sale_at": null, "organizer": uid, "queue": false, "sections": [
        {"name": "Stalls", "price": 2500, "layout": {"Rows": [{"label": "A", "seats": 1}]}},
        {"name": "Floor", "price": 2500, "layout": {"Standing": 1}}
    ], "first_seat": 100, "created_at": 0}});
    let seated = json!({"section": "Stalls", "row": "A", "number": 1});
    let standing = json!({"section": "Floor", "row": null, "number": null});
    let ticket = |id: u64, seat: &Value, version: u64| json!({"kind": "ticket", "record": {"id": id, "title": "Gala", "price": 2500, "date": null, "seller": uid, "version": version, "status": "Available", "order_id": null, "event_id": 7, "seat": seat}});
    let order = json!({"kind": "order", "record": {"id": 102, "buyer": uid, "tickets": [{"id": 101, "title": "Gala", "price": 2500, "date": null, "version": 1, "event_id": 7, "seat": standing}], "status": "Cancelled", "expires_at": 0, "version": 1, "created_at": 0, "cancel_reason": "Buyer", "payment": null}});
    let wanted = vec![
        user,
        event,
        ticket(100, &seated, 0),
        ticket(101, &standing, 2),
        order,
    ];
    let header =
        json!({"format": "ticketing-export", "version": 3, "exported_at": "2026-01-01T00:00:00Z"});
    let text: String = std::iter::once(&header)
        .chain(&wanted)
        .map(|l| format!("{l}\n"))
        .collect();
    let backup = dir.path().join("seats.jsonl");
    std::fs::write(&backup, text).unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = ticketing(&data, &["import", backup.to_str().unwrap()]);
    assert!(ok, "{err}");
    let again = dir.path().join("again.jsonl");
    let (ok, _, err) = ticketing(&data, &["export", again.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(
        records(&again),
        wanted,
        "the export gives back what was imported"
    );

    let app = App::start(Settings::for_tests(&data, 600)).await.unwrap();
    let base = format!("http://{}", app.addr());
    let (s, t) = call(
        &c,
        "GET",
        format!("{base}/api/tickets/{:016x}", 100),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (&t["eventId"], &t["seat"]),
        (&json!("0000000000000007"), &seated)
    );
    let (_, t) = call(
        &c,
        "GET",
        format!("{base}/api/tickets/{:016x}", 101),
        None,
        None,
    )
    .await;
    assert_eq!(
        (&t["eventId"], &t["seat"]),
        (&json!("0000000000000007"), &standing)
    );
    let (s, session) = call(
        &c,
        "POST",
        format!("{base}/api/users/signin"),
        None,
        Some(signup),
    )
    .await;
    assert_eq!(s, 200);
    let token = session["token"].as_str().unwrap();
    let (_, o) = call(
        &c,
        "GET",
        format!("{base}/api/orders/{:016x}", 102),
        Some(token),
        None,
    )
    .await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(
        (&o["ticket"]["eventId"], &o["ticket"]["seat"]),
        (&json!("0000000000000007"), &standing)
    );
    app.shutdown().await;
}

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

#[test]
fn an_export_of_version_2_imports_its_orders_as_orders_of_one_ticket_with_their_payment() {
    let dir = tempfile::tempdir().unwrap();
    let order_id: u64 = (1_700_000_000_000 << 20) + 5;
    let seller = json!({"kind": "user", "record": {"id": 1, "email": "a@example.com", "password_hash": "x", "created_at": 0}});
    let ticket = json!({"kind": "ticket", "record": {"id": 2, "title": "T", "price": 100, "date": null, "seller": 1, "version": 2, "status": "Sold", "order_id": order_id, "event_id": null, "seat": null}});
    let snapshot = json!({"id": 2, "title": "T", "price": 100, "date": null, "version": 2, "event_id": null, "seat": null});
    let order = json!({"kind": "order", "record": {"id": order_id, "buyer": 1, "ticket": snapshot, "status": "Complete", "expires_at": 0, "version": 1}});
    // The payment comes after its order, as exports write them.
    let payment = json!({"kind": "payment", "record": {"id": order_id + 1, "order_id": order_id, "charge_id": "ch_1", "amount": 100, "created_at": 1_700_000_000_500i64}});
    let header =
        json!({"format": "ticketing-export", "version": 2, "exported_at": "2026-01-01T00:00:00Z"});
    let text: String = [&header, &seller, &ticket, &order, &payment]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let backup = dir.path().join("v2.jsonl");
    std::fs::write(&backup, text).unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = ticketing(&data, &["import", backup.to_str().unwrap()]);
    assert!(ok, "{err}");
    let again = dir.path().join("again.jsonl");
    let (ok, _, err) = ticketing(&data, &["export", again.to_str().unwrap()]);
    assert!(ok, "{err}");
    let lines = records(&again);
    let orders: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "order").collect();
    assert_eq!(
        orders,
        [
            &json!({"kind": "order", "record": {"id": order_id, "buyer": 1, "tickets": [snapshot], "status": "Complete", "expires_at": 0, "version": 1, "created_at": 1_700_000_000_000i64, "cancel_reason": null, "payment": {"id": order_id + 1, "paid_at": 1_700_000_000_500i64}}})
        ]
    );
}

/// Waiting-room entries and draws round-trip through export and import, a
/// restored server serves the same entries, and import refuses a place
/// given twice or an entry of an event without a queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_entries_and_draws_survive_export_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let app = App::start(Settings::for_tests(&first, 600)).await.unwrap();
    let c = reqwest::Client::new();
    let base = format!("http://{}", app.addr());
    let mut tokens = Vec::new();
    for i in 0..3 {
        let body = json!({"email": format!("q{i}@example.com"), "password": "password1"});
        let (s, u) = call(
            &c,
            "POST",
            format!("{base}/api/users/signup"),
            None,
            Some(body),
        )
        .await;
        assert_eq!(s, 201);
        tokens.push(u["token"].as_str().unwrap().to_owned());
    }
    let event = json!({"name": "Q", "startsAt": "2031-01-01T00:00:00Z", "onSaleAt": "2026-01-01T00:00:00Z",
        "queue": true, "sections": [{"name": "F", "price": 5, "capacity": 3}]});
    let (s, e) = call(
        &c,
        "POST",
        format!("{base}/api/events"),
        Some(&tokens[0]),
        Some(event),
    )
    .await;
    assert_eq!(s, 201);
    let queue = format!("{base}/api/events/{}/queue", e["id"].as_str().unwrap());
    for t in &tokens[1..] {
        let (s, _) = call(&c, "POST", queue.clone(), Some(t), None).await;
        assert_eq!(s, 200);
    }
    let mut before = Vec::new();
    for t in &tokens[1..] {
        before.push(call(&c, "GET", queue.clone(), Some(t), None).await.1);
    }
    app.shutdown().await;

    let file = dir.path().join("first.jsonl");
    let (ok, _, err) = ticketing(&first, &["export", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let exported = records(&file);
    let kinds = |kind: &str| exported.iter().filter(|r| r["kind"] == kind).count();
    assert_eq!((kinds("entry"), kinds("draw")), (2, 1));

    let second = dir.path().join("second");
    let (ok, said, err) = ticketing(&second, &["import", file.to_str().unwrap()]);
    assert!(ok && said.contains("2 queue entries"), "{said} {err}");
    let again = dir.path().join("second.jsonl");
    let (ok, _, err) = ticketing(&second, &["export", again.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(records(&again), exported, "the same records");
    let (ok, said, err) = ticketing(&second, &["check"]);
    assert!(ok, "{said} {err}");
    let app = App::start(Settings::for_tests(&second, 600)).await.unwrap();
    let base = format!("http://{}", app.addr());
    let queue = queue.replace(queue.split("/api/").next().unwrap(), &base);
    for (i, want) in (1..3).zip(&before) {
        // Sessions are the server's (its secret): sign in afresh.
        let body = json!({"email": format!("q{i}@example.com"), "password": "password1"});
        let (_, u) = call(
            &c,
            "POST",
            format!("{base}/api/users/signin"),
            None,
            Some(body),
        )
        .await;
        let t = u["token"].as_str().unwrap();
        let (s, got) = call(&c, "GET", queue.clone(), Some(t), None).await;
        assert_eq!((s, &got), (200, want));
    }
    app.shutdown().await;

    // A place given twice, and an entry of an event with no queue.
    let header = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let broken = |edit: &dyn Fn(&mut Vec<Value>)| {
        let mut recs = exported.clone();
        edit(&mut recs);
        let text: Vec<String> = std::iter::once(header.clone())
            .chain(recs.iter().map(Value::to_string))
            .collect();
        let path = dir.path().join("broken.jsonl");
        std::fs::write(&path, text.join("\n")).unwrap();
        let target = tempfile::tempdir().unwrap();
        let (ok, _, err) = ticketing(target.path(), &["import", path.to_str().unwrap()]);
        assert!(!ok, "imported a broken file");
        err
    };
    let err = broken(&|recs| {
        let places: Vec<usize> = (0..recs.len())
            .filter(|&i| recs[i]["kind"] == "entry")
            .collect();
        let p = recs[places[0]]["record"]["place"].clone();
        recs[places[1]]["record"]["place"] = p;
    });
    assert!(err.contains("given twice"), "{err}");
    let err = broken(&|recs| {
        for r in recs.iter_mut().filter(|r| r["kind"] == "event") {
            r["record"]["queue"] = json!(false);
        }
    });
    assert!(err.contains("has no queue"), "{err}");
}
