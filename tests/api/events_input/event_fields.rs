//! `POST /api/events` field by field: a session needed, every invalid field
//! named by its path, each top-level field alone; and event ids and list
//! queries checked at the edge.

use super::*;

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
    assert_eq!(r.problems(), expected);
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
            r.problems(),
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
        r.problems(),
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
