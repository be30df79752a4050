//! The per-event live feed: a snapshot of the event and its seats in map
//! order, then one message per committed change carrying every seat it
//! touched (an order's seats together, on hold, expiry and payment), and
//! `deleted` when the event goes.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::*;
use crate::helpers::*;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, eid: &str) -> Ws {
    let url = format!("ws://{}/api/events/{eid}/live", app.addr);
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .expect("connect in time")
    .expect("connect");
    ws
}

/// The next message: JSON, or `None` when the server closed the session.
async fn next(ws: &mut Ws) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a message within 5 s");
        match msg {
            None | Some(Ok(Message::Close(_))) => return None,
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn seat_ids(msg: &Value) -> Vec<String> {
    msg["seats"].as_array().unwrap().iter().map(id_of).collect()
}

#[tokio::test]
async fn watchers_see_an_orders_seats_change_together() {
    let app = spawn_app_on_manual_clock(60, |_| {}).await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let eid = id_of(&e);
    let seats = all_seats(&app, &eid).await;
    let mut one = connect(&app, &eid).await;
    let mut two = connect(&app, &eid).await;
    for ws in [&mut one, &mut two] {
        let snap = next(ws).await.unwrap();
        assert_eq!(snap["type"], "snapshot");
        assert_eq!(snap["event"], e);
        assert_eq!(snap["seats"], json!(seats));
    }
    let buyer = app.signup().await;
    let want = ids(&seats[4..7]);
    let order = order_seats(&app, &buyer, &want).await.json(201);
    for ws in [&mut one, &mut two] {
        let msg = next(ws).await.unwrap();
        assert_eq!(msg["type"], "seats");
        assert_eq!(seat_ids(&msg), want, "the three seats in one message");
        for s in msg["seats"].as_array().unwrap() {
            assert_eq!(s["status"], "reserved");
            assert_eq!(s["orderId"], order["id"]);
        }
    }
    // The hold lapses: released in one message too.
    app.clock().advance(Duration::from_secs(61));
    for ws in [&mut one, &mut two] {
        let msg = next(ws).await.unwrap();
        assert_eq!(seat_ids(&msg), want);
        for s in msg["seats"].as_array().unwrap() {
            assert_eq!(s["status"], "available");
            assert_eq!(s["version"], 2);
        }
    }
    // Payment: one message with every seat sold.
    let order = order_seats(&app, &buyer, &want[..2]).await.json(201);
    assert_eq!(seat_ids(&next(&mut one).await.unwrap()), want[..2]);
    app.pay(&buyer, &id_of(&order)).await;
    let msg = next(&mut one).await.unwrap();
    assert_eq!(seat_ids(&msg), want[..2]);
    assert!(msg["seats"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["status"] == "sold"));
}

#[tokio::test]
async fn a_deleted_event_says_so_and_closes_and_unknown_ones_are_404() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let e = create_event(&app, &org, small_layout()).await;
    let eid = id_of(&e);
    let mut ws = connect(&app, &eid).await;
    assert_eq!(next(&mut ws).await.unwrap()["type"], "snapshot");
    app.delete(&format!("/api/events/{eid}"), Auth::Bearer(&org))
        .await
        .expect(204);
    assert_eq!(next(&mut ws).await, Some(json!({"type": "deleted"})));
    assert_eq!(next(&mut ws).await, None, "then the server closes");
    for id in [eid.as_str(), "0000000000000001", "nope"] {
        let url = format!("ws://{}/api/events/{id}/live", app.addr);
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 404),
            other => panic!("expected 404 before the upgrade, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_ticket_feed_does_not_carry_seats() {
    let app = spawn_app().await;
    let org = app.signup().await;
    let url = format!("ws://{}/api/tickets/live", app.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(next(&mut ws).await.unwrap()["tickets"], json!([]));
    let e = create_event(&app, &org, small_layout()).await;
    let seats = all_seats(&app, &id_of(&e)).await;
    let buyer = app.signup().await;
    order_seats(&app, &buyer, &ids(&seats[0..2]))
        .await
        .expect(201);
    let (_, lone) = app.some_ticket().await;
    let msg = next(&mut ws).await.unwrap();
    assert_eq!(
        msg["ticket"]["id"], lone["id"],
        "the first change it sends is the lone ticket"
    );
}
