//! Slow subscribers: one that stops reading is resynchronised or closed while
//! a reader gets every change.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use super::support::*;
use crate::helpers::*;

/// While 10,000 edits of 1 KB each flow from 40 concurrent writers, a subscriber
/// that stops reading is resynchronised with a fresh snapshot or closed (never
/// left silently stale), a reading subscriber gets every change in version
/// order with no resync, and /healthz keeps answering quickly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_is_resynchronised_or_closed_while_a_reader_gets_every_change() {
    let _one_at_a_time = heavy_or_timed().await;
    const WRITERS: usize = 40;
    const EDITS: usize = 10_000;
    const PER: usize = EDITS / WRITERS;
    let app = spawn_app().await;
    let seller = app.signup().await;
    let mut ids = Vec::new();
    for w in 0..WRITERS {
        let t = app
            .create_ticket(&seller, &format!("Stream {w}"), json!(1))
            .await;
        ids.push(id_of(&t));
    }

    let mut reader = connect_small(app.addr).await;
    let mut stalled = stalled_client(app.addr).await;

    // The reader: every change, in order, and no resync.
    let reader_task = {
        let ids = ids.clone();
        tokio::spawn(async move {
            let mut mirror = Mirror::default();
            let first = json_within(&mut reader, Duration::from_secs(10), "reader").await;
            mirror.apply("reader", &first);
            while !ids.iter().all(|id| mirror.version(id) == Some(PER as u64)) {
                let m = json_within(&mut reader, Duration::from_secs(20), "reader").await;
                mirror.apply("reader", &m);
                assert_eq!(
                    mirror.snapshots, 1,
                    "the reading subscriber was resynchronised (it fell behind)"
                );
            }
            (mirror, reader)
        })
    };

    // /healthz, every 50 ms, throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let prober = {
        let (api, stop) = (app.api.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut n, mut worst) = (0u32, Duration::ZERO);
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                api.get("/healthz", Auth::None).await.expect(200);
                worst = worst.max(t0.elapsed());
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (n, worst)
        })
    };

    let started = Instant::now();
    let mut writers = JoinSet::new();
    for (w, id) in ids.iter().enumerate() {
        let (api, s, id) = (app.api.clone(), seller.clone(), id.clone());
        writers.spawn(async move {
            for i in 0..PER {
                api.put(
                    &format!("/api/tickets/{id}"),
                    Auth::Bearer(&s),
                    json!({"title": fat_title(w, i), "price": 1}),
                )
                .await
                .expect(200);
            }
        });
    }
    tokio::time::timeout(Duration::from_secs(25), async {
        while let Some(r) = writers.join_next().await {
            r.unwrap();
        }
    })
    .await
    .expect("10,000 edits took more than 25 s");
    let wrote = started.elapsed();

    let (mirror, mut reader) = tokio::time::timeout(Duration::from_secs(20), reader_task)
        .await
        .expect("the reader did not get every change")
        .expect("reader task");
    let final_list = by_id(&app.all_tickets().await);
    assert_eq!(
        mirror.tickets, final_list,
        "reader ends at the server's state"
    );
    assert_eq!(mirror.changes, EDITS);

    // Now the stalled one reads what it has: changes in order, then a fresh
    // snapshot or the end of the session, never a silent gap.
    let mut m2 = Mirror::default();
    let end = loop {
        match next_within(&mut stalled, Duration::from_secs(15), "stalled").await {
            Next::Json(v) => {
                m2.apply("stalled subscriber", &v);
                if m2.tickets == final_list {
                    break None;
                }
            }
            Next::Ended(why) => break Some(why),
        }
    };
    stop.store(true, Ordering::Relaxed);
    let (probes, worst) = prober.await.unwrap();
    eprintln!(
        "{EDITS} edits in {wrote:?}; stalled subscriber: {} snapshots, {} changes, end: {end:?}; \
         /healthz worst {worst:?} over {probes} probes",
        m2.snapshots, m2.changes
    );
    assert!(
        m2.snapshots >= 2 || end.is_some(),
        "the stalled subscriber was neither resynchronised nor closed \
         ({} changes read, all in order): the test did not fill its buffers",
        m2.changes
    );
    assert!(probes > 0);
    assert!(
        worst < Duration::from_secs(2),
        "/healthz took {worst:?} during the burst"
    );

    // The reader's session still works.
    let t = app.create_ticket(&seller, "After", json!(1)).await;
    let m = json_within(&mut reader, Duration::from_secs(5), "reader").await;
    assert_eq!(m, json!({"type": "ticket", "ticket": t}));
}
