//! What clients send: a request without the upgrade, and inbound messages
//! (small ones ignored, one over 4 KiB ends the session).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use super::support::*;
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_without_a_websocket_upgrade_is_a_json_4xx() {
    let app = spawn_app().await;
    let r = app.get("/api/tickets/live", Auth::None).await;
    assert!((400..500).contains(&r.status), "{} {}", r.status, r.text);
    r.error(r.status, None, None);
}

/// Small inbound messages (text, binary, ping) are ignored and the session goes
/// on; an inbound message over 4 KiB ends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_inbound_messages_are_ignored_and_one_over_4_kib_closes_the_session() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let mut ws = connect(&app).await;
    let snap = json_within(&mut ws, Duration::from_secs(5), "snapshot").await;
    assert_eq!(snap["type"], json!("snapshot"));

    ws.send(Message::text("hello")).await.unwrap();
    ws.send(Message::text(r#"{"type":"subscribe"}"#))
        .await
        .unwrap();
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    ws.send(Message::text("x".repeat(4096))).await.unwrap();
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let t = app.create_ticket(&seller, "Still live", json!(1)).await;
    let mut got_pong = false;
    let m = loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no message within 5 s after small inbound messages")
            .expect("session ended after small inbound messages")
            .expect("websocket error after small inbound messages");
        match msg {
            Message::Pong(p) => {
                assert_eq!(&p[..], b"are you there");
                got_pong = true;
            }
            Message::Text(t) => break serde_json::from_str::<Value>(t.as_str()).unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(m, json!({"type": "ticket", "ticket": t}));
    if !got_pong {
        // Not in the contract; only reported.
        got_pong = matches!(
            tokio::time::timeout(Duration::from_secs(1), ws.next()).await,
            Ok(Some(Ok(Message::Pong(_))))
        );
    }
    eprintln!("pong to the client's ping within 1 s: {got_pong}");

    // One byte over the cap: the session ends.
    ws.send(Message::text("y".repeat(4097))).await.unwrap();
    let why = expect_end(&mut ws, Duration::from_secs(5), "after 4097 bytes").await;
    eprintln!("session after an oversized message: {why}");

    // A bigger one, as binary, on a fresh session.
    let mut ws = connect(&app).await;
    json_within(&mut ws, Duration::from_secs(5), "snapshot").await;
    ws.send(Message::binary(vec![0u8; 64 * 1024])).await.ok();
    expect_end(&mut ws, Duration::from_secs(5), "after 64 KiB").await;

    // The server goes on.
    let mut ws = connect(&app).await;
    let snap = json_within(&mut ws, Duration::from_secs(5), "snapshot").await;
    assert_eq!(snap["tickets"], json!([t]));
    app.get("/healthz", Auth::None).await.expect(200);
}
