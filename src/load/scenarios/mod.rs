//! The workloads of `ticketing load`. Each drives the server over its public
//! HTTP and WebSocket contract (nothing here reaches into the server's
//! memory, except the flush counters of an embedded server), bounded by the
//! run's `Budget`, and returns a [`Report`](super::Report).
//!
//! One file per scenario; this one holds what they share: the random
//! source, ticket creation and discovery, and the merging of workers'
//! recorders.

mod browse;
mod event;
mod flash_sale;
mod live;
mod onsale;
mod reserve;
mod restart;
mod signup;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::client::{id_of, Conn};
use super::stats::Recorder;
use super::{LoadArgs, Target};

pub use browse::browse;
pub use event::event;
pub use flash_sale::flash_sale;
pub use live::live;
pub use onsale::onsale;
pub use reserve::reserve;
pub use restart::restart;
pub use signup::signup;

/// A tiny deterministic random source (xorshift64*): the load generator
/// needs cheap, reproducible choices, not cryptography.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// A value in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The run's `--duration`.
fn duration(args: &LoadArgs) -> Duration {
    Duration::from_secs_f64(args.duration)
}

/// Puts `n` tickets on sale as `token`'s user, through the API.
async fn create_tickets(
    target: &Target,
    token: &str,
    n: usize,
    concurrency: usize,
) -> Result<Vec<String>, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let ids = Arc::new(Mutex::new(vec![String::new(); n]));
    let failures = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..concurrency.clamp(1, n.max(1)))
        .map(|_| {
            let (next, ids, failures) = (next.clone(), ids.clone(), failures.clone());
            let token = token.to_owned();
            let addr = target.addr;
            tokio::spawn(async move {
                let mut conn = Conn::new(addr);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let body = json!({"title": format!("Flash sale seat {i}"), "price": "25.00"});
                    let out = conn
                        .post("/api/tickets", Some(&token), body.to_string())
                        .await;
                    match (out.status, id_of(&out.body)) {
                        (201, Some(id)) => ids.lock().expect("ids lock")[i] = id,
                        _ => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let failed = failures.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(format!("{failed} of {n} tickets could not be created"));
    }
    let mut ids = std::mem::take(&mut *ids.lock().expect("ids lock"));
    ids.sort();
    Ok(ids)
}

/// Tickets to read: the seeded ones, or the first page of the server's.
async fn some_ticket_ids(target: &Target) -> Result<Vec<String>, String> {
    if !target.tickets.is_empty() {
        return Ok(target.tickets.clone());
    }
    let mut conn = Conn::new(target.addr);
    let out = conn.get("/api/tickets?status=any&limit=1000", None).await;
    let tickets: Vec<IdOnly> = serde_json::from_slice(&out.body)
        .map_err(|e| format!("listing tickets (status {}): {e}", out.status))?;
    if tickets.is_empty() {
        return Err("the target has no tickets: seed some (ticketing seed)".into());
    }
    Ok(tickets.into_iter().map(|t| t.id).collect())
}

#[derive(Deserialize)]
struct IdOnly {
    id: String,
}

/// Waits for every worker and merges their recorders.
async fn merged(
    tasks: impl IntoIterator<Item = tokio::task::JoinHandle<Recorder>>,
) -> Result<Recorder, String> {
    let mut all = Recorder::default();
    for t in tasks {
        all.merge(&t.await.map_err(|e| e.to_string())?);
    }
    Ok(all)
}
