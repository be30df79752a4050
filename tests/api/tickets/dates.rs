//! Dates: optional, RFC 3339, returned in UTC; an empty string refused,
//! and extreme dates refused or kept as the same instant.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_are_optional_rfc3339_and_returned_in_utc() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let post = |date: Value| {
        let app = &app;
        let u = &u;
        async move {
            app.post(
                "/api/tickets",
                Auth::Bearer(u),
                json!({"title": "Dated", "price": 10, "date": date}),
            )
            .await
        }
    };
    let t = post(json!("2026-11-24T18:30:00Z")).await.json(201);
    assert_eq!(t["date"], json!("2026-11-24T18:30:00Z"));
    assert_eq!(
        app.ticket(&id_of(&t)).await["date"],
        json!("2026-11-24T18:30:00Z")
    );
    let t = post(json!("2026-11-24T19:30:00+01:00")).await.json(201);
    let d = t["date"].as_str().expect("date string");
    assert_eq!(
        parse_time(d),
        parse_time("2026-11-24T18:30:00Z"),
        "same instant"
    );
    assert!(d.ends_with('Z'), "times are returned in UTC: {d}");
    let t = post(Value::Null).await.json(201);
    assert_eq!(t["date"], Value::Null);

    for bad in [
        json!("tomorrow"),
        json!("2026-13-01T00:00:00Z"),
        json!("2026-02-30T00:00:00Z"),
        json!("2026-11-24"),
        json!("2026-11-24 18:30"),
        json!("24/11/2026"),
        json!(1764009000),
        json!(true),
        json!({"date": "2026-11-24T18:30:00Z"}),
    ] {
        post(bad).await.error(400, None, Some("date"));
    }
    assert_eq!(app.all_tickets().await.len(), 3);
}

/// `""` is neither an RFC 3339 time nor an absent date.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_date_string_is_refused() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for date in ["", "   "] {
        app.post(
            "/api/tickets",
            Auth::Bearer(&u),
            json!({"title": "Dated", "price": 10, "date": date}),
        )
        .await
        .error(400, None, Some("date"));
    }
}

/// A date is refused, or kept as a valid RFC 3339 string for the same
/// instant: never accepted and then shown as something else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_dates_are_refused_or_kept_exactly() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let mut wrong = Vec::new();
    for date in [
        "0000-01-01T00:30:00+01:00",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "1969-12-31T23:59:59.999Z",
    ] {
        let r = app
            .post(
                "/api/tickets",
                Auth::Bearer(&u),
                json!({"title": "Edge", "price": 1, "date": date}),
            )
            .await;
        match r.status {
            201 => {
                let got = r.body["date"]
                    .as_str()
                    .unwrap_or("<not a string>")
                    .to_string();
                match time::OffsetDateTime::parse(
                    &got,
                    &time::format_description::well_known::Rfc3339,
                ) {
                    Ok(parsed) if parsed == parse_time(date) => {
                        assert_eq!(app.ticket(&id_of(&r.body)).await["date"], json!(got));
                    }
                    _ => wrong.push(format!("{date} accepted, returned as {got:?}")),
                }
            }
            400 => {
                r.error(400, None, Some("date"));
            }
            s => panic!("{date}: unexpected {s}: {}", r.text),
        }
    }
    assert!(wrong.is_empty(), "dates accepted but not kept: {wrong:#?}");
}
