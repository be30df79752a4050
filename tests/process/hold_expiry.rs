//! Holds across a `kill -9` restart: one that ran out while the server was
//! down is cancelled promptly after the restart, one still running keeps its
//! own expiry (not re-armed from the restart). Its clock helpers are here,
//! the only place that needs them.

use std::time::Duration;

use serde_json::{json, Value};

use crate::child::spawn_server;
use crate::client::*;
use crate::dirs;

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

async fn sleep_until(t: time::OffsetDateTime) {
    let d = t - now();
    if d.is_positive() {
        tokio::time::sleep(Duration::try_from(d).unwrap()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_expire_on_time_across_a_kill_9_restart() {
    let (data, logs) = dirs();
    let window = 4;
    let mut s = spawn_server(data.path(), logs.path(), window, &[]);
    let api = s.api.clone();
    let seller = api.signup().await;
    let buyer = api.signup().await;
    let t1 = api
        .create_ticket(&seller, "Runs out while down", json!(1))
        .await;
    let t2 = api
        .create_ticket(&seller, "Runs out after restart", json!(1))
        .await;
    let o1 = api.reserve(&buyer, &id_of(&t1)).await;
    let e1 = parse_time(o1["expiresAt"].as_str().unwrap());
    sleep_until(e1 - time::Duration::milliseconds(1500)).await;
    let o2 = api.reserve(&buyer, &id_of(&t2)).await;
    s.kill9();
    let e2 = parse_time(o2["expiresAt"].as_str().unwrap());
    assert!(
        e2 - e1 >= time::Duration::seconds(1),
        "the second hold ends later: {e1} {e2}"
    );

    sleep_until(e1 + time::Duration::milliseconds(300)).await;
    let s2 = spawn_server(data.path(), logs.path(), window, &[]);
    let started = now();
    let api = s2.api.clone();
    let b = api.signin(&buyer.email, &buyer.password).await;
    assert!(
        now() < e2,
        "test setup too slow: restarted after the second hold ended"
    );

    // The hold that ran out while the server was down is cancelled promptly.
    eventually(
        Duration::from_millis(1000),
        "the expired hold to be cancelled after restart",
        || async {
            (api.order(&b, &id_of(&o1)).await["status"] == json!("cancelled")).then_some(())
        },
    )
    .await;
    let tk1 = api.ticket(&id_of(&t1)).await;
    assert_eq!(tk1["status"], json!("available"));
    assert_eq!(tk1["orderId"], Value::Null);
    assert_eq!(version_of(&tk1), 2);
    eprintln!("stale hold cancelled {:?} after restart", now() - started);

    // The other is still held until its own expiry...
    let o2_now = api.order(&b, &id_of(&o2)).await;
    assert_eq!(o2_now["status"], json!("created"), "{o2_now}");
    assert_eq!(
        o2_now["expiresAt"], o2["expiresAt"],
        "expiry kept, not re-armed from the restart"
    );
    let probe = e2 - time::Duration::milliseconds(300);
    if now() < probe {
        sleep_until(probe).await;
        assert_eq!(
            api.order(&b, &id_of(&o2)).await["status"],
            json!("created"),
            "expired early"
        );
    }
    // ...and expires on time (not a full window after the restart).
    let deadline = e2 + time::Duration::milliseconds(1500);
    loop {
        let o = api.order(&b, &id_of(&o2)).await;
        if o["status"] == json!("cancelled") {
            assert!(
                now() + time::Duration::milliseconds(50) >= e2,
                "expired before expiresAt"
            );
            break;
        }
        assert!(
            now() < deadline,
            "hold not expired 1.5 s after its expiresAt {e2}: {o}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tk2 = api.ticket(&id_of(&t2)).await;
    assert_eq!(tk2["status"], json!("available"));
    assert_eq!(version_of(&tk2), 2);
}
