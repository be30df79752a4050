//! How big an event may be: too many seats or rows in all refused on
//! `sections`, a body of up to 1 MiB on this one route (64 KiB on every
//! other), and the largest legal maps put on sale.

use crate::bad_input::post_oversized;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_seats_or_rows_in_all_is_refused_on_sections() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let auth = Auth::Bearer(&user);
    // 101 rows of 1000: 101,000 seats, each row and section legal.
    let body = event_with(|e| e["sections"] = sections_of(1, 101, 1000));
    let r = app.post("/api/events", auth, body).await;
    assert_eq!(
        r.problems(),
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
        r.problems(),
        [("sections".to_owned(), "Too many seats".to_owned())]
    );
    // 11 sections of 1000 rows of one seat: 11,000 rows, 11,000 seats.
    let body = event_with(|e| e["sections"] = sections_of(11, 1000, 1));
    let r = app.post("/api/events", auth, body).await;
    assert_eq!(
        r.problems(),
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
