//! Many subscribers: a thousand at once all receive a change.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::task::JoinSet;

use super::support::*;
use crate::helpers::*;

/// 1,000 subscribers connected at once all receive one change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_subscribers_all_receive_a_change() {
    let _one_at_a_time = heavy_or_timed().await;
    const N: usize = 1000;
    let app = spawn_app().await;
    let seller = app.signup().await;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(N);
    let mut set = JoinSet::new();
    let t_connect = Instant::now();
    for n in 0..N {
        let (addr, ready) = (app.addr, ready_tx.clone());
        set.spawn(async move {
            let who = format!("subscriber {n}");
            let mut ws = connect_small(addr).await;
            let snap = json_within(&mut ws, Duration::from_secs(20), &who).await;
            assert_eq!(snap, json!({"type": "snapshot", "tickets": []}), "{who}");
            ready.send(()).await.unwrap();
            let m = json_within(&mut ws, Duration::from_secs(20), &who).await;
            let at = Instant::now();
            (m, at, ws)
        });
    }
    drop(ready_tx);
    for k in 0..N {
        let r = tokio::time::timeout(Duration::from_secs(30), ready_rx.recv())
            .await
            .unwrap_or_else(|_| panic!("only {k} of {N} subscribers had their snapshot in 30 s"));
        if r.is_none() {
            // Every task ended: one failed; show why.
            while let Some(r) = set.join_next().await {
                r.unwrap();
            }
            panic!("a subscriber ended before its snapshot");
        }
    }
    let connected = t_connect.elapsed();
    let sent = Instant::now();
    let t = app.create_ticket(&seller, "For everyone", json!(1)).await;
    let acked = Instant::now();
    let expected = json!({"type": "ticket", "ticket": t});
    let mut from_ack = Vec::with_capacity(N);
    let mut from_send = Vec::with_capacity(N);
    let mut sockets = Vec::with_capacity(N);
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(r) = set.join_next().await {
            let (m, at, ws) = r.expect("subscriber task");
            assert_eq!(m, expected);
            from_ack.push(at.saturating_duration_since(acked));
            from_send.push(at.saturating_duration_since(sent));
            sockets.push(ws);
        }
    })
    .await
    .expect("not every subscriber got the change within 30 s");
    assert_eq!(from_ack.len(), N);
    from_ack.sort();
    from_send.sort();
    eprintln!(
        "{N} subscribers connected in {connected:?}; change acknowledged {:?} after sending; \
         delivery after the 2xx: p50 {:?}, p99 {:?}, max {:?} (after sending: p50 {:?}, max {:?})",
        acked - sent,
        from_ack[N / 2],
        from_ack[N * 99 / 100],
        from_ack[N - 1],
        from_send[N / 2],
        from_send[N - 1]
    );
    drop(sockets);
}
