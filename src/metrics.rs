//! Prometheus metrics at `GET /metrics`: counters and histograms recorded
//! where things happen (requests, flushes, expiries, payments, live
//! resyncs, live snapshots encoded and not delivered), and gauges of current state (tickets and orders by status, live
//! subscribers, running ticket actors) read from the core at scrape time.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use warp::http::Method;

use crate::actors::Core;

/// Latency buckets, in seconds.
const SECONDS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Flush batch-size buckets, in batches.
const BATCHES: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];
/// Waiting-room batch-size buckets, in writes (a join is one; the draw
/// places everyone who came early at once).
const WRITES: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0,
];

/// The process-wide recorder (metrics are global to a process, so several
/// servers embedded in one process share it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(SECONDS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full("storage_flush_batches".into()), BATCHES)
            })
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full("queue_batch_writes".into()), WRITES)
            })
            .expect("bucket lists are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics shows only gauges");
        }
        handle
    })
}

/// The Prometheus text page.
pub fn render(core: &Core, running_actors: usize) -> String {
    let counts = core.read_model().counts();
    for (status, n) in counts.tickets {
        metrics::gauge!("tickets", "status" => status).set(n as f64);
    }
    for (status, n) in counts.orders {
        metrics::gauge!("orders", "status" => status).set(n as f64);
    }
    metrics::gauge!("holds_active").set(counts.holds_active as f64);
    metrics::gauge!("live_subscribers").set(core.read_model().subscribers() as f64);
    metrics::gauge!("ticket_actors_running").set(running_actors as f64);
    let stats = core.storage().stats();
    metrics::gauge!("storage_writable").set(if core.storage().is_writable() {
        1.0
    } else {
        0.0
    });
    metrics::gauge!("storage_batches_applied").set(stats.batches as f64);
    handle().render()
}

/// The request counter and latency histogram of each label set (method,
/// route, status).
type RequestHandles = HashMap<(&'static str, &'static str, u16), (Counter, Histogram)>;

/// Counts one answered request and records its latency. The handles of each
/// label set are looked up in the registry once and kept: building the
/// labels and hashing them into the registry on every request cost ~5% of
/// a GET's CPU (BENCHMARKS.md, round 4).
pub fn record_request(method: &Method, route: &'static str, status: u16, elapsed: Duration) {
    static HANDLES: OnceLock<RwLock<RequestHandles>> = OnceLock::new();
    let handles = HANDLES.get_or_init(RwLock::default);
    let method = method_label(method);
    let key = (method, route, status);
    let seconds = elapsed.as_secs_f64();
    if let Some((count, latency)) = handles.read().expect("metrics lock").get(&key) {
        count.increment(1);
        latency.record(seconds);
        return;
    }
    let count = metrics::counter!("http_requests_total", "method" => method, "route" => route, "status" => status.to_string());
    let latency = metrics::histogram!("http_request_seconds", "method" => method, "route" => route);
    count.increment(1);
    latency.record(seconds);
    handles
        .write()
        .expect("metrics lock")
        .insert(key, (count, latency));
}

/// The method as a label; methods outside the standard ones share one, so
/// clients cannot grow the label set.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// The route template of `path`, so labels stay few whatever clients send.
pub fn route_label(path: &str) -> &'static str {
    // The first four segments, without a heap allocation: this runs on
    // every request.
    let mut it = path.split('/').filter(|s| !s.is_empty());
    let segments = [it.next(), it.next(), it.next(), it.next()];
    match segments {
        [Some("healthz"), None, ..] => "/healthz",
        [Some("metrics"), None, ..] => "/metrics",
        [Some("api"), Some("users"), Some("signup"), None] => "/api/users/signup",
        [Some("api"), Some("users"), Some("signin"), None] => "/api/users/signin",
        [Some("api"), Some("users"), Some("signout"), None] => "/api/users/signout",
        [Some("api"), Some("users"), Some("currentuser"), None] => "/api/users/currentuser",
        [Some("api"), Some("tickets"), None, _] => "/api/tickets",
        [Some("api"), Some("tickets"), Some("live"), None] => "/api/tickets/live",
        [Some("api"), Some("tickets"), Some(_), None] => "/api/tickets/:id",
        [Some("api"), Some("orders"), None, _] => "/api/orders",
        [Some("api"), Some("orders"), Some(_), None] => "/api/orders/:id",
        [Some("api"), Some("payments"), None, _] => "/api/payments",
        [Some("api"), Some("events"), None, _] => "/api/events",
        [Some("api"), Some("events"), Some(_), None] => "/api/events/:id",
        [Some("api"), Some("events"), Some(_), Some("seats")] => "/api/events/:id/seats",
        [Some("api"), Some("events"), Some(_), Some("live")] => "/api/events/:id/live",
        [Some("api"), Some("events"), Some(_), Some("queue")] => "/api/events/:id/queue",
        [Some("api"), ..] => "/api/other",
        _ => "/ui",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_routes_collapse_ids() {
        assert_eq!(route_label("/api/events"), "/api/events");
        assert_eq!(
            route_label("/api/events/0123456789abcdef"),
            "/api/events/:id"
        );
        assert_eq!(
            route_label("/api/events/0123456789abcdef/seats"),
            "/api/events/:id/seats"
        );
        assert_eq!(
            route_label("/api/events/0123456789abcdef/live"),
            "/api/events/:id/live"
        );
    }

    #[test]
    fn routes_collapse_ids() {
        assert_eq!(
            route_label("/api/tickets/0123456789abcdef"),
            "/api/tickets/:id"
        );
        assert_eq!(route_label("/api/orders/whatever"), "/api/orders/:id");
        assert_eq!(route_label("/api/nope/x/y"), "/api/other");
        assert_eq!(route_label("/app.js"), "/ui");
    }
}
