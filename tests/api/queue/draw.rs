//! The fair order: everyone who joins before the on-sale is placed at it,
//! in places 1..k, ahead of every later joiner (k+1.. in join order); one
//! place per account; no place and nobody ahead before the draw.

use std::collections::BTreeSet;

use super::*;

#[tokio::test]
async fn early_entries_take_the_first_places_and_later_ones_follow_in_join_order() {
    let app = spawn_app_on_manual_clock(HOLD_SECS, |s| s.queue.active_buyers = 1).await;
    let org = app.signup().await;
    let eid = queued_event(&app, &org, 10).await;
    let mut early = Vec::new();
    for _ in 0..6 {
        let u = app.signup().await;
        let e = join(&app, &u, &eid).await;
        assert_shape(&e, &eid, "waiting");
        assert!(e["position"].is_null() && e["ahead"].is_null(), "{e}");
        // Joining twice gains nothing.
        assert_eq!(join(&app, &u, &eid).await, e);
        early.push(u);
    }
    // Still no place a moment later: the draw waits for the on-sale.
    tokio::time::sleep(SETTLE).await;
    assert!(entry(&app, &early[0], &eid).await["position"].is_null());

    open_sale(&app);
    let placed = eventually(ACT_WITHIN, "the draw", || by_place(&app, &early, &eid)).await;
    let places: BTreeSet<u64> = placed
        .iter()
        .map(|(_, e)| e["position"].as_u64().unwrap())
        .collect();
    assert_eq!(places, (1..=6).collect(), "places 1..6, one per account");

    let mut late = Vec::new();
    for i in 0..3u64 {
        let u = app.signup().await;
        let e = join(&app, &u, &eid).await;
        assert_eq!(e["position"], 7 + i, "late joiners in join order: {e}");
        assert_eq!(join(&app, &u, &eid).await["position"], 7 + i);
        late.push(u);
    }
    // The first place is admitted (active buyers: 1); everyone else waits,
    // with those still waiting before it counted ahead.
    let first = &placed[0].0;
    entry_becomes(&app, first, &eid, "admitted").await;
    for u in early.iter().chain(&late) {
        let e = entry(&app, u, &eid).await;
        let place = e["position"].as_u64().unwrap();
        if place > 1 {
            assert_shape(&e, &eid, "waiting");
            assert_eq!(e["ahead"], place - 2, "{e}");
        }
    }
}
