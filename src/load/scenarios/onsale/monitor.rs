//! What the onsale scenario watches from the side while the buyers run: the
//! moment every seat is sold (read through the API), and, given the
//! server's process id, its open files and resident memory, to price a
//! waiting connection.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::watch;

use crate::load::client::Conn;
use crate::load::scenarios::event::measure::rss_kib;

/// How often the event and the server's process are read.
const EVERY: Duration = Duration::from_millis(100);

/// What the monitor saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// From `onSaleAt` until every seat was sold, if they all were.
    pub sellout: Option<Duration>,
    /// Seats sold at each whole second after `onSaleAt`, to see where a
    /// slow sale lost its time (the join storm, the steady state, the tail).
    pub sold_by_second: Vec<u64>,
    /// The server's open files and resident KiB before the buyers came.
    pub base: Option<(usize, u64)>,
    /// The same when it held the most open files.
    pub peak: Option<(usize, u64)>,
}

#[derive(Deserialize)]
struct EventRow {
    seats: Counts,
}

#[derive(Deserialize)]
struct Counts {
    total: u64,
    sold: u64,
}

/// The server process's open files and resident KiB.
fn process(pid: u32) -> Option<(usize, u64)> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    let rss = rss_kib(&format!("/proc/{pid}/status")).ok()?;
    Some((fds, rss))
}

/// Watches `event` on the server at `addr` from `on_sale` (and process `pid` from now) until `stop`.
pub async fn run(
    addr: std::net::SocketAddr,
    event: String,
    on_sale: Instant,
    pid: Option<u32>,
    mut stop: watch::Receiver<bool>,
) -> Seen {
    let mut seen = Seen {
        base: pid.and_then(process),
        ..Seen::default()
    };
    let mut conn = Conn::new(addr);
    let path = format!("/api/events/{event}");
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        if let Some(now) = pid.and_then(process) {
            if seen.peak.is_none_or(|(fds, _)| now.0 > fds) {
                seen.peak = Some(now);
            }
        }
        if seen.sellout.is_some() || Instant::now() < on_sale {
            continue;
        }
        let out = conn.get(&path, None).await;
        if let Ok(e) = serde_json::from_slice::<EventRow>(&out.body) {
            let second = on_sale.elapsed().as_secs() as usize;
            if seen.sold_by_second.len() <= second {
                seen.sold_by_second.resize(second + 1, e.seats.sold);
            }
            if e.seats.sold == e.seats.total {
                seen.sellout = Some(on_sale.elapsed());
            }
        }
    }
    seen
}
