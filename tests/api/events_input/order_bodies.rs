//! The bodies of orders of several seats decided at the edge: each wrong
//! shape refused with its field and message, ids that cannot be ids no
//! such ticket or event, and nothing held.

use super::*;

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
            r.problems(),
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
