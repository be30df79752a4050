//! Property test: arbitrary JSON, arbitrary bytes, odd content types and odd
//! credentials thrown at every route of a real server. Whatever arrives, the
//! answer is never a 5xx, every 4xx carries the contract's error body, and
//! the server keeps answering.

use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{json, Value};
use ticketing::config::Settings;
use ticketing::{App, RunningApp};

/// One server for all cases, with a seller, a buyer, a ticket and an order.
struct Fixture {
    rt: tokio::runtime::Runtime,
    base: String,
    client: reqwest::Client,
    token: String,
    ticket: String,
    order: String,
    _app: RunningApp,
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut settings = Settings::for_tests(dir.path(), 600);
        settings.limits.auth_per_addr = 1_000_000;
        settings.limits.failed_signins_per_email = 1_000_000;
        let app = rt.block_on(App::start(settings)).unwrap();
        let base = format!("http://{}", app.addr());
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let (token, ticket, order) = rt.block_on(async {
            let signup = |email: &'static str| {
                let client = client.clone();
                let base = base.clone();
                async move {
                    let v: Value = client
                        .post(format!("{base}/api/users/signup"))
                        .json(&json!({"email": email, "password": "password1"}))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    v["token"].as_str().unwrap().to_owned()
                }
            };
            let seller = signup("seller@example.com").await;
            let buyer = signup("buyer@example.com").await;
            let post = |token: String, path: &'static str, body: Value| {
                let client = client.clone();
                let base = base.clone();
                async move {
                    let v: Value = client
                        .post(format!("{base}{path}"))
                        .bearer_auth(token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    v["id"].as_str().unwrap().to_owned()
                }
            };
            let ticket = post(
                seller.clone(),
                "/api/tickets",
                json!({"title": "T", "price": 1}),
            )
            .await;
            let held = post(
                seller.clone(),
                "/api/tickets",
                json!({"title": "H", "price": 2}),
            )
            .await;
            let order = post(buyer.clone(), "/api/orders", json!({"ticketId": held})).await;
            (buyer, ticket, order)
        });
        Fixture {
            rt,
            base,
            client,
            token,
            ticket,
            order,
            _app: app,
            _dir: dir,
        }
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,300}".prop_map(Value::from),
        prop_oneof![
            Just("tok_visa"),
            Just("tok_chargeDeclined"),
            Just("12.50"),
            Just("2026-11-24T18:30:00Z"),
            Just("ann@example.com"),
            Just("0123456789abcdef"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::hash_map(
                prop_oneof![
                    Just("email".to_owned()),
                    Just("password".to_owned()),
                    Just("title".to_owned()),
                    Just("price".to_owned()),
                    Just("date".to_owned()),
                    Just("ticketId".to_owned()),
                    Just("orderId".to_owned()),
                    Just("token".to_owned()),
                    "[a-z]{1,12}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Bytes(Vec<u8>),
    None,
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => json_value().prop_map(Body::Json),
        2 => prop::collection::vec(any::<u8>(), 0..512).prop_map(Body::Bytes),
        1 => Just(Body::None),
    ]
}

fn route() -> impl Strategy<Value = (&'static str, String)> {
    let id = prop_oneof![
        Just("{ticket}".to_owned()),
        Just("{order}".to_owned()),
        Just("0123456789abcdef".to_owned()),
        "[ -~]{0,40}".prop_map(|s| s.replace(['/', '?', '#', '%', ' '], "")),
    ];
    (
        prop_oneof![
            Just("GET"),
            Just("POST"),
            Just("PUT"),
            Just("DELETE"),
            Just("PATCH")
        ],
        prop_oneof![
            Just("/api/users/signup".to_owned()),
            Just("/api/users/signin".to_owned()),
            Just("/api/users/signout".to_owned()),
            Just("/api/users/currentuser".to_owned()),
            Just("/api/tickets".to_owned()),
            Just("/api/tickets?status=any&limit=5".to_owned()),
            "/api/tickets\\?[a-z=&0-9%]{0,40}".prop_map(|s| s),
            id.clone().prop_map(|i| format!("/api/tickets/{i}")),
            Just("/api/orders".to_owned()),
            id.prop_map(|i| format!("/api/orders/{i}")),
            Just("/api/payments".to_owned()),
            Just("/healthz".to_owned()),
            "/[a-z/]{0,30}".prop_map(|s| s),
        ],
    )
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        4 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(Some("text/plain")),
        1 => Just(Some("application/x-www-form-urlencoded")),
        1 => Just(None),
    ]
}

fn credentials() -> impl Strategy<Value = u8> {
    0u8..4
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("FUZZ_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1500),
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_input_gets_a_5xx_and_every_error_has_the_contract_shape(
        (method, path) in route(),
        body in body(),
        ct in content_type(),
        creds in credentials(),
    ) {
        let f = fixture();
        let path = path.replace("{ticket}", &f.ticket).replace("{order}", &f.order);
        let (status, bytes) = f.rt.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let mut rb = f.client.request(method, format!("{}{}", f.base, path));
            rb = match creds {
                0 => rb,
                1 => rb.bearer_auth(&f.token),
                2 => rb.bearer_auth("not.a.token"),
                _ => rb.header("cookie", format!("session={}x", f.token)),
            };
            if let Some(ct) = ct {
                rb = rb.header("content-type", ct);
            }
            rb = match &body {
                Body::Json(v) => rb.body(v.to_string()),
                Body::Bytes(b) => rb.body(b.clone()),
                Body::None => rb,
            };
            let res = rb.send().await.expect("the server answers");
            let status = res.status().as_u16();
            (status, res.bytes().await.expect("a whole body"))
        });
        prop_assert!(status < 500, "{method} {path} -> {status}: {}", String::from_utf8_lossy(&bytes));
        if status >= 400 && path.starts_with("/api/") {
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| TestCaseError::fail(format!("{method} {path} -> {status}: not JSON: {e}")))?;
            let errors = v["errors"].as_array().cloned().unwrap_or_default();
            prop_assert!(!errors.is_empty(), "{method} {path} -> {status}: {v}");
            for e in errors {
                prop_assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
            }
        }
    }
}
