//! The HTTP edge of events and of orders of several seats: what is refused
//! before the core is asked (each invalid field of `POST /api/events` named
//! by its path, the map's size, the 1 MiB body of that one route, the order
//! bodies' shapes, ids that cannot be ids), and the edge's part of what the
//! core answers (a seat's ticket is not edited as a ticket, the live seat
//! map's 404 and its end when the event goes).

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::bad_input::post_oversized;
use crate::helpers::*;

/// A valid event with two seated rows and a standing section.
fn valid_event() -> Value {
    json!({
        "name": "Gala",
        "venue": "Town Hall",
        "startsAt": "2030-06-01T19:00:00Z",
        "onSaleAt": "2030-05-01T09:00:00Z",
        "queue": false,
        "sections": [
            {"name": "Stalls", "price": "45.50", "rows": [{"label": "A", "seats": 3}, {"label": "B", "seats": 2}]},
            {"name": "Floor", "price": 20, "capacity": 5}
        ]
    })
}

/// `valid_event` with `f` applied.
fn event_with(f: impl FnOnce(&mut Value)) -> Value {
    let mut e = valid_event();
    f(&mut e);
    e
}

/// A map of `sections` sections of `rows` rows of `seats` seats each.
fn sections_of(sections: usize, rows: usize, seats: u32) -> Value {
    let rows: Vec<Value> = (0..rows)
        .map(|r| json!({"label": format!("R{r}"), "seats": seats}))
        .collect();
    (0..sections)
        .map(|s| json!({"name": format!("S{s}"), "price": 10, "rows": rows}))
        .collect()
}

