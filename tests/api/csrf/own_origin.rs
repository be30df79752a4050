//! What counts as the server's own origin: scheme, host and port must all
//! match; behind a trusted proxy its `X-Forwarded-Host` and
//! `X-Forwarded-Proto` decide, otherwise they are ignored; with secure
//! cookies the own scheme is https.

use super::*;

/// A signed-up user's POST of a new ticket with `origin` and `extra`
/// headers: the status.
async fn create_from(app: &Api, u: &User, origin: &str, extra: &[(&str, &str)]) -> u16 {
    let r = with_origin(
        app,
        u,
        Method::POST,
        "/api/tickets",
        origin,
        extra,
        Some(json!({"title": "Origin check", "price": 3})),
    )
    .await;
    if r.status == 403 {
        r.error(403, None, None);
    } else {
        r.expect(201);
    }
    r.status
}

/// An `Origin`, extra headers, and the status a cookie write with them gets.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16);

/// Runs each case as a ticket creation by `u`; exactly the 201s created one.
async fn expect_statuses(app: &TestApp, u: &User, cases: &[Case<'_>]) {
    let mut created = 0;
    for (origin, headers, expected) in cases {
        let status = create_from(app, u, origin, headers).await;
        assert_eq!(status, *expected, "Origin {origin} with {headers:?}");
        created += usize::from(status == 201);
    }
    assert_eq!(app.all_tickets().await.len(), created);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_host_and_proto_are_the_own_origin() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.limits.trust_forwarded_for = true).await;
    let seller = app.signup().await;
    let xfh = ("x-forwarded-host", "tickets.example.com");
    let https = ("x-forwarded-proto", "https");
    let cases: &[Case] = &[
        ("http://tickets.example.com", &[xfh], 201),
        ("http://tickets.example.com:80", &[xfh], 201),
        // The same Origin without the proxy header is foreign.
        ("http://tickets.example.com", &[], 403),
        // A forwarded host does not bless some other origin.
        ("http://evil.example", &[xfh], 403),
        // The proxy's last entry counts (earlier ones are the client's word).
        (
            "http://tickets.example.com",
            &[("x-forwarded-host", "evil.example, tickets.example.com")],
            201,
        ),
        (
            "http://evil.example",
            &[("x-forwarded-host", "evil.example, tickets.example.com")],
            403,
        ),
        // X-Forwarded-Proto says the scheme the browser used.
        ("https://tickets.example.com", &[xfh, https], 201),
        ("https://tickets.example.com:443", &[xfh, https], 201),
        ("http://tickets.example.com", &[xfh, https], 403),
        ("https://tickets.example.com", &[xfh], 403),
        ("https://tickets.example.com:8443", &[xfh, https], 403),
        (
            "https://tickets.example.com:8443",
            &[("x-forwarded-host", "tickets.example.com:8443"), https],
            201,
        ),
    ];
    expect_statuses(&app, &seller, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_host_and_proto_are_ignored_without_a_trusted_proxy() {
    let app = spawn_app().await;
    assert!(!app.settings.limits.trust_forwarded_for);
    let seller = app.signup().await;
    let own = app.origin();
    let authority = own.trim_start_matches("http://").to_owned();
    let cases: &[Case] = &[
        // The attack of issue 12: a forged X-Forwarded-Host blessed any Origin.
        (
            "http://evil.example",
            &[("x-forwarded-host", "evil.example")],
            403,
        ),
        (
            "http://tickets.example.com",
            &[("x-forwarded-host", "tickets.example.com")],
            403,
        ),
        (
            &format!("https://{authority}"),
            &[("x-forwarded-proto", "https")],
            403,
        ),
        // The request's own Host still decides.
        (&own, &[("x-forwarded-host", "evil.example")], 201),
        (&own, &[("x-forwarded-proto", "https")], 201),
    ];
    expect_statuses(&app, &seller, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_must_match_in_scheme_host_and_port() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let port = app.addr.port();
    let host = [("host", "tickets.example.com")];
    let cases: &[Case] = &[
        (&format!("http://127.0.0.1:{port}"), &[], 201),
        // The plain-HTTP server is not its https twin.
        (&format!("https://127.0.0.1:{port}"), &[], 403),
        (&format!("HTTP://127.0.0.1:{port}"), &[], 201),
        (&format!("ws://127.0.0.1:{port}"), &[], 403),
        (&format!("http://127.0.0.1:{port}/"), &[], 403),
        (&format!("http://user@127.0.0.1:{port}"), &[], 403),
        // Default ports: http is 80.
        ("http://tickets.example.com", &host, 201),
        ("http://tickets.example.com:80", &host, 201),
        ("http://TICKETS.example.com", &host, 201),
        ("https://tickets.example.com", &host, 403),
        ("https://tickets.example.com:443", &host, 403),
        ("http://tickets.example.com:443", &host, 403),
        ("http://tickets.example.com:8080", &host, 403),
    ];
    expect_statuses(&app, &seller, cases).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_secure_cookies_the_own_scheme_is_https() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.server.secure_cookies = true).await;
    let seller = app.signup().await;
    let port = app.addr.port();
    let host = [("host", "tickets.example.com")];
    let cases: &[Case] = &[
        (&format!("https://127.0.0.1:{port}"), &[], 201),
        (&format!("http://127.0.0.1:{port}"), &[], 403),
        ("https://tickets.example.com", &host, 201),
        ("https://tickets.example.com:443", &host, 201),
        ("http://tickets.example.com", &host, 403),
        ("http://tickets.example.com:443", &host, 403),
        // Not a trusted proxy: its word on the scheme does not count.
        (
            "http://tickets.example.com",
            &[
                ("host", "tickets.example.com"),
                ("x-forwarded-proto", "http"),
            ],
            403,
        ),
    ];
    expect_statuses(&app, &seller, cases).await;
}
