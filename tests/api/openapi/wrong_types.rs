//! The typed inputs answer JSON of the wrong type with the contract's
//! messages, one error per invalid field, and refuse a field given twice.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_inputs_answer_wrong_json_types_with_the_contracts_messages() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let expect = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(f, m)| (f.to_string(), m.to_string()))
            .collect()
    };
    let auth = Auth::Bearer(&user);

    let r = app
        .post(
            "/api/tickets",
            auth,
            json!({"title": 5, "price": {"a": 1}, "date": 5}),
        )
        .await;
    assert_eq!(
        r.problems(),
        expect(&[
            ("title", "Title is required"),
            ("price", "Price must be a number"),
            ("date", "Date must be an RFC 3339 date-time"),
        ])
    );
    for body in [json!({"ticketId": 5}), json!({"ticketId": "  "}), json!({})] {
        let r = app.post("/api/orders", auth, body).await;
        assert_eq!(
            r.problems(),
            expect(&[("ticketId", "TicketId must be provided")])
        );
    }
    let r = app
        .post(
            "/api/payments",
            auth,
            json!({"orderId": [1], "token": null}),
        )
        .await;
    assert_eq!(
        r.problems(),
        expect(&[
            ("orderId", "OrderId must be provided"),
            ("token", "Token must be provided"),
        ])
    );
    let r = app
        .post(
            "/api/users/signup",
            Auth::None,
            json!({"email": 5, "password": 5}),
        )
        .await;
    assert_eq!(
        r.problems(),
        expect(&[
            ("email", "Email must be valid"),
            ("password", "Password must be between 8 and 72 bytes"),
        ])
    );

    // One entry per invalid field, also where the first used to hide the
    // others.
    let r = app
        .post(
            "/api/users/signin",
            Auth::None,
            json!({"email": "nope", "password": ""}),
        )
        .await;
    assert_eq!(
        r.problems(),
        expect(&[
            ("email", "Email must be valid"),
            ("password", "You must supply a password"),
        ])
    );
    let r = app
        .get("/api/tickets?status=sold&limit=0&after=x", Auth::None)
        .await;
    assert_eq!(
        r.problems(),
        expect(&[
            ("status", "Status must be available or any"),
            ("limit", "Limit must be 1 to 1000"),
            ("after", "After must be a ticket id"),
        ])
    );

    // A field given twice is refused, not guessed at (a proxy in front may
    // have read the other one).
    let r = app
        .post_text(
            "/api/tickets",
            auth,
            r#"{"title": "First", "title": "Second", "price": 1}"#,
        )
        .await;
    r.error(400, None, None);
    assert!(r.text.contains("duplicate field `title`"), "{}", r.text);
    assert!(app.all_tickets().await.is_empty());
}
