//! The snapshot on connect: exactly the full ticket list.

use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;

use super::support::*;
use crate::helpers::*;

/// The snapshot is exactly GET /api/tickets?status=any (all pages): every ticket
/// not deleted, in every state, in the full ticket shape, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_snapshot_is_exactly_the_full_ticket_list() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let other = app.signup().await;
    let buyer = app.signup().await;

    // More than one page of the list (1,000) so a capped snapshot shows.
    let mut set = JoinSet::new();
    for w in 0..8 {
        let (api, s) = (app.api.clone(), seller.clone());
        set.spawn(async move {
            for i in 0..132 {
                api.create_ticket(&s, &format!("Bulk {w}-{i}"), json!(i + 1))
                    .await;
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    let dated = app
        .post(
            "/api/tickets",
            Auth::Bearer(&other),
            json!({"title": "Dated", "price": "12.50", "date": "2026-11-24T18:30:00Z"}),
        )
        .await
        .json(201);
    let edited = app.create_ticket(&other, "Before edit", json!(3)).await;
    app.put(
        &format!("/api/tickets/{}", id_of(&edited)),
        Auth::Bearer(&other),
        json!({"title": "After edit", "price": "4.04"}),
    )
    .await
    .expect(200);
    let held = app.create_ticket(&other, "Held", json!(5)).await;
    app.reserve(&buyer, &id_of(&held)).await;
    let sold = app.create_ticket(&other, "Sold", json!(6)).await;
    let o = app.reserve(&buyer, &id_of(&sold)).await;
    app.pay(&buyer, &id_of(&o)).await;
    let released = app.create_ticket(&other, "Released", json!(7)).await;
    let o = app.reserve(&buyer, &id_of(&released)).await;
    app.cancel(&buyer, &id_of(&o)).await;
    let gone = app.create_ticket(&other, "Gone", json!(8)).await;
    app.delete(
        &format!("/api/tickets/{}", id_of(&gone)),
        Auth::Bearer(&other),
    )
    .await
    .expect(204);

    let mut ws = connect(&app).await;
    let snap = json_within(&mut ws, Duration::from_secs(10), "snapshot").await;
    assert_eq!(snap["type"], json!("snapshot"));
    assert_eq!(
        snap.as_object().unwrap().len(),
        2,
        "snapshot is {{type, tickets}}"
    );
    let tickets = snap["tickets"].as_array().expect("tickets array").clone();
    let list = all_tickets_paged(&app.api).await;
    assert_eq!(list.len(), 8 * 132 + 5, "setup: the list has every ticket");
    assert_eq!(
        tickets.len(),
        list.len(),
        "snapshot holds as many tickets as GET ?status=any"
    );
    let (snap_map, list_map) = (by_id(&tickets), by_id(&list));
    assert_eq!(
        snap_map.len(),
        tickets.len(),
        "no ticket twice in the snapshot"
    );
    assert!(
        !snap_map.contains_key(&id_of(&gone)),
        "deleted ticket in the snapshot"
    );
    for (id, t) in &list_map {
        assert_eq!(
            snap_map.get(id),
            Some(t),
            "snapshot entry of ticket {id} differs from the list"
        );
    }
    let keys = [
        "id", "title", "price", "date", "userId", "version", "status", "orderId", "eventId", "seat",
    ];
    for t in &tickets {
        let obj = t.as_object().unwrap();
        assert_eq!(obj.len(), keys.len(), "ticket shape: {t}");
        for k in keys {
            assert!(obj.contains_key(k), "snapshot ticket without {k}: {t}");
        }
    }
    // Each special one equals GET /:id.
    for t in [&dated, &edited, &held, &sold, &released] {
        let id = id_of(t);
        assert_eq!(snap_map[&id], app.ticket(&id).await, "ticket {id}");
    }
    assert_eq!(
        snap_map[&id_of(&dated)]["date"],
        json!("2026-11-24T18:30:00Z")
    );
    assert_eq!(snap_map[&id_of(&edited)]["title"], json!("After edit"));
    assert_eq!(snap_map[&id_of(&held)]["status"], json!("reserved"));
    assert_eq!(snap_map[&id_of(&sold)]["status"], json!("sold"));
    assert_eq!(snap_map[&id_of(&released)]["status"], json!("available"));
    assert_eq!(version_of(&snap_map[&id_of(&released)]), 2);
    ws.close(None).await.ok();
}
