//! Nothing is visible before it is durable, and a refused commit leaves no
//! trace: the server's store is wrapped (`crate::gate`) so a test can hold commits
//! in flight or make them fail, and then checks what every reader sees:
//! GET, the lists, a live subscriber, signin, and the data after a restart.
//! (What the write-ahead log does with a failed flush underneath is tested
//! in `src/storage/wal`.)

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::gate::Controls;
use crate::helpers::*;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribe(app: &TestApp) -> (Ws, Value) {
    let url = format!("ws://{}/api/tickets/live", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("ws");
    let snapshot = next_message(&mut ws, Duration::from_secs(5))
        .await
        .expect("a snapshot");
    (ws, snapshot)
}

/// The next JSON message within `within`, or `None`.
async fn next_message(ws: &mut Ws, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return None,
            Ok(Some(Ok(Message::Text(t)))) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => panic!("live feed ended: {other:?}"),
        }
    }
}

/// Status and body of a request that may be answered 503.
async fn send(app: &TestApp, method: Method, path: &str, u: &User, body: Option<Value>) -> u16 {
    let mut rb = app.request(method, path, Auth::Bearer(u));
    if let Some(body) = body {
        rb = rb.json(&body);
    }
    rb.send().await.expect("request").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_is_seen_by_no_reader_until_it_is_durable() {
    let controls = Controls::new();
    let app = spawn_app_with_store_layer(controls.layer()).await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let t = app.create_ticket(&seller, "Before", json!(10)).await;
    let tid = id_of(&t);
    let (mut ws, _) = subscribe(&app).await;

    controls.hold().await;
    let before = controls.arrived.load(Ordering::SeqCst);
    let reserving = {
        let (api, buyer, tid) = (app.api.clone(), buyer.clone(), tid.clone());
        tokio::spawn(async move { api.reserve(&buyer, &tid).await })
    };
    eventually(
        Duration::from_secs(5),
        "the commit to reach the store",
        || {
            let n = controls.arrived.load(Ordering::SeqCst);
            async move { (n > before).then_some(()) }
        },
    )
    .await;
    // In flight, not durable: every reader still sees the ticket as it was.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = app.ticket(&tid).await;
    assert_eq!(seen["status"], json!("available"), "{seen}");
    assert_eq!(version_of(&seen), 0);
    let listed = app.get("/api/tickets", Auth::None).await.json(200);
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == json!(tid)));
    let orders = app.get("/api/orders", Auth::Bearer(&buyer)).await.json(200);
    assert_eq!(orders, json!([]), "no order before it is durable");
    assert_eq!(
        next_message(&mut ws, Duration::from_millis(300)).await,
        None,
        "nothing pushed live before it is durable"
    );
    assert!(!reserving.is_finished(), "acknowledged before durable");

    controls.release();
    let order = reserving.await.unwrap();
    let pushed = next_message(&mut ws, Duration::from_secs(5))
        .await
        .expect("the change, once durable");
    assert_eq!(pushed["ticket"]["status"], json!("reserved"), "{pushed}");
    assert_eq!(pushed["ticket"]["orderId"], order["id"]);
    assert_eq!(app.ticket(&tid).await["status"], json!("reserved"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_commit_leaves_no_trace_before_or_after_a_restart() {
    let controls = Controls::new();
    let mut app = spawn_app_with_store_layer(controls.layer()).await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let t = app.create_ticket(&seller, "Kept", json!(10)).await;
    let tid = id_of(&t);
    let held = app.create_ticket(&seller, "Held", json!(5)).await;
    let order = app.reserve(&buyer, &id_of(&held)).await;
    let (mut ws, _) = subscribe(&app).await;
    let email = unique_email();

    controls.refuse.store(true, Ordering::SeqCst);
    let path = format!("/api/tickets/{tid}");
    let edit = json!({"title": "Changed", "price": 99});
    assert_eq!(
        send(&app, Method::PUT, &path, &seller, Some(edit)).await,
        503
    );
    let reserve = json!({"ticketId": tid});
    assert_eq!(
        send(&app, Method::POST, "/api/orders", &buyer, Some(reserve)).await,
        503
    );
    let new = json!({"title": "New", "price": 1});
    assert_eq!(
        send(&app, Method::POST, "/api/tickets", &seller, Some(new)).await,
        503
    );
    assert_eq!(send(&app, Method::DELETE, &path, &seller, None).await, 503);
    let cancel = format!("/api/orders/{}", id_of(&order));
    assert_eq!(send(&app, Method::DELETE, &cancel, &buyer, None).await, 503);
    let pay = json!({"orderId": id_of(&order), "token": "tok_visa"});
    assert_eq!(
        send(&app, Method::POST, "/api/payments", &buyer, Some(pay)).await,
        503
    );
    let signup = app
        .http
        .post(app.url("/api/users/signup"))
        .json(&json!({"email": email, "password": "password1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status().as_u16(), 503);
    let signout = send(&app, Method::POST, "/api/users/signout", &buyer, None).await;
    assert_eq!(signout, 503);

    let check = |app: &TestApp| {
        let (api, tid, held, order, buyer) = (
            app.api.clone(),
            tid.clone(),
            id_of(&held),
            id_of(&order),
            buyer.clone(),
        );
        async move {
            let kept = api.ticket(&tid).await;
            assert_eq!(kept["title"], json!("Kept"), "{kept}");
            assert_eq!(kept["status"], json!("available"), "{kept}");
            assert_eq!(version_of(&kept), 0, "{kept}");
            let h = api.ticket(&held).await;
            assert_eq!(h["status"], json!("reserved"), "{h}");
            assert_eq!(version_of(&h), 1, "{h}");
            let all = api
                .get("/api/tickets?status=any", Auth::None)
                .await
                .json(200);
            let titles: Vec<&str> = all
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["title"].as_str().unwrap())
                .collect();
            assert_eq!(titles, ["Kept", "Held"], "no refused ticket listed");
            let o = api.order(&buyer, &order).await;
            assert_eq!(o["status"], json!("created"), "{o}");
            let mine = api.get("/api/orders", Auth::Bearer(&buyer)).await.json(200);
            assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
            // The refused signout did not end the session.
            assert_eq!(
                api.current_user(Auth::Bearer(&buyer)).await["id"],
                json!(buyer.id)
            );
        }
    };
    check(&app).await;
    let refused = app.signin_raw(&plain_client(), &email, "password1").await;
    refused.error(400, Some("Invalid credentials"), None);
    assert_eq!(
        next_message(&mut ws, Duration::from_millis(300)).await,
        None,
        "nothing refused is pushed live"
    );

    controls.refuse.store(false, Ordering::SeqCst);
    app.restart().await;
    check(&app).await;
    let refused = app.signin_raw(&plain_client(), &email, "password1").await;
    refused.error(400, Some("Invalid credentials"), None);
    // The refused signup did not keep the email taken, and the ticket's
    // versions go on from what is durable.
    app.signup_as(&email, "password1").await;
    let o = app.reserve(&buyer, &tid).await;
    assert_eq!(o["ticket"]["version"], json!(1), "{o}");
}
