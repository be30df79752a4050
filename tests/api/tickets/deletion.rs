//! `DELETE /api/tickets/{id}`: 204, then the ticket is gone from every
//! route; a ticket released by a cancelled order can be deleted.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_is_204_then_the_ticket_is_gone_everywhere() {
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    let other = app.signup().await;
    let id = id_of(&t);
    let path = format!("/api/tickets/{id}");

    app.delete(&path, Auth::None).await.error(401, None, None);
    for mode in MODES {
        app.delete(&path, mode.auth(&other))
            .await
            .error(401, None, None);
    }
    app.ticket(&id).await;

    let r = app.delete(&path, Auth::Cookie(&seller)).await;
    r.expect(204);
    assert!(r.text.is_empty(), "204 has no body: {:?}", r.text);
    app.get(&path, Auth::None).await.error(404, None, None);
    app.delete(&path, Auth::Bearer(&seller))
        .await
        .error(404, None, None);
    app.put(
        &path,
        Auth::Bearer(&seller),
        json!({"title": "Back", "price": 1}),
    )
    .await
    .error(404, None, None);
    app.post("/api/orders", Auth::Bearer(&other), json!({"ticketId": id}))
        .await
        .error(404, None, None);
    assert!(app.all_tickets().await.is_empty());
    let list = app.get("/api/tickets", Auth::None).await.json(200);
    assert_eq!(list, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_ticket_can_be_deleted_again() {
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let id = id_of(&t);
    let o = app.reserve(&buyer, &id).await;
    app.cancel(&buyer, &id_of(&o)).await;
    app.delete(&format!("/api/tickets/{id}"), Auth::Bearer(&seller))
        .await
        .expect(204);
    // The cancelled order still reads (it belonged to a deleted ticket).
    let r = app
        .get(&format!("/api/orders/{}", id_of(&o)), Auth::Bearer(&buyer))
        .await;
    assert!(r.status == 200 || r.status == 404, "{}", r.text);
    if r.status == 200 {
        assert_eq!(r.body["status"], json!("cancelled"));
    }
}
