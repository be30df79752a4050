//! Prices: numbers or numeric strings kept exactly, every invalid price
//! refused on the `price` field (hidden extra decimals too), and one error
//! per invalid field.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_are_accepted_as_numbers_or_numeric_strings_and_kept_exactly() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let cases: &[(&str, f64)] = &[
        ("20", 20.0),
        ("\"20\"", 20.0),
        ("\"12.50\"", 12.5),
        ("12.5", 12.5),
        ("12.50", 12.5),
        ("99.99", 99.99),
        ("\"99.99\"", 99.99),
        ("0.01", 0.01),
        ("\"0.01\"", 0.01),
        ("0.29", 0.29),
        ("19.99", 19.99),
        ("999999.99", 999999.99),
        ("1000000", 1000000.0),
        ("\"1000000.00\"", 1000000.0),
        ("1000000.0", 1000000.0),
    ];
    for (raw, expected) in cases {
        let body = format!(r#"{{"title":"Priced","price":{raw}}}"#);
        let t = app
            .post_text("/api/tickets", Auth::Bearer(&u), &body)
            .await
            .json(201);
        assert_eq!(
            t["price"].as_f64(),
            Some(*expected),
            "price {raw} came back as {}",
            t["price"]
        );
        let again = app.ticket(&id_of(&t)).await;
        assert_eq!(
            again["price"].as_f64(),
            Some(*expected),
            "stored price of {raw}"
        );
    }
    // The representation is a plain JSON number with at most two decimals.
    let t = app
        .post_text(
            "/api/tickets",
            Auth::Bearer(&u),
            r#"{"title":"x","price":"12.50"}"#,
        )
        .await;
    assert!(
        t.text.contains("\"price\":12.5") && !t.text.contains("\"price\":\"")
            || t.text.contains("\"price\": 12.5"),
        "price is returned as the JSON number 12.5: {}",
        t.text
    );
    let t = app
        .post_text(
            "/api/tickets",
            Auth::Bearer(&u),
            r#"{"title":"x","price":0.29}"#,
        )
        .await;
    assert!(
        !t.text.contains("0.28999"),
        "price went through a float: {}",
        t.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_prices_are_refused_on_the_price_field() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let bad = [
        "0",
        "\"0\"",
        "0.0",
        "\"0.00\"",
        "-5",
        "\"-5\"",
        "-0.01",
        "1.005",
        "\"1.005\"",
        "0.001",
        "\"abc\"",
        "\"\"",
        "\" \"",
        "\"12.5.0\"",
        "\"NaN\"",
        "\"Infinity\"",
        "1e20",
        "\"1e20\"",
        "18446744073709551616",
        "1000000.01",
        "1000001",
        "\"1000000.01\"",
        "99999999999999999999999",
        "null",
        "true",
        "[]",
        "{}",
        "[12]",
        "-0",
        "\"-0.00\"",
        "\"1,000\"",
        "\"0x10\"",
        "\"1_000\"",
        "\"\\uff11\\uff12\"",
        "\"$5\"",
        "\"5 EUR\"",
    ];
    for raw in bad {
        let body = format!(r#"{{"title":"Bad price","price":{raw}}}"#);
        let r = app.post_text("/api/tickets", Auth::Bearer(&u), &body).await;
        assert_eq!(r.status, 400, "price {raw} was not refused: {}", r.text);
        // The message says why (input_rules.rs); the old client relies on
        // the status and the field.
        r.error(400, None, Some("price"));
    }
    app.post(
        "/api/tickets",
        Auth::Bearer(&u),
        json!({"title": "No price"}),
    )
    .await
    .error(400, None, Some("price"));
    assert!(
        app.all_tickets().await.is_empty(),
        "no invalid ticket was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn title_and_price_errors_come_one_per_field() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let r = app
        .post(
            "/api/tickets",
            Auth::Bearer(&u),
            json!({"title": "", "price": -1}),
        )
        .await;
    r.error(400, Some("Title is required"), Some("title"));
    r.error(400, Some("Price must be greater than 0"), Some("price"));
    assert_eq!(r.error_fields().len(), 2, "{}", r.text);
}

/// "at most two decimals ... stored exactly, never as floats": a JSON number
/// whose literal has a non-zero third decimal is refused, even when a float
/// would round it to two decimals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_numbers_with_hidden_extra_decimals_are_refused() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for raw in [
        "12.500000000000000001",
        "19.990000000000001",
        "0.10000000000000001",
    ] {
        let body = format!(r#"{{"title":"Sneaky","price":{raw}}}"#);
        let r = app.post_text("/api/tickets", Auth::Bearer(&u), &body).await;
        assert_eq!(r.status, 400, "price {raw} accepted as {}", r.body["price"]);
        r.error(
            400,
            Some("Price must have at most 2 decimals"),
            Some("price"),
        );
    }
}
