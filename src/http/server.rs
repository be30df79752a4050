//! The accept loop. warp's own server offers no connection cap and no header
//! timeout, so connections are served here with hyper directly: at most
//! `max_connections` at once (WebSocket sessions included), request headers
//! must arrive within `header_read_timeout` and `/api` bodies within their
//! [`BodyDeadline`], a connection with nothing to read for `idle_timeout` is
//! closed, and shutdown stops accepting and lets in-flight requests finish. Live WebSocket upgrades are answered here
//! too, so their sockets get small buffers (see [`super::live`]).
//!
//! Connections are served on the actor arbiters (one thread per core),
//! handed out in turn, not on the tokio runtime that accepts them: a ticket
//! actor is started on the arbiter of the request that first needs it, so
//! a request and its actor usually share a thread and talk without waking
//! another one (BENCHMARKS.md, round 4).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix::dev::ArbiterHandle;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tokio_io_timeout::TimeoutStream;
use tower_service::Service as _;
use tracing::Instrument as _;
use warp::http::HeaderValue;
use warp::Filter;

use super::request::BodyDeadline;
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
        .unwrap_or_else(|| format!("{:016x}", core.ids.next()))
}

/// Limits on connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections (and live sessions) at most; more are closed at once.
    pub max_connections: usize,
    /// Time a client gets to send a request's headers.
    pub header_read_timeout: Duration,
    /// Time a connection may sit without a byte read (or without a blocked
    /// write moving): idle keep-alive and silent connections are closed.
    /// Live sessions are pinged more often than this, so they stay open.
    pub idle_timeout: Duration,
    /// Time an `/api` request body gets to arrive.
    pub body_deadline: BodyDeadline,
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
    let permits = Arc::new(Semaphore::new(limits.max_connections));
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
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "connection limit reached; closing new connection");
            continue;
        };
        let permit = Arc::new(permit);
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
            let permit = permit.clone();
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
                let mut res = if live::is_upgrade(&req) {
                    let ping_every = live::ping_interval(limits.idle_timeout);
                    live::accept(req, state.core.clone(), permit, ping_every)
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
            let mut builder = auto::Builder::new(TokioExecutor::new());
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
