//! Graceful shutdown closes live sessions promptly.

use std::time::{Duration, Instant};

use serde_json::json;

use super::support::*;
use crate::helpers::*;

/// A graceful shutdown ends every live session (close frame or EOF) and
/// returns promptly, even with a subscriber that stopped reading.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_closes_live_sessions_promptly() {
    let mut app = spawn_app().await;
    let seller = app.signup().await;
    app.create_ticket(&seller, "Before shutdown", json!(1))
        .await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        let mut ws = connect(&app).await;
        json_within(&mut ws, Duration::from_secs(5), "snapshot").await;
        clients.push(ws);
    }
    let _stalled = stalled_client(app.addr).await;
    let t0 = Instant::now();
    app.stop().await;
    let took = t0.elapsed();
    for (n, ws) in clients.iter_mut().enumerate() {
        let why = expect_end(ws, Duration::from_secs(5), &format!("client {n}")).await;
        eprintln!("client {n} after shutdown: {why}");
    }
    eprintln!("shutdown took {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "shutdown with live sessions open took {took:?}"
    );
    // Nothing listens any more.
    assert!(
        tokio::net::TcpStream::connect(app.addr).await.is_err(),
        "still accepting after shutdown"
    );
}
