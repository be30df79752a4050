//! The entry's WebSocket: 401 and 404 before the upgrade; the entry at
//! once, then an admission pushed promptly; the line's moves at most about
//! once a second, the last one too; the unchanged entry again at
//! least every 10 s while waiting; closed when the event is deleted and at
//! shutdown.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::*;

pub(super) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to `eid`'s queue socket with `auth`: the socket, or the HTTP
/// status that refused the upgrade.
pub(super) async fn connect(app: &TestApp, eid: &str, auth: Auth<'_>) -> Result<Ws, u16> {
    connect_from(app, eid, auth, None).await
}

/// As [`connect`], sending `origin` as the upgrade's `Origin`, if any.
pub(super) async fn connect_from(
    app: &TestApp,
    eid: &str,
    auth: Auth<'_>,
    origin: Option<&str>,
) -> Result<Ws, u16> {
    let url = format!("ws://{}/api/events/{eid}/queue/live", app.addr);
    let mut req = url.into_client_request().unwrap();
    let headers = req.headers_mut();
    if let Some(origin) = origin {
        headers.insert("origin", origin.parse().unwrap());
    }
    match auth {
        Auth::None => {}
        Auth::Bearer(u) => {
            headers.insert(
                "authorization",
                format!("Bearer {}", u.token).parse().unwrap(),
            );
        }
        Auth::Cookie(u) => {
            headers.insert("cookie", format!("session={}", u.token).parse().unwrap());
        }
        _ => unreachable!("not used here"),
    }
    let connected = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(req),
    )
    .await
    .expect("an answer in time");
    match connected {
        Ok((ws, _)) => Ok(ws),
        Err(WsError::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("connect: {e}"),
    }
}

/// The next message within `within`: JSON, or `None` when the server
/// closed the session.
pub(super) async fn next_within(ws: &mut Ws, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("a message within {within:?}"));
        match msg {
            None | Some(Ok(Message::Close(_))) | Some(Err(_)) => return None,
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn refused_before_the_upgrade_without_a_session_or_an_entry() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 5).await;
    let ann = app.signup().await;
    assert_eq!(connect(&app, &eid, Auth::None).await.err(), Some(401));
    // Signed in but not in line; no such event; not an event id.
    assert_eq!(
        connect(&app, &eid, Auth::Bearer(&ann)).await.err(),
        Some(404)
    );
    assert_eq!(
        connect(&app, "0000000000000001", Auth::Bearer(&ann))
            .await
            .err(),
        Some(404)
    );
    assert_eq!(
        connect(&app, "nope", Auth::Bearer(&ann)).await.err(),
        Some(404)
    );
    // A plain GET (no upgrade) is no route.
    app.get(&format!("{}/live", queue_path(&eid)), Auth::Bearer(&ann))
        .await
        .error(404, None, None);
    // In line: cookie and Bearer alike get the entry first.
    let e = join(&app, &ann, &eid).await;
    for auth in [Auth::Bearer(&ann), Auth::Cookie(&ann)] {
        let mut ws = connect(&app, &eid, auth).await.expect("upgraded");
        assert_eq!(
            next_within(&mut ws, Duration::from_secs(5)).await,
            Some(e.clone())
        );
    }
}

#[tokio::test]
async fn the_entry_comes_first_then_the_admission_promptly() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 10).await;
    open_sale(&app);
    let (ann, bob) = (app.signup().await, app.signup().await);
    join(&app, &ann, &eid).await;
    join(&app, &bob, &eid).await;
    let a = entry_becomes(&app, &ann, &eid, "admitted").await;
    let mut ws = connect(&app, &eid, Auth::Bearer(&bob))
        .await
        .expect("upgraded");
    let first = next_within(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_shape(&first, &eid, "waiting");
    assert_eq!(first["position"], 2);
    assert_eq!(first["ahead"], 0);

    let o = order(&app, &ann, &eid, 1, &a["pass"]).await.json(201);
    app.pay(&ann, &id_of(&o)).await;
    // Whatever else comes first, the admission arrives within ACT_WITHIN
    // (one tick of the line, then at once: not held back by the throttle).
    let admitted = eventually_msg(&mut ws, ACT_WITHIN, |m| m["status"] == "admitted").await;
    assert_shape(&admitted, &eid, "admitted");
    assert_eq!(admitted, entry(&app, &bob, &eid).await);
}