/// The `(field, message)` of every error of a 400, in order.
fn problems(r: &Resp) -> Vec<(String, String)> {
    r.error(400, None, None);
    r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field = e["field"].as_str().unwrap_or("").to_owned();
            (field, e["message"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// The fields of a 400, in order.
fn fields(r: &Resp) -> Vec<String> {
    problems(r).into_iter().map(|(f, _)| f).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_or_deleting_an_event_needs_a_session() {
    let app = spawn_app().await;
    app.post("/api/events", Auth::None, valid_event())
        .await
        .error(401, None, None);
    app.delete("/api/events/0123456789abcdef", Auth::None)
        .await
        .error(401, None, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_field_of_an_event_is_named_by_its_path() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let auth = Auth::Bearer(&user);
    let body = json!({
        "name": "  ",
        "venue": "v".repeat(201),
        "startsAt": "2030-06-01T19:00:00Z",
        "onSaleAt": "2030-06-01T19:00:00Z",
        "queue": "yes",
        "sections": [
            {"name": "Stalls", "price": "12.345", "rows": [
                {"label": "A", "seats": 0},
                {"label": "A", "seats": 3},
                {"label": "", "seats": 1001},
                {"label": "x".repeat(21), "seats": "3"},
                {"label": "D", "seats": 2.5},
                "row"
            ]},
            {"name": "Stalls", "price": 0, "capacity": 100_001},
            {"name": "Both", "price": 1, "rows": [{"label": "A", "seats": 1}], "capacity": 5},
            {"name": "Neither", "price": 1},
            {"name": "", "capacity": 3},
            {"name": "n".repeat(101), "price": 1, "rows": []},
            {"name": "Many", "price": 1, "rows": (0..1001).map(|i| json!({"label": i.to_string(), "seats": 1})).collect::<Vec<_>>()},
            {"name": "NotAList", "price": 1, "rows": "A"},
            [1, 2]
        ]
    });
    let r = app.post("/api/events", auth, body).await;
    let expected: Vec<(&str, &str)> = vec![
        ("name", "Name must be 1 to 200 characters"),
        ("venue", "Venue must be text of at most 200 characters"),
        ("onSaleAt", "OnSaleAt must be before startsAt"),
        ("queue", "Queue must be true or false"),
        ("sections[0].price", "Price must have at most 2 decimals"),
        ("sections[1].name", "Section names must be unique"),
        ("sections[1].price", "Price must be greater than 0"),
        (
            "sections[1].capacity",
            "Capacity must be a whole number from 1 to 100,000",
        ),
        (
            "sections[2].capacity",
            "A section has rows or a capacity, not both",
        ),
        ("sections[3].rows", "A section needs rows or a capacity"),
        (
            "sections[4].name",
            "Section name must be 1 to 100 characters",
        ),
        ("sections[4].price", "Price is required"),
        (
            "sections[5].name",
            "Section name must be 1 to 100 characters",
        ),
        ("sections[5].rows", "Rows must be a list of 1 to 1000 rows"),
        ("sections[6].rows", "Rows must be a list of 1 to 1000 rows"),
        ("sections[7].rows", "Rows must be a list of 1 to 1000 rows"),
        ("sections[8]", "Section must be an object"),
        (
            "sections[0].rows[0].seats",
            "Seats must be a whole number from 1 to 1000",
        ),
        (
            "sections[0].rows[1].label",
            "Row labels must be unique in a section",
        ),
        (
            "sections[0].rows[2].label",
            "Row label must be 1 to 20 characters",
        ),
        (
            "sections[0].rows[2].seats",
            "Seats must be a whole number from 1 to 1000",
        ),
        (
            "sections[0].rows[3].label",
            "Row label must be 1 to 20 characters",
        ),
        (
            "sections[0].rows[3].seats",
            "Seats must be a whole number from 1 to 1000",
        ),
        (
            "sections[0].rows[4].seats",
            "Seats must be a whole number from 1 to 1000",
        ),
        ("sections[0].rows[5]", "Row must be an object"),
    ];
    let expected: Vec<(String, String)> = expected
        .into_iter()
        .map(|(f, m)| (f.to_owned(), m.to_owned()))
        .collect();
    assert_eq!(problems(&r), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_top_level_field_alone() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let auth = Auth::Bearer(&user);
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            event_with(|e| e["name"] = json!("n".repeat(201))),
            "name",
            "Name must be 1 to 200 characters",
        ),
        (
            event_with(|e| e["name"] = json!(5)),
            "name",
            "Name must be 1 to 200 characters",
        ),
        (
            event_with(|e| {
                e.as_object_mut().unwrap().remove("startsAt");
            }),
            "startsAt",
            "StartsAt is required",
        ),
        (
            event_with(|e| e["startsAt"] = json!("next friday")),
            "startsAt",
            "StartsAt must be an RFC 3339 date-time",
        ),
        (
            event_with(|e| e["onSaleAt"] = json!("2030-06-01T20:00:00+01:00")),
            "onSaleAt",
            "OnSaleAt must be before startsAt",
        ),
        (
            event_with(|e| e["onSaleAt"] = json!(12)),
            "onSaleAt",
            "OnSaleAt must be an RFC 3339 date-time",
        ),
        (
            event_with(|e| {
                e.as_object_mut().unwrap().remove("sections");
            }),
            "sections",
            "Sections must be a list of 1 to 100 sections",
        ),
        (
            event_with(|e| e["sections"] = json!([])),
            "sections",
            "Sections must be a list of 1 to 100 sections",
        ),
        (
            event_with(|e| e["sections"] = json!({"name": "S"})),
            "sections",
            "Sections must be a list of 1 to 100 sections",
        ),
        (
            event_with(|e| {
                let many: Vec<Value> = (0..101)
                    .map(|i| json!({"name": format!("S{i}"), "price": 1, "capacity": 1}))
                    .collect();
                e["sections"] = json!(many);
            }),
            "sections",
            "Sections must be a list of 1 to 100 sections",
        ),
    ];
    for (body, field, message) in cases {
        let r = app.post("/api/events", auth, body).await;
        assert_eq!(
            problems(&r),
            vec![(field.to_owned(), message.to_owned())],
            "{field}"
        );
    }
    // A wrong JSON type at the top is that field's error, not the body's.
    let r = app
        .post("/api/events", auth, json!({"name": [1], "sections": 5}))
        .await;
    assert_eq!(fields(&r), ["name", "startsAt", "sections"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_seats_or_rows_in_all_is_refused_on_sections() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let auth = Auth::Bearer(&user);
    // 101 rows of 1000: 101,000 seats, each row and section legal.
    let body = event_with(|e| e["sections"] = sections_of(1, 101, 1000));
    let r = app.post("/api/events", auth, body).await;
    assert_eq!(
        problems(&r),
        [("sections".to_owned(), "Too many seats".to_owned())]
    );
    // Standing places count too: 100,000 + 1.
    let body = event_with(|e| {
        e["sections"] = json!([
            {"name": "Floor", "price": 1, "capacity": 100_000},
            {"name": "Box", "price": 1, "capacity": 1}
        ])
    });
    let r = app.post("/api/events", auth, body).await;
    assert_eq!(
        problems(&r),
        [("sections".to_owned(), "Too many seats".to_owned())]
    );
    // 11 sections of 1000 rows of one seat: 11,000 rows, 11,000 seats.
    let body = event_with(|e| e["sections"] = sections_of(11, 1000, 1));
    let r = app.post("/api/events", auth, body).await;
    assert_eq!(
        problems(&r),
        [(
            "sections".to_owned(),
            "An event has at most 10,000 rows in all".to_owned()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_body_may_be_up_to_1_mib_every_other_body_64_kib() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let auth = Auth::Bearer(&user);
    // 900 KiB: read and validated (the padding is an unknown field).
    let padded = event_with(|e| {
        e["pad"] = json!("p".repeat(900 * 1024));
        e["name"] = json!("");
    });
    let r = app.post("/api/events", auth, padded).await;
    assert_eq!(fields(&r), ["name"]);
    // Over 1 MiB: 413, saying so.
    let over = event_with(|e| e["pad"] = json!("p".repeat(1024 * 1024)));
    let r = post_oversized(&app, "/api/events", auth, over.to_string()).await;
    r.error(413, Some("Request body is larger than 1 MiB"), None);
    // Every other route keeps 64 KiB.
    let ticket = json!({"title": "Big", "price": 1, "pad": "p".repeat(100 * 1024)});
    let r = post_oversized(&app, "/api/tickets", auth, ticket.to_string()).await;
    r.error(413, Some("Request body is larger than 64 KiB"), None);
    let order = json!({"ticketId": "0123456789abcdef", "pad": "p".repeat(100 * 1024)});
    let r = post_oversized(&app, "/api/orders", auth, order.to_string()).await;
    r.error(413, Some("Request body is larger than 64 KiB"), None);
    // Malformed JSON is still a 400 with the contract's shape.
    let r = app.post_text("/api/events", auth, "{\"name\": ").await;
    r.error(400, None, None);
    let r = app.post_text("/api/events", auth, "[]").await;
    r.error(400, Some("Body must be a JSON object"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_legal_maps_are_put_on_sale() {
    let _heavy = heavy_or_timed().await;
    let app = spawn_app().await;
    let user = app.signup().await;
    let auth = Auth::Bearer(&user);
    // 100 rows of 1000 seats: exactly 100,000 seats.
    let body = event_with(|e| e["sections"] = sections_of(1, 100, 1000));
    let r = app.post("/api/events", auth, body).await;
    let event = r.json(201);
    assert_eq!(event["seats"]["total"], 100_000, "{}", r.text);
    // 10 sections of 1000 rows of 10 seats: exactly 10,000 rows.
    let body = event_with(|e| e["sections"] = sections_of(10, 1000, 10));
    let event = app.post("/api/events", auth, body).await.json(201);
    assert_eq!(event["seats"]["total"], 100_000);
    assert_eq!(event["sections"][9]["rows"].as_array().unwrap().len(), 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_ids_and_list_queries_are_checked_at_the_edge() {
    let app = spawn_app().await;
    let user = app.signup().await;
    for path in [
        "/api/events/nope",
        "/api/events/0123456789ABCDEF",
        "/api/events/nope/seats",
    ] {
        app.get(path, Auth::None).await.error(404, None, None);
    }
    app.delete("/api/events/nope", Auth::Bearer(&user))
        .await
        .error(404, None, None);
    let r = app.get("/api/events?limit=0&after=x", Auth::None).await;
    assert_eq!(
        problems(&r),
        [
            ("limit".to_owned(), "Limit must be 1 to 1000".to_owned()),
            ("after".to_owned(), "After must be an event id".to_owned()),
        ]
    );
    // Seats filter as ticket lists do: status is available or any.
    let r = app
        .get(
            "/api/events/0123456789abcdef/seats?status=sold&limit=1001",
            Auth::None,
        )
        .await;
    assert_eq!(fields(&r), ["status", "limit"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_bodies_decided_at_the_edge() {
    let app = spawn_app().await;
    let buyer = app.signup().await;
    let auth = Auth::Bearer(&buyer);
    let id = |i: usize| format!("{i:016x}");
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({}), "ticketId", "TicketId must be provided"),
        (
            json!({"section": "Stalls"}),
            "ticketId",
            "TicketId must be provided",
        ),
        (
            json!({"ticketIds": null}),
            "ticketId",
            "TicketId must be provided",
        ),
        (
            json!({"ticketIds": []}),
            "ticketIds",
            "TicketIds must list 1 to 10 seats",
        ),
        (
            json!({"ticketIds": (0..11).map(id).collect::<Vec<_>>()}),
            "ticketIds",
            "TicketIds must list 1 to 10 seats",
        ),
        (
            json!({"ticketIds": [id(1), id(2), id(1)]}),
            "ticketIds",
            "TicketIds must not repeat a seat",
        ),
        (
            json!({"ticketIds": id(1)}),
            "ticketIds",
            "TicketIds must be a list of ticket ids",
        ),
        (
            json!({"ticketIds": [1, 2]}),
            "ticketIds",
            "TicketIds must be a list of ticket ids",
        ),
        (
            json!({"eventId": id(1)}),
            "quantity",
            "Quantity must be a whole number from 1 to 10",
        ),
        (
            json!({"eventId": id(1), "quantity": 0}),
            "quantity",
            "Quantity must be a whole number from 1 to 10",
        ),
        (
            json!({"eventId": id(1), "quantity": 11}),
            "quantity",
            "Quantity must be a whole number from 1 to 10",
        ),
        (
            json!({"eventId": id(1), "quantity": "x"}),
            "quantity",
            "Quantity must be a whole number from 1 to 10",
        ),
        (
            json!({"eventId": id(1), "quantity": 2.5}),
            "quantity",
            "Quantity must be a whole number from 1 to 10",
        ),
        (
            json!({"quantity": 2}),
            "eventId",
            "EventId must be provided",
        ),
        (
            json!({"eventId": id(1), "quantity": 2, "section": 7}),
            "section",
            "Section must be a section's name",
        ),
        (
            json!({"eventId": id(1), "quantity": 2, "queuePass": 7}),
            "queuePass",
            "QueuePass must be a string",
        ),
    ];
    for (body, field, message) in cases {
        let r = app.post("/api/orders", auth, body.clone()).await;
        assert_eq!(
            problems(&r),
            vec![(field.to_owned(), message.to_owned())],
            "{body}"
        );
    }
    // Ids that cannot be ids are no such ticket or event, once the body's
    // shape is right.
    for body in [
        json!({"ticketIds": [id(1), "not-an-id"]}),
        json!({"eventId": "NOPE", "quantity": 2}),
        json!({"ticketId": "NOPE"}),
    ] {
        app.post("/api/orders", auth, body)
            .await
            .error(404, None, None);
    }
    // Nothing was held.
    let orders = app.get("/api/orders", auth).await.json(200);
    assert_eq!(orders, json!([]));
}

/// Creates `valid_event` as `organizer`, and returns it with its seats.
async fn event_and_seats(app: &TestApp, organizer: &User) -> (Value, Vec<Value>) {
    let event = app
        .post("/api/events", Auth::Bearer(organizer), valid_event())
        .await
        .json(201);
    let seats = app
        .get(&format!("/api/events/{}/seats", id_of(&event)), Auth::None)
        .await
        .json(200);
    (event, seats.as_array().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_is_changed_only_through_its_event() {
    let app = spawn_app().await;
    let organizer = app.signup().await;
    let stranger = app.signup().await;
    let (_, seats) = event_and_seats(&app, &organizer).await;
    let seat = id_of(&seats[0]);
    let path = format!("/api/tickets/{seat}");
    let edit = json!({"title": "Mine now", "price": 1});
    // 401 without a session, before anything else.
    app.put(&path, Auth::None, edit.clone())
        .await
        .error(401, None, None);
    app.delete(&path, Auth::None).await.error(401, None, None);
    // The organiser and a stranger alike: the seat's rule comes before the
    // seller check, and before the body is read.
    const SEAT: &str = "Seats are changed through their event";
    for user in [&organizer, &stranger] {
        app.put(&path, Auth::Bearer(user), edit.clone())
            .await
            .error(400, Some(SEAT), None);
        app.call(Method::PUT, &path, Auth::Bearer(user), Some(json!({})))
            .await
            .error(400, Some(SEAT), None);
        app.delete(&path, Auth::Bearer(user))
            .await
            .error(400, Some(SEAT), None);
    }
    let after = app.get(&path, Auth::None).await.json(200);
    assert_eq!(after["version"], 0);
    assert_eq!(after["title"], "Gala");
}

/// The next WebSocket message: `Some(json)`, or `None` once the session
/// ended (close frame, end of stream or error).
async fn next_message(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("nothing within 5 s");
        match msg {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_seat_map_is_404_for_no_such_event() {
    let app = spawn_app().await;
    for id in ["nope", "0000000000000000"] {
        let url = format!("ws://{}/api/events/{id}/live", app.addr);
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status(), 404, "{id}")
            }
            other => panic!("{id}: expected a 404 before the upgrade, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_seat_map_says_deleted_and_closes_when_the_event_goes() {
    let app = spawn_app().await;
    let organizer = app.signup().await;
    let (event, seats) = event_and_seats(&app, &organizer).await;
    let url = format!("ws://{}/api/events/{}/live", app.addr, id_of(&event));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let snapshot = next_message(&mut ws).await.expect("a snapshot");
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["event"]["id"], event["id"]);
    assert_eq!(snapshot["seats"].as_array().unwrap().len(), seats.len());
    app.delete(
        &format!("/api/events/{}", id_of(&event)),
        Auth::Bearer(&organizer),
    )
    .await
    .expect(204);
    assert_eq!(
        next_message(&mut ws).await,
        Some(json!({"type": "deleted"}))
    );
    assert_eq!(next_message(&mut ws).await, None, "the server closes");
}
