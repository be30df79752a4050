//! The ceiling: the smallest warp route there is (a fixed JSON body), served
//! in-process on loopback. Driving it with the same client and concurrency
//! as a scenario tells how fast this stack can possibly answer on this
//! machine, so `ratio = rps / baseline_rps` is the server's distance to it.
//!
//! It is served on a tokio runtime of its own (one worker per core), not on
//! the generator's: the server under test never shares threads with the
//! generator's clients (it is another process, or, with `--embedded`, it
//! serves on its actor arbiters), and a baseline that did would skip the
//! thread wake-ups every real server pays (measured: shared, 94-114k/s;
//! own runtime, see BENCHMARKS.md round 4).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::oneshot;
use warp::Filter;

use super::client::Conn;
use super::stats::Recorder;
use super::Budget;

/// The fixed body: shaped like a ticket, so response sizes are comparable.
const BODY: &str = r#"{"id":"0000000000000001","title":"Baseline","price":25,"date":null,"userId":"0000000000000002","version":0,"status":"available","orderId":null}"#;

/// A running baseline server.
pub struct Baseline {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Baseline {
    /// Serves `GET /baseline` on 127.0.0.1 (a free port), on a runtime of
    /// its own.
    pub fn start() -> Result<Self, String> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| format!("baseline bind: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("baseline bind: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("baseline")
            .enable_all()
            .build()
            .map_err(|e| format!("baseline runtime: {e}"))?;
        let (tx, rx) = oneshot::channel::<()>();
        // Detached: it ends once `stop` fires and open connections close.
        std::thread::Builder::new()
            .name("baseline".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let route = warp::path("baseline")
                        .and(warp::path::end())
                        .map(|| warp::reply::with_header(BODY, "content-type", "application/json"));
                    warp::serve(route)
                        .incoming(listener)
                        .graceful(async move {
                            let _ = rx.await;
                        })
                        .run()
                        .await;
                });
            })
            .map_err(|e| format!("baseline thread: {e}"))?;
        Ok(Baseline {
            addr,
            stop: Some(tx),
        })
    }

    /// Drives `GET /baseline` with `workers` connections within `budget`;
    /// returns the requests per second.
    pub async fn run(&self, workers: usize, budget: Arc<Budget>) -> (Recorder, f64) {
        let start = Instant::now();
        let tasks: Vec<_> = (0..workers.max(1))
            .map(|_| {
                let budget = budget.clone();
                let addr = self.addr;
                tokio::spawn(async move {
                    let mut conn = Conn::new(addr);
                    let mut rec = Recorder::default();
                    while budget.take() {
                        let out = conn.get("/baseline", None).await;
                        rec.record(&out, out.status == 200);
                    }
                    rec
                })
            })
            .collect();
        let mut total = Recorder::default();
        for t in tasks {
            if let Ok(rec) = t.await {
                total.merge(&rec);
            }
        }
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let rps = total.requests as f64 / secs;
        (total, rps)
    }
}

impl Drop for Baseline {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}
