//! The accept loop. warp's own server offers no connection cap and no header
//! timeout, so connections are served here with hyper directly: at most
//! `max_connections` at once (WebSocket sessions included), request headers
//! must arrive within `header_read_timeout`, and shutdown stops accepting and
//! lets in-flight requests finish. Live WebSocket upgrades are answered here
//! too, so their sockets get small buffers (see [`super::live`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};
use tower_service::Service as _;
use warp::Filter;

use super::live;
use crate::actors::Core;

/// The client's socket address, put in each request's extensions (warp's
/// `addr::remote` only works with warp's own server).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub SocketAddr);

/// Limits on connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections (and live sessions) at most; more are closed at once.
    pub max_connections: usize,
    /// Time a client gets to send a request's headers.
    pub header_read_timeout: Duration,
}

/// Serves `routes` on `listener` until `stop` fires, then waits for open
/// requests to finish.
pub async fn serve<F>(
    listener: TcpListener,
    routes: F,
    core: Arc<Core>,
    limits: ConnectionLimits,
    stop: oneshot::Receiver<()>,
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
        let service = service.clone();
        let core = core.clone();
        let hyper_service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ClientAddr(peer));
            let mut service = service.clone();
            let core = core.clone();
            let permit = permit.clone();
            async move {
                if live::is_upgrade(&req) {
                    return Ok::<_, Infallible>(live::accept(req, core, permit));
                }
                service.call(req).await
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), hyper_service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
