//! The input rules the outside attack of issue 12 got past: prices written
//! with an exponent, and what each refused price is told; titles of
//! invisible characters only; emails with invisible characters, which made
//! lookalike accounts.

use serde_json::json;

use crate::helpers::*;

/// POSTs a ticket whose `price` is the JSON text `raw`.
async fn create_priced(app: &Api, u: &User, raw: &str) -> Resp {
    let body = format!(r#"{{"title":"Priced","price":{raw}}}"#);
    app.post_text("/api/tickets", Auth::Bearer(u), &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prices_with_an_exponent_are_exact() {
    let app = spawn_app().await;
    let u = app.signup().await;
    // (literal, the price as the server writes it back)
    let cases = [
        ("1e6", "1000000"),
        ("1E2", "100"),
        ("1e+2", "100"),
        ("1.5e1", "15"),
        ("1e-2", "0.01"),
        ("12.5E0", "12.5"),
        ("1000e-3", "1"),
        ("100e-2", "1"),
        ("9999e-2", "99.99"),
        ("0.5e1", "5"),
        ("1.005e1", "10.05"),
        ("0.000001e8", "100"),
        ("\"1e3\"", "1000"),
        ("\" 1.5E1 \"", "15"),
    ];
    for (raw, expected) in cases {
        let t = create_priced(&app, &u, raw).await.json(201);
        assert_eq!(t["price"].to_string(), expected, "price {raw}");
        let stored = app.ticket(&id_of(&t)).await;
        assert_eq!(stored["price"].to_string(), expected, "stored price {raw}");
    }
    // Edits read prices the same way.
    let t = app.create_ticket(&u, "Edited", json!(1)).await;
    let r = app
        .put(
            &format!("/api/tickets/{}", id_of(&t)),
            Auth::Bearer(&u),
            json!({"title": "Edited", "price": 2.5e1}),
        )
        .await
        .json(200);
    assert_eq!(r["price"], json!(25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_prices_say_why_on_the_price_field() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let cases: &[(&str, &[&str])] = &[
        (
            "Price must be greater than 0",
            &[
                "0", "0.00", "0e5", "-5", "-1e2", "-0.001", "\"-5\"", "-0", "\"0\"",
            ],
        ),
        (
            "Price must have at most 2 decimals",
            &[
                "1e-3",
                "1.005",
                "0.001",
                "\"1.005\"",
                "1.23456e2",
                "12.500000000000000001",
            ],
        ),
        (
            "Price must be at most 1,000,000",
            &[
                "1e7",
                "1000000.01",
                "1000001",
                "1e20",
                "1e300",
                "18446744073709551616",
                "99999999999999999999999",
                "\"1e999999999999999999999\"",
            ],
        ),
        (
            "Price must be a number",
            &[
                "\"abc\"",
                "\"\"",
                "\" \"",
                "\"12.5.0\"",
                "\"NaN\"",
                "\"Infinity\"",
                "true",
                "[]",
                "{}",
                "[12]",
                "\"1,000\"",
                "\"0x10\"",
                "\"1_000\"",
                "\"$5\"",
                "\"5 EUR\"",
                "\"e5\"",
                "\"1e\"",
                "\"1e+\"",
                "\".5\"",
                "\"+5\"",
                "\"\\uff11\\uff12\"",
            ],
        ),
    ];
    for (message, raws) in cases {
        for raw in *raws {
            let r = create_priced(&app, &u, raw).await;
            r.error(400, Some(message), Some("price"));
            assert_eq!(r.error_fields(), ["price"], "price {raw}: {}", r.text);
        }
    }
    for body in [
        json!({"title": "No price"}),
        json!({"title": "Null", "price": null}),
    ] {
        app.post("/api/tickets", Auth::Bearer(&u), body)
            .await
            .error(400, Some("Price is required"), Some("price"));
    }
    assert!(
        app.all_tickets().await.is_empty(),
        "no refused price was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn titles_of_invisible_characters_only_are_refused() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for blank in [
        "\u{200b}",
        "\u{feff}",
        " \u{200b} \u{feff} ",
        "\u{2060}",
        "\u{00ad}",
        "\u{200d}\u{200c}",
        "\u{202e}",
        "\u{2028}",
        "\u{3164}",
        "\u{fe0f}",
        "\u{e0041}",
    ] {
        app.post(
            "/api/tickets",
            Auth::Bearer(&u),
            json!({"title": blank, "price": 10}),
        )
        .await
        .error(400, Some("Title is required"), Some("title"));
    }
    assert!(app.all_tickets().await.is_empty());
    // Invisible characters at the ends are trimmed; what they join inside,
    // and the selectors and tags that end an emoji, are kept.
    for (title, kept) in [
        ("\u{feff}Concert\u{200b}", "Concert"),
        ("\u{200b}  Jazz \u{2060}", "Jazz"),
        ("Live\u{200d}", "Live"),
        ("Rock \u{2764}\u{fe0f}", "Rock \u{2764}\u{fe0f}"),
        (
            "Scotland \u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}",
            "Scotland \u{1f3f4}\u{e0067}\u{e0062}\u{e0073}\u{e0063}\u{e0074}\u{e007f}",
        ),
        (
            "Family \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}",
            "Family \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}",
        ),
    ] {
        let t = app
            .post(
                "/api/tickets",
                Auth::Bearer(&u),
                json!({"title": title, "price": 10}),
            )
            .await
            .json(201);
        assert_eq!(t["title"], json!(kept), "title {title:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_with_invisible_characters_are_refused() {
    let app = spawn_app().await;
    let ann = app.signup_as("ann@example.com", "password123").await;
    for lookalike in [
        "ann\u{200b}@example.com",
        "\u{200b}ann@example.com",
        "ann@exa\u{200d}mple.com",
        "ann@example.com\u{feff}",
        "\u{feff}ann@example.com",
        "ann\u{00ad}@example.com",
        "ann\u{2060}@example.com",
        "ann\u{202e}@example.com",
        "ann\u{200e}@example.com",
        "ann\u{e0041}@example.com",
        "ann\u{3164}@example.com",
        "ann\u{fe0f}@example.com",
        "ann\u{2028}@example.com",
        "ann\u{2029}@example.com",
        "ann\u{0085}@example.com",
    ] {
        app.signup_raw(&plain_client(), lookalike, "password123")
            .await
            .error(400, Some("Email must be valid"), Some("email"));
        app.signin_raw(&plain_client(), lookalike, "password123")
            .await
            .error(400, None, Some("email"));
    }
    // The real account is untouched and the only one.
    let again = app.signin("ann@example.com", "password123").await;
    assert_eq!(again.id, ann.id);
    app.signup_raw(&plain_client(), "ann@example.com", "password123")
        .await
        .error(400, Some("Email in use"), None);
}
