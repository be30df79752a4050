//! The edge's part of what the core answers about seats: a seat's ticket
//! is changed only through its event, and the live seat map is 404 for no
//! such event and says `deleted`, then closes, when the event goes.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use tokio_tungstenite::tungstenite::Message;

use super::*;

/// Creates `valid_event` as `organizer`, and returns it with its seats.
async fn event_and_seats(app: &TestApp, organizer: &User) -> (Value, Vec<Value>) {
    let event = app
        .post("/api/events", Auth::Bearer(organizer), valid_event())
        .await
        .json(201);
    let seats = app
        .get(&format!("/api/events/{}/seats", id_of(&event)), Auth::None)
        .await
        .json(200);
    (event, seats.as_array().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_is_changed_only_through_its_event() {
    let app = spawn_app().await;
    let organizer = app.signup().await;
    let stranger = app.signup().await;
    let (_, seats) = event_and_seats(&app, &organizer).await;
    let seat = id_of(&seats[0]);
    let path = format!("/api/tickets/{seat}");
    let edit = json!({"title": "Mine now", "price": 1});
    // 401 without a session, before anything else.
    app.put(&path, Auth::None, edit.clone())
        .await
        .error(401, None, None);
    app.delete(&path, Auth::None).await.error(401, None, None);
    // The organiser and a stranger alike: the seat's rule comes before the
    // seller check, and before the body is read.
    const SEAT: &str = "Seats are changed through their event";
    for user in [&organizer, &stranger] {
        app.put(&path, Auth::Bearer(user), edit.clone())
            .await
            .error(400, Some(SEAT), None);
        app.call(Method::PUT, &path, Auth::Bearer(user), Some(json!({})))
            .await
            .error(400, Some(SEAT), None);
        app.delete(&path, Auth::Bearer(user))
            .await
            .error(400, Some(SEAT), None);
    }
    let after = app.get(&path, Auth::None).await.json(200);
    assert_eq!(after["version"], 0);
    assert_eq!(after["title"], "Gala");
}

/// The next WebSocket message: `Some(json)`, or `None` once the session
/// ended (close frame, end of stream or error).
async fn next_message(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("nothing within 5 s");
        match msg {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(other)) => panic!("unexpected message {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_seat_map_is_404_for_no_such_event() {
    let app = spawn_app().await;
    for id in ["nope", "0000000000000000"] {
        let url = format!("ws://{}/api/events/{id}/live", app.addr);
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                assert_eq!(res.status(), 404, "{id}")
            }
            other => panic!("{id}: expected a 404 before the upgrade, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_seat_map_says_deleted_and_closes_when_the_event_goes() {
    let app = spawn_app().await;
    let organizer = app.signup().await;
    let (event, seats) = event_and_seats(&app, &organizer).await;
    let url = format!("ws://{}/api/events/{}/live", app.addr, id_of(&event));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let snapshot = next_message(&mut ws).await.expect("a snapshot");
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["event"]["id"], event["id"]);
    assert_eq!(snapshot["seats"].as_array().unwrap().len(), seats.len());
    app.delete(
        &format!("/api/events/{}", id_of(&event)),
        Auth::Bearer(&organizer),
    )
    .await
    .expect(204);
    assert_eq!(
        next_message(&mut ws).await,
        Some(json!({"type": "deleted"}))
    );
    assert_eq!(next_message(&mut ws).await, None, "the server closes");
}
