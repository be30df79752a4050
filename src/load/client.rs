//! A minimal HTTP/1.1 client for the load generator: one keep-alive
//! connection per worker, no pool, no redirects, no cookies. The load
//! generator shares the machine (often the process) with the server it
//! measures, so the client must cost as little CPU as possible; hyper's raw
//! client connection is about as cheap as a correct HTTP client gets.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};

/// The largest body copied out of hyper's read buffer (see `send_inner`):
/// half of that buffer's 8 KiB.
const SMALL_BODY: usize = 4096;

/// How long one request may take before it counts as an error (status 0).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The outcome of one request: status (0 when the connection failed or
/// timed out), body, and the time from sending to the last body byte.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// HTTP status, or 0 for a transport error.
    pub status: u16,
    /// The whole response body.
    pub body: Bytes,
    /// Request latency.
    pub latency: Duration,
}

impl Outcome {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// One keep-alive HTTP/1.1 connection to the target, reopened after errors.
pub struct Conn {
    addr: SocketAddr,
    bind: Option<IpAddr>,
    host: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// A connection to `addr` (opened lazily, on the first request).
    pub fn new(addr: SocketAddr) -> Self {
        Self::bound(addr, None)
    }

    /// A connection to `addr` from the local address `bind` (any when
    /// `None`): several loopback sources spread connections past a
    /// per-address cap.
    pub fn bound(addr: SocketAddr, bind: Option<IpAddr>) -> Self {
        Conn {
            addr,
            bind,
            host: addr.to_string(),
            sender: None,
        }
    }

    async fn open(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        if self.sender.as_ref().is_some_and(|s| s.is_closed()) {
            self.sender = None;
        }
        if self.sender.is_none() {
            let stream = connect(self.addr, self.bind).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        Ok(self.sender.as_mut().expect("just opened"))
    }

    /// Sends one request and reads the whole response. Never panics and
    /// never returns an error: failures are an [`Outcome`] with status 0.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Outcome {
        let start = Instant::now();
        let result =
            tokio::time::timeout(REQUEST_TIMEOUT, self.send_inner(method, path, token, body)).await;
        let latency = start.elapsed();
        match result {
            Ok(Ok((status, body))) => Outcome {
                status,
                body,
                latency,
            },
            Ok(Err(_)) | Err(_) => {
                self.sender = None;
                Outcome {
                    status: 0,
                    body: Bytes::new(),
                    latency,
                }
            }
        }
    }

    async fn send_inner(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Result<(u16, Bytes), String> {
        let host = self.host.clone();
        let sender = self.open().await?;
        sender.ready().await.map_err(|e| e.to_string())?;
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", host);
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Full::new(Bytes::from(b))
            }
            None => Full::new(Bytes::new()),
        };
        let req = req.body(body).map_err(|e| e.to_string())?;
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        // A small body is copied, so that hyper's read buffer is free to be
        // reused for the next answer: the body it hands out is a slice of
        // that buffer, and while any such slice lives (a buyer keeping its
        // answer) hyper must allocate a new 8 KiB buffer for each read, all
        // of it fresh pages. A large one (a seat map) has its own buffer.
        if body.len() <= SMALL_BODY {
            return Ok((status, Bytes::copy_from_slice(&body)));
        }
        Ok((status, body))
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str, token: Option<&str>) -> Outcome {
        self.send(Method::GET, path, token, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&mut self, path: &str, token: Option<&str>, body: String) -> Outcome {
        self.send(Method::POST, path, token, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&mut self, path: &str, token: Option<&str>) -> Outcome {
        self.send(Method::DELETE, path, token, None).await
    }
}

/// A TCP connection to `addr` from `bind` (any local address when `None`),
/// without Nagle's delay.
pub async fn connect(addr: SocketAddr, bind: Option<IpAddr>) -> Result<TcpStream, String> {
    let stream = match bind {
        None => TcpStream::connect(addr).await,
        Some(ip) => {
            let socket = if ip.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            }
            .map_err(|e| format!("socket: {e}"))?;
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| format!("bind {ip}: {e}"))?;
            socket.connect(addr).await
        }
    }
    .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// The `id` field of a JSON object body (an order, a ticket), if any.
pub fn id_of(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct WithId {
        id: String,
    }
    serde_json::from_slice::<WithId>(body).ok().map(|w| w.id)
}
