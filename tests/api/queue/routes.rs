//! Every row of the waiting room's table: join (200, the same entry again,
//! 401, 404, 400 for an event without a queue, 403 across origins) and
//! read (200, 401, 404 when not in line).

use serde_json::json;

use super::*;

#[tokio::test]
async fn join_and_read_follow_the_table() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |_| {}).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 5).await;
    let path = queue_path(&eid);

    app.post(&path, Auth::None, json!({}))
        .await
        .error(401, None, None);
    app.get(&path, Auth::None).await.error(401, None, None);
    let ann = app.signup().await;
    for unknown in [
        "/api/events/0000000000000001/queue",
        "/api/events/nope/queue",
    ] {
        app.post(unknown, Auth::Bearer(&ann), json!({}))
            .await
            .error(404, None, None);
        app.get(unknown, Auth::Bearer(&ann))
            .await
            .error(404, None, None);
    }
    // Not in line yet.
    app.get(&path, Auth::Bearer(&ann))
        .await
        .error(404, None, None);

    // An event without a queue.
    let plain = crate::seats::create_event(&app, &org, crate::seats::small_layout()).await;
    app.post(&queue_path(&id_of(&plain)), Auth::Bearer(&ann), json!({}))
        .await
        .error(400, Some("This event has no queue"), None);

    // A cookie-authenticated join from another origin is refused.
    let rb = app
        .request(reqwest::Method::POST, &path, Auth::Cookie(&ann))
        .header("origin", "http://evil.example");
    app.send("cross-origin join".into(), rb)
        .await
        .error(403, None, None);
    app.get(&path, Auth::Bearer(&ann))
        .await
        .error(404, None, None);

    // Cookie and Bearer alike; joining again is the same entry.
    for (mode, user) in [(Mode::Cookie, &ann), (Mode::Bearer, &app.signup().await)] {
        let e = app.post(&path, mode.auth(user), json!({})).await.json(200);
        assert_shape(&e, &eid, "waiting");
        assert!(
            e["position"].is_null() && e["ahead"].is_null() && e["etaSecs"].is_null(),
            "{e}"
        );
        assert_eq!(
            app.post(&path, mode.auth(user), json!({})).await.json(200),
            e
        );
        assert_eq!(app.get(&path, mode.auth(user)).await.json(200), e);
    }
}

#[tokio::test]
async fn after_the_on_sale_a_joiner_is_placed_at_once() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 5).await;
    open_sale(&app);
    let (ann, bob) = (app.signup().await, app.signup().await);
    let a = join(&app, &ann, &eid).await;
    assert_eq!(a["position"], 1, "{a}");
    let b = join(&app, &bob, &eid).await;
    assert_eq!(b["position"], 2, "{b}");
    assert_eq!(join(&app, &bob, &eid).await["position"], 2);
}
