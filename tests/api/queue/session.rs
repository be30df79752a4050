//! The entry's WebSocket is its account's: a cookie-authenticated upgrade
//! from another origin is refused (403) as a cookie-authenticated write is,
//! and the socket closes (code 3000) once the session it was opened on is
//! signed out or expires, leaving other sessions' sockets alone.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use super::live::{connect, connect_from, eventually_msg, next_within, Ws};
use super::*;

/// The close code of a socket whose session ended.
const SESSION_ENDED: u16 = 3000;

/// The code of the close frame that ends `ws` within `within` (`None`: the
/// connection dropped without one). Fails on any entry sent first.
async fn close_code(ws: &mut Ws, within: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("still open after {within:?}"));
        match msg {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            None | Some(Err(_)) => return None,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("sent after the session ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_cookie_upgrade_from_another_origin_is_403() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 5).await;
    let ann = app.signup().await;
    let e = join(&app, &ann, &eid).await;
    let own = app.origin();
    let port = own.rsplit(':').next().unwrap().to_string();
    for foreign in [
        "http://evil.example".to_string(),
        "null".into(),
        format!("http://localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
        "http://127.0.0.1:1".into(),
    ] {
        assert_eq!(
            connect_from(&app, &eid, Auth::Cookie(&ann), Some(&foreign))
                .await
                .err(),
            Some(403),
            "cookie upgrade from {foreign}"
        );
    }
    // The own origin, no Origin (not a browser), and Bearer from anywhere
    // (no browser sends it by itself) are served.
    for (auth, origin) in [
        (Auth::Cookie(&ann), Some(own.as_str())),
        (Auth::Cookie(&ann), None),
        (Auth::Bearer(&ann), Some("http://evil.example")),
    ] {
        let mut ws = connect_from(&app, &eid, auth, origin)
            .await
            .unwrap_or_else(|s| panic!("origin {origin:?}: {s}"));
        assert_eq!(
            next_within(&mut ws, Duration::from_secs(5)).await,
            Some(e.clone())
        );
    }
}

#[tokio::test]
async fn signing_out_closes_that_sessions_sockets_only() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 10).await;
    open_sale(&app);
    let (ann, bob) = (app.signup().await, app.signup().await);
    join(&app, &ann, &eid).await;
    let a = entry_becomes(&app, &ann, &eid, "admitted").await;
    join(&app, &bob, &eid).await;
    // Bob's other session: a second signin.
    let bob_too = app.signin(&bob.email, &bob.password).await;
    let mut on_session = Vec::new();
    for auth in [Auth::Cookie(&bob), Auth::Bearer(&bob)] {
        let mut ws = connect_from(&app, &eid, auth, Some(&app.origin()))
            .await
            .expect("upgraded");
        next_within(&mut ws, Duration::from_secs(5)).await.unwrap();
        on_session.push(ws);
    }
    let mut other = connect(&app, &eid, Auth::Bearer(&bob_too))
        .await
        .expect("upgraded");
    next_within(&mut other, Duration::from_secs(5))
        .await
        .unwrap();
    // Ann's socket too, to see it untouched by Bob's signout.
    let mut anns = connect(&app, &eid, Auth::Bearer(&ann))
        .await
        .expect("upgraded");
    assert_eq!(
        next_within(&mut anns, Duration::from_secs(5)).await,
        Some(a.clone())
    );

    let out = app
        .post("/api/users/signout", Auth::Bearer(&bob), json!({}))
        .await;
    assert!(out.status < 300, "signout: {}", out.status);
    for ws in &mut on_session {
        assert_eq!(close_code(ws, ACT_WITHIN).await, Some(SESSION_ENDED));
    }
    // Ann buys; Bob is admitted, and his other session hears it.
    let o = order(&app, &ann, &eid, 1, &a["pass"]).await.json(201);
    app.pay(&ann, &id_of(&o)).await;
    let admitted = eventually_msg(&mut other, ACT_WITHIN, |m| m["status"] == "admitted").await;
    assert_eq!(admitted, entry(&app, &bob_too, &eid).await);
    let done = eventually_msg(&mut anns, ACT_WITHIN, |m| m["status"] == "done").await;
    assert_shape(&done, &eid, "done");
    // A new socket on the signed-out session is refused.
    assert_eq!(
        connect(&app, &eid, Auth::Bearer(&bob)).await.err(),
        Some(401)
    );
}

#[tokio::test]
async fn an_expired_session_closes_its_socket() {
    // Sessions end before the on-sale: the line stands still meanwhile.
    const SESSION_SECS: u64 = 30;
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.auth.session_secs = SESSION_SECS).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 5).await;
    let ann = app.signup().await;
    let e = join(&app, &ann, &eid).await;
    let mut ws = connect(&app, &eid, Auth::Bearer(&ann))
        .await
        .expect("upgraded");
    next_within(&mut ws, Duration::from_secs(5)).await.unwrap();
    // Still valid in its last second: the socket stays.
    app.clock().advance(Duration::from_secs(SESSION_SECS));
    assert_eq!(entry(&app, &ann, &eid).await, e);
    assert!(
        tokio::time::timeout(SETTLE, ws.next()).await.is_err(),
        "nothing before the session ends"
    );
    app.clock().advance(Duration::from_secs(1));
    assert_eq!(close_code(&mut ws, ACT_WITHIN).await, Some(SESSION_ENDED));
}
