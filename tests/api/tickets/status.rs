//! A ticket's status and version as orders come and go: reserved or sold,
//! it can be neither edited nor deleted, and every edit, reservation,
//! release and sale adds one to its version.

use super::*;

/// The seller's edit and delete of the ticket at `path`, over every
/// [`MODES`] of authentication, are refused with 400.
async fn refuse_edit_and_delete(app: &TestApp, path: &str, seller: &User) {
    for mode in MODES {
        app.put(
            path,
            mode.auth(seller),
            json!({"title": "Edited", "price": 99}),
        )
        .await
        .error(400, Some("Cannot edit a reserved ticket"), None);
        app.delete(path, mode.auth(seller))
            .await
            .error(400, None, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_or_sold_tickets_cannot_be_edited_or_deleted() {
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let id = id_of(&t);
    let path = format!("/api/tickets/{id}");
    let order = app.reserve(&buyer, &id).await;
    refuse_edit_and_delete(&app, &path, &seller).await;
    let reserved = app.ticket(&id).await;
    assert_eq!(reserved["status"], json!("reserved"));
    assert_eq!(version_of(&reserved), 1);

    app.pay(&buyer, &id_of(&order)).await;
    refuse_edit_and_delete(&app, &path, &seller).await;
    let sold = app.ticket(&id).await;
    assert_eq!(sold["status"], json!("sold"));
    assert_eq!(sold["title"], json!("Concert"));
    assert_eq!(version_of(&sold), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_grows_by_one_per_edit_reservation_release_and_sale() {
    let app = spawn_app().await;
    let (seller, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let id = id_of(&t);
    let check = |v: u64, status: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            let t = app.ticket(&id).await;
            assert_eq!(version_of(&t), v, "version in {t}");
            assert_eq!(t["status"], json!(status), "status in {t}");
            t
        }
    };
    check(0, "available").await;
    app.put(
        &format!("/api/tickets/{id}"),
        Auth::Bearer(&seller),
        json!({"title": "E", "price": 3}),
    )
    .await
    .expect(200);
    check(1, "available").await;
    let o1 = app.reserve(&buyer, &id).await;
    let t = check(2, "reserved").await;
    assert_eq!(t["orderId"], json!(id_of(&o1)));
    app.cancel(&buyer, &id_of(&o1)).await;
    let t = check(3, "available").await;
    assert_eq!(t["orderId"], Value::Null);
    let o2 = app.reserve(&buyer, &id).await;
    check(4, "reserved").await;
    // A declined card changes nothing.
    app.post(
        "/api/payments",
        Auth::Bearer(&buyer),
        json!({"orderId": id_of(&o2), "token": "tok_chargeDeclined"}),
    )
    .await
    .error(402, None, None);
    check(4, "reserved").await;
    app.pay(&buyer, &id_of(&o2)).await;
    let t = check(5, "sold").await;
    assert_eq!(t["orderId"], json!(id_of(&o2)));
}
