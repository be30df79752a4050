//! Deleting a queued event forgets its whole line: joins decided while the
//! deletion runs are either stored before it (and forgotten with it) or
//! never stored, so after a restart nothing of that line is left in the
//! store (`ticketing check` finds no entry or draw of it), and every join
//! is answered 200 or 404, never a 5xx. A deletion the store refuses lets
//! the line go on, with the joins that came meanwhile.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::Method;
use ticketing::config::Settings;
use ticketing::domain::Timestamp;
use ticketing::storage::Write;

use super::*;
use crate::gate::Controls;

/// Joiners in flight when the event is deleted.
const JOINERS: usize = 120;

/// The queue entries in the stopped server's store (its data directory or
/// database), and what `check` says of them.
async fn stored_line(settings: &Settings) -> (usize, Vec<String>) {
    let (counts, problems) = ticketing::maintenance::check_store(&settings.storage)
        .await
        .expect("check runs");
    (counts.entries, problems)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_event_while_joins_pour_in_leaves_nothing_of_its_line() {
    let mut app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.limits.auth_per_addr = 10_000).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 50).await;
    // A drawn line: early joiners, the draw, then the crowd.
    let mut early = Vec::new();
    for _ in 0..5 {
        let u = app.signup().await;
        join(&app, &u, &eid).await;
        early.push(u);
    }
    open_sale(&app);
    eventually(ACT_WITHIN, "the draw", || by_place(&app, &early, &eid)).await;
    let crowd = futures_util::future::join_all((0..JOINERS).map(|_| app.signup())).await;

    let joins: Vec<_> = crowd
        .into_iter()
        .map(|u| {
            let (api, path) = (app.api.clone(), queue_path(&eid));
            tokio::spawn(async move { api.post(&path, Auth::Bearer(&u), json!({})).await.status })
        })
        .collect();
    // Some joins are answered, many are still being decided and stored.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.delete(&format!("/api/events/{eid}"), Auth::Bearer(&org))
        .await
        .expect(204);
    let mut answered = std::collections::BTreeMap::<u16, usize>::new();
    for j in joins {
        *answered.entry(j.await.expect("join task")).or_default() += 1;
    }
    assert!(
        answered.keys().all(|s| [200, 404].contains(s)),
        "joins answered {answered:?}"
    );
    app.get(&queue_path(&eid), Auth::Bearer(&early[0]))
        .await
        .error(404, None, None);

    // Whatever was still in flight has landed by the stop; the restart
    // loads it back (or not), and the store holds nothing of the line.
    app.restart().await;
    app.get(&format!("/api/events/{eid}"), Auth::None)
        .await
        .error(404, None, None);
    app.stop().await;
    let (entries, problems) = stored_line(&app.settings).await;
    assert!(
        entries == 0 && problems.is_empty(),
        "{entries} entries of the deleted event's line survived (joins answered \
         {answered:?}); check says {} things, first {:?}",
        problems.len(),
        problems.first()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_deletion_lets_the_line_go_on_with_the_joins_it_held() {
    // Every event deletion refused; commits held while the gate is shut.
    let gate = Controls::refusing(|writes| {
        writes
            .iter()
            .any(|w| matches!(w, Write::DeleteEvent { .. }))
    });
    let app = spawn_app_with_store_layer(gate.layer()).await;
    let org = app.signup().await;
    let on_sale = Timestamp::now()
        .plus(Duration::from_secs(3600))
        .to_rfc3339();
    let e = app
        .post(
            "/api/events",
            Auth::Bearer(&org),
            json!({"name": "Big gig", "startsAt": "2031-01-01T00:00:00Z", "onSaleAt": on_sale,
                   "queue": true, "sections": [{"name": "Floor", "price": 10, "capacity": 5}]}),
        )
        .await
        .json(201);
    let eid = id_of(&e);
    let (ann, bob, cat) = (app.signup().await, app.signup().await, app.signup().await);
    join(&app, &ann, &eid).await;

    // Bob's entry is decided, its batch held in the store.
    gate.hold().await;
    let before = gate.arrived.load(Ordering::SeqCst);
    let joining = |u: User| {
        let (api, path) = (app.api.clone(), queue_path(&eid));
        tokio::spawn(async move { api.post(&path, Auth::Bearer(&u), json!({})).await.json(200) })
    };
    let bobs = joining(bob.clone());
    eventually(ACT_WITHIN, "Bob's batch", || async {
        (gate.arrived.load(Ordering::SeqCst) > before).then_some(())
    })
    .await;
    // The deletion waits for it; Cat comes meanwhile.
    let deleting = {
        let rb = app.request(
            Method::DELETE,
            &format!("/api/events/{eid}"),
            Auth::Bearer(&org),
        );
        tokio::spawn(async move { rb.send().await.expect("delete answered").status().as_u16() })
    };
    tokio::time::sleep(SETTLE).await;
    let cats = joining(cat.clone());
    tokio::time::sleep(SETTLE).await;
    gate.release();

    assert_eq!(
        deleting.await.unwrap(),
        503,
        "the store refused the deletion"
    );
    let (b, c) = (bobs.await.unwrap(), cats.await.unwrap());
    assert_eq!(
        (b["status"].as_str(), c["status"].as_str()),
        (Some("waiting"), Some("waiting"))
    );
    app.get(&format!("/api/events/{eid}"), Auth::None)
        .await
        .json(200);
    // The line goes on: a later join, and everyone's entry.
    let dan = app.signup().await;
    join(&app, &dan, &eid).await;
    for u in [&ann, &bob, &cat, &dan] {
        entry(&app, u, &eid).await;
    }
}
