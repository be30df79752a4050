//! Order: a snapshot on connect then every change in version order, through
//! bursts and for clients that connect in the middle of one.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use super::support::*;
use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_sends_a_snapshot_then_every_change_in_order() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let kept = app.create_ticket(&seller, "Kept", json!(1)).await;
    let gone = app.create_ticket(&seller, "Gone", json!(2)).await;
    app.delete(
        &format!("/api/tickets/{}", id_of(&gone)),
        Auth::Bearer(&seller),
    )
    .await
    .expect(204);

    let mut ws = connect(&app).await;
    let snap = next_json(&mut ws).await;
    assert_eq!(snap["type"], json!("snapshot"), "{snap}");
    assert_eq!(
        snap["tickets"],
        json!([kept.clone()]),
        "snapshot holds every ticket not deleted"
    );

    let t = app.create_ticket(&seller, "New", json!("9.99")).await;
    let m = next_json(&mut ws).await;
    assert_eq!(m, json!({"type": "ticket", "ticket": t}));

    let o = app.reserve(&buyer, &id_of(&t)).await;
    let m = next_json(&mut ws).await;
    assert_eq!(m["type"], json!("ticket"));
    assert_eq!(m["ticket"], app.ticket(&id_of(&t)).await);
    assert_eq!(m["ticket"]["status"], json!("reserved"));
    assert_eq!(version_of(&m["ticket"]), 1);

    app.cancel(&buyer, &id_of(&o)).await;
    let m = next_json(&mut ws).await;
    assert_eq!(m["ticket"]["status"], json!("available"));
    assert_eq!(version_of(&m["ticket"]), 2);

    app.put(
        &format!("/api/tickets/{}", id_of(&t)),
        Auth::Bearer(&seller),
        json!({"title": "Renamed", "price": 3}),
    )
    .await
    .expect(200);
    let m = next_json(&mut ws).await;
    assert_eq!(m["ticket"]["title"], json!("Renamed"));
    assert_eq!(version_of(&m["ticket"]), 3);

    app.delete(
        &format!("/api/tickets/{}", id_of(&t)),
        Auth::Bearer(&seller),
    )
    .await
    .expect(204);
    let m = next_json(&mut ws).await;
    assert_eq!(m, json!({"type": "deleted", "id": id_of(&t)}));

    // Refused requests push nothing.
    app.post(
        "/api/orders",
        Auth::Bearer(&buyer),
        json!({"ticketId": id_of(&t)}),
    )
    .await
    .error(404, None, None);
    let quiet = tokio::time::timeout(Duration::from_millis(300), ws.next()).await;
    assert!(
        quiet.is_err(),
        "unexpected message after a refused request: {quiet:?}"
    );
    ws.close(None).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_changes_reaches_a_live_client_in_version_order() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let t = app.create_ticket(&seller, "Busy", json!(1)).await;
    let mut ws = connect(&app).await;
    let snap = next_json(&mut ws).await;
    assert_eq!(snap["type"], json!("snapshot"));
    for i in 0..50 {
        app.put(
            &format!("/api/tickets/{}", id_of(&t)),
            Auth::Bearer(&seller),
            json!({"title": format!("v{i}"), "price": 1}),
        )
        .await
        .expect(200);
    }
    // Either every update arrives in order, or (if the client lagged) a fresh
    // snapshot; in both cases the client ends at version 50.
    let mut last = 0;
    while last < 50 {
        let m = next_json(&mut ws).await;
        match m["type"].as_str() {
            Some("ticket") => {
                let v = version_of(&m["ticket"]);
                assert_eq!(
                    v,
                    last + 1,
                    "every change, in order, none skipped without a snapshot"
                );
                last = v;
            }
            Some("snapshot") => {
                let tk = m["tickets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["id"] == t["id"])
                    .cloned()
                    .unwrap();
                last = version_of(&tk);
            }
            _ => panic!("unexpected message {m}"),
        }
    }
    assert_eq!(last, 50);
}

/// Between the snapshot and the first pushed change nothing is lost or
/// repeated, even when the client connects in the middle of a burst.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_connecting_mid_burst_miss_nothing() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let t = app.create_ticket(&seller, "Hot", json!(1)).await;
    let tid = id_of(&t);
    const EDITS: u64 = 150;
    let writer = {
        let (api, s, tid) = (app.api.clone(), seller.clone(), tid.clone());
        tokio::spawn(async move {
            for i in 0..EDITS {
                api.put(
                    &format!("/api/tickets/{tid}"),
                    Auth::Bearer(&s),
                    json!({"title": format!("v{i}"), "price": 1}),
                )
                .await
                .expect(200);
            }
        })
    };
    let mut clients = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(40)).await;
        clients.push(connect(&app).await);
    }
    for (n, ws) in clients.iter_mut().enumerate() {
        let snap = next_json(ws).await;
        assert_eq!(snap["type"], json!("snapshot"));
        let mut last = snap["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == json!(tid))
            .map(version_of)
            .expect("ticket in snapshot");
        while last < EDITS {
            let m = next_json(ws).await;
            match m["type"].as_str() {
                Some("ticket") => {
                    let v = version_of(&m["ticket"]);
                    assert_eq!(v, last + 1, "client {n}: version {v} after {last}");
                    last = v;
                }
                Some("snapshot") => {
                    last = m["tickets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|x| x["id"] == json!(tid))
                        .map(version_of)
                        .unwrap();
                }
                _ => panic!("client {n}: unexpected {m}"),
            }
        }
    }
    writer.await.unwrap();
}
