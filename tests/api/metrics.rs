//! `GET /metrics`: the Prometheus page shows what the server did.

use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_flushes_payments_and_show_state() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let ticket = app.create_ticket(&seller, "Metered", json!(10)).await;
    let order = app.reserve(&buyer, ticket["id"].as_str().unwrap()).await;
    app.pay(&buyer, order["id"].as_str().unwrap()).await;
    app.get("/api/tickets/0000000000000000", Auth::None)
        .await
        .expect(404);

    let res = plain_client()
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let page = res.text().await.unwrap();
    for needle in [
        r#"http_requests_total{method="POST",route="/api/tickets",status="201"}"#,
        r#"http_requests_total{method="GET",route="/api/tickets/:id",status="404"}"#,
        "http_request_seconds_bucket",
        r#"payments_total{outcome="charged"}"#,
        "storage_flushes_total",
        "storage_flush_batches_bucket",
        r#"tickets{status="sold"}"#,
        r#"orders{status="complete"}"#,
        "holds_active",
        "live_subscribers",
        "storage_writable 1",
    ] {
        assert!(page.contains(needle), "/metrics lacks {needle}:\n{page}");
    }
}
