//! The accept loop. warp's own server offers no connection cap and no header
//! timeout, so connections are served here with hyper directly: at most
//! `max_connections` at once (WebSocket sessions included) and at most
//! `max_connections_per_addr` from one client ([`super::slots`]), request
//! headers must arrive within `header_read_timeout` and `/api` bodies within
//! their [`BodyDeadline`], a connection with nothing to read for
//! `idle_timeout` is closed, and shutdown stops accepting and lets in-flight
//! requests finish. Live WebSocket upgrades are answered here too, so their
//! sockets get small buffers (see [`super::live`]).
//!
//! Connections are served on the actor arbiters (one thread per core),
//! handed out in turn, not on the tokio runtime that accepts them: a ticket
//! actor is started on the arbiter of the request that first needs it, so
//! a request and its actor usually share a thread and talk without waking
//! another one (BENCHMARKS.md, round 4).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::dev::ArbiterHandle;

use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_io_timeout::TimeoutStream;
use tower_service::Service as _;
use tracing::Instrument as _;
use warp::http::HeaderValue;
use warp::Filter;

use super::request::BodyDeadline;
use super::slots::{Refusal, Slots};
use super::{live, State};
use crate::actors::Core;

/// The request's id: the client's `x-request-id` when it is short and
/// printable (so a proxy's id carries through), else a fresh one. Echoed in
/// the response and attached to every log line of the request.
fn request_id(req: &hyper::Request<Incoming>, core: &Core) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:016x}", core.next_id()))
}

/// Runs a connection's HTTP/2 streams on the thread serving it, inside its
/// arbiter's `LocalSet`: a handler may start a ticket actor, which needs
/// one (with `tokio::spawn` an HTTP/2 request that did so panicked).
#[derive(Debug, Clone, Copy)]
struct LocalExecutor;

impl<F> hyper::rt::Executor<F> for LocalExecutor
where
    F: std::future::Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, fut: F) {
        tokio::task::spawn_local(fut);
    }
}

/// Limits on connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections (and live sessions) at most; more are closed at once.
    pub max_connections: usize,
    /// Open connections from one client address at most (0: no cap).
    pub max_connections_per_addr: usize,
    /// Time a client gets to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time a connection may sit without a byte read (or without a blocked
    /// write moving): idle keep-alive and silent connections are closed.
    /// Live sessions are pinged more often than this, so they stay open.
    pub idle_timeout: Duration,
    /// Time an `/api` request body gets to arrive.
    pub body_deadline: BodyDeadline,
}

/// Refused connections are logged at most this often (with how many were
/// refused since), so a flood of them cannot flood the log as well.
const REFUSALS_LOGGED_EVERY: Duration = Duration::from_secs(10);

/// Counts refused connections in `connections_refused_total` and logs them
/// rarely; one per kind of refusal, kept by the accept loop.
struct RefusalLog {
    refusal: Refusal,
    quiet_until: Option<Instant>,
    unlogged: u64,
}

impl RefusalLog {
    fn new(refusal: Refusal) -> Self {
        RefusalLog {
            refusal,
            quiet_until: None,
            unlogged: 0,
        }
    }

    fn record(&mut self, peer: SocketAddr) {
        metrics::counter!("connections_refused_total", "reason" => self.refusal.label())
            .increment(1);
        self.unlogged += 1;
        let now = Instant::now();
        if self.quiet_until.is_some_and(|until| now < until) {
            return;
        }
        let refused = std::mem::take(&mut self.unlogged);
        tracing::warn!(
            %peer,
            refused,
            "{}; closing new connection",
            self.refusal.describe()
        );
        self.quiet_until = Some(now + REFUSALS_LOGGED_EVERY);
    }
}

/// Serves `/api` (through [`super::api`]) and `routes` (everything else) on
/// `listener` until `stop` fires, then waits for open requests to finish.
/// Each connection is served on one of `workers`, in turn.
pub async fn serve<F>(
    listener: TcpListener,
    routes: F,
    state: Arc<State>,
    limits: ConnectionLimits,
    stop: oneshot::Receiver<()>,
    workers: Vec<ArbiterHandle>,
) where
    F: Filter<Extract = (warp::reply::Response,), Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
{
    let slots = Slots::new(limits.max_connections, limits.max_connections_per_addr);
    let mut refused_full = RefusalLog::new(Refusal::Full);
    let mut refused_addr = RefusalLog::new(Refusal::AddressFull);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let service = warp::service(routes);
    let mut turn = 0usize;
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let slot = match slots.take(peer.ip()) {
            Ok(slot) => Arc::new(slot),
            Err(refusal) => {
                match refusal {
                    Refusal::Full => refused_full.record(peer),
                    Refusal::AddressFull => refused_addr.record(peer),
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // Registered again with the I/O driver of the arbiter serving it.
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(%peer, error = %e, "cannot hand the connection over");
                continue;
            }
        };
        let service = service.clone();
        let state = state.clone();
        let hyper_service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut service = service.clone();
            let state = state.clone();
            let slot = slot.clone();
            let id = request_id(&req, &state.core);
            let route = crate::metrics::route_label(req.uri().path());
            let method = req.method().clone();
            let span = tracing::info_span!(
                "request",
                id = %id,
                method = %req.method(),
                path = %req.uri().path(),
            );
            async move {
                let started = std::time::Instant::now();
                let mut res = if let Some(feed) = live::upgrade_feed(&req) {
                    let ping_every = live::ping_interval(limits.idle_timeout);
                    let live = state.live.clone();
                    match feed {
                        live::Feed::Tickets => live::tickets(req, live, slot, ping_every),
                        live::Feed::Event(id) => live::event(req, id, live, slot, ping_every),
                    }
                } else if super::is_api(req.uri().path()) {
                    super::api(state, req, peer, limits.body_deadline).await
                } else {
                    service.call(req).await?
                };
                if let Ok(v) = HeaderValue::from_str(&id) {
                    res.headers_mut().insert("x-request-id", v);
                }
                let elapsed = started.elapsed();
                let status = res.status().as_u16();
                crate::metrics::record_request(&method, route, status, elapsed);
                tracing::debug!(status, micros = elapsed.as_micros() as u64, "answered");
                Ok::<_, Infallible>(res)
            }
            .instrument(span)
        });
        let watcher = graceful.watcher();
        let connection = async move {
            let stream = match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot register the connection");
                    return;
                }
            };
            let mut builder = auto::Builder::new(LocalExecutor);
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let mut io = TimeoutStream::new(stream);
            io.set_read_timeout(Some(limits.idle_timeout));
            io.set_write_timeout(Some(limits.idle_timeout));
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(Box::pin(io)), hyper_service)
                .into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        };
        turn = turn.wrapping_add(1);
        if !workers[turn % workers.len()].spawn(connection) {
            tracing::warn!(%peer, "the worker is gone (shutting down); connection closed");
        }
    }
    drop(listener);
    graceful.shutdown().await;
}