#[tokio::test]
async fn a_moving_line_is_sent_at_most_once_a_second_and_its_last_move_arrives() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 10).await;
    open_sale(&app);
    let mut buyers = Vec::new();
    for _ in 0..4 {
        let b = app.signup().await;
        join(&app, &b, &eid).await;
        buyers.push(b);
    }
    let watcher = app.signup().await;
    join(&app, &watcher, &eid).await;
    entry_becomes(&app, &buyers[0], &eid, "admitted").await;
    let mut ws = connect(&app, &eid, Auth::Bearer(&watcher))
        .await
        .expect("upgraded");
    let mut last = next_within(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(last["ahead"], 3);
    let mut last_at = std::time::Instant::now();
    // Two buyers buy one after the other: the line moves twice, quickly,
    // then stands still with one buyer shopping and one waiting ahead.
    for b in &buyers[..2] {
        let a = entry_becomes(&app, b, &eid, "admitted").await;
        let o = order(&app, b, &eid, 1, &a["pass"]).await.json(201);
        app.pay(b, &id_of(&o)).await;
    }
    entry_becomes(&app, &buyers[2], &eid, "admitted").await;
    // Each move reaches the watcher, never two within about a second, and
    // the last one arrives although nothing moves after it.
    while last["ahead"] != 1 {
        let m = next_within(&mut ws, Duration::from_secs(5))
            .await
            .expect("the socket stays open");
        assert_eq!(m["status"], "waiting", "{m}");
        assert!(
            m["ahead"].as_u64() < last["ahead"].as_u64(),
            "each message moved on: {last} then {m}"
        );
        assert!(
            last_at.elapsed() >= Duration::from_millis(800),
            "a waiting entry at most about once a second"
        );
        (last, last_at) = (m, std::time::Instant::now());
    }
    assert_eq!(last, entry(&app, &watcher, &eid).await);
}

#[tokio::test]
async fn a_waiting_entry_is_sent_again_at_least_every_ten_seconds() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 5).await;
    let ann = app.signup().await;
    let e = join(&app, &ann, &eid).await;
    let mut ws = connect(&app, &eid, Auth::Bearer(&ann))
        .await
        .expect("upgraded");
    assert_eq!(
        next_within(&mut ws, Duration::from_secs(5)).await,
        Some(e.clone())
    );
    let started = std::time::Instant::now();
    assert_eq!(next_within(&mut ws, Duration::from_secs(12)).await, Some(e));
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "not sooner than needed"
    );
}

#[tokio::test]
async fn the_session_ends_at_shutdown() {
    let mut app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let org = app.signup().await;
    let ann = app.signup().await;
    let eid = queued_event(&app, &org, 5).await;
    join(&app, &ann, &eid).await;
    let mut ws = connect(&app, &eid, Auth::Bearer(&ann))
        .await
        .expect("upgraded");
    next_within(&mut ws, Duration::from_secs(5)).await.unwrap();
    app.stop().await;
    assert_eq!(
        next_within(&mut ws, Duration::from_secs(5)).await,
        None,
        "closed"
    );
}

#[tokio::test]
async fn the_session_ends_when_the_event_is_deleted() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let org = app.signup().await;
    let ann = app.signup().await;
    let eid = queued_event(&app, &org, 5).await;
    join(&app, &ann, &eid).await;
    let mut ws = connect(&app, &eid, Auth::Bearer(&ann))
        .await
        .expect("upgraded");
    next_within(&mut ws, Duration::from_secs(5)).await.unwrap();
    app.delete(&format!("/api/events/{eid}"), Auth::Bearer(&org))
        .await
        .expect(204);
    app.get(&queue_path(&eid), Auth::Bearer(&ann))
        .await
        .error(404, None, None);
    assert_eq!(next_within(&mut ws, ACT_WITHIN).await, None, "closed");
}

/// Reads messages until one satisfies `want`, within `within`.
pub(super) async fn eventually_msg(
    ws: &mut Ws,
    within: Duration,
    want: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let msg = next_within(ws, left).await.expect("still open");
        if want(&msg) {
            return msg;
        }
    }
}
