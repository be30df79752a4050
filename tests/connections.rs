//! Careless and hostile connections: clients that never finish their headers
//! or trickle their bodies in are cut off, the connection caps (in all and
//! per client address) hold and free up again, and thousands of idle
//! connections do not stop the server from answering.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use ticketing::config::Settings;
use ticketing::App;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Reads until EOF or `limit`; returns what arrived and whether EOF came.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

async fn healthz(addr: std::net::SocketAddr) -> Duration {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (reply, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed, "healthz did not finish");
    assert!(
        reply.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path(), 600);
    settings.server.header_read_timeout_secs = 1;
    settings.server.idle_timeout_secs = 2;
    let app = App::start(settings).await.unwrap();
    let addr = app.addr();

    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /api/tickets HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        .await
        .unwrap();
    let started = Instant::now();
    // Others are served meanwhile.
    assert!(healthz(addr).await < Duration::from_secs(1));
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(5)).await;
    assert!(closed, "a half-sent request kept its connection for 5 s");
    assert!(started.elapsed() < Duration::from_secs(4));

    // A connection that never sends a byte is cut off too.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    assert!(closed, "a silent connection was kept for 5 s");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_and_frees_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path(), 600);
    settings.server.max_connections = 20;
    let app = App::start(settings).await.unwrap();
    let addr = app.addr();

    let mut held = Vec::new();
    for _ in 0..20 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        // A complete keep-alive request, so each connection is surely
        // accepted and counted before the next one.
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .expect("answer")
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        held.push(s);
    }
    // The 21st is closed at once, without an answer.
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let (reply, closed) = read_until_closed(&mut extra, Duration::from_secs(5)).await;
    assert!(closed && reply.is_empty(), "over the cap: {reply:?}");

    // Closing held connections frees their slots.
    held.truncate(10);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let _ = s
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await;
        let (reply, _) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        if reply.starts_with(b"HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "slots were never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(held);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_idle_connections_leave_the_server_responsive() {
    // Each idle connection costs this process two descriptors (both ends).
    let idle: usize = std::env::var("IDLE_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path(), 600);
    settings.server.header_read_timeout_secs = 60;
    let app = App::start(settings).await.unwrap();
    let addr = app.addr();
    let baseline = healthz(addr).await;

    let mut conns = Vec::with_capacity(idle);
    for _ in 0..idle {
        conns.push(
            TcpStream::connect(addr)
                .await
                .expect("connect while others idle"),
        );
    }
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        worst = worst.max(healthz(addr).await);
    }
    println!("{idle} idle connections: healthz baseline {baseline:?}, worst of 20 {worst:?}");
    assert!(worst < Duration::from_secs(2), "healthz took {worst:?}");
    drop(conns);
    app.shutdown().await;
}

/// The JSON body of a raw HTTP/1.1 response.
fn json_body(reply: &[u8]) -> Value {
    let text = String::from_utf8_lossy(reply);
    let (_, body) = text.split_once("\r\n\r\n").expect("a complete response");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Asserts the contract's error shape: one message, no field.
fn assert_error_body(body: &Value) {
    let errors = body["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{body}");
    assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(errors[0].get("field").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_a_byte_at_a_time_gets_408_and_its_connection_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path(), 600);
    // The header and idle timeouts are the defaults (10 s, 60 s): a byte
    // every 300 ms keeps both of them happy.
    settings.server.body_read_timeout_secs = 1;
    let app = App::start(settings).await.unwrap();

    let mut slow = TcpStream::connect(app.addr()).await.unwrap();
    slow.write_all(
        b"POST /api/users/signup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n",
    )
    .await
    .unwrap();
    let started = Instant::now();
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    // A byte, then 300 ms of listening, until the server says something.
    while reply.is_empty() && started.elapsed() < Duration::from_secs(8) {
        if slow.write_all(b" ").await.is_err() {
            break;
        }
        match tokio::time::timeout(Duration::from_millis(300), slow.read(&mut buf)).await {
            Ok(Ok(n)) => {
                reply.extend_from_slice(&buf[..n]);
                if n == 0 {
                    break;
                }
            }
            Ok(Err(_)) => break,
            Err(_) => {}
        }
    }
    let answered = started.elapsed();
    let (rest, closed) = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    reply.extend_from_slice(&rest);
    assert!(
        reply.starts_with(b"HTTP/1.1 408"),
        "after {answered:?}: {}",
        String::from_utf8_lossy(&reply)
    );
    assert!(
        answered >= Duration::from_millis(900) && answered < Duration::from_secs(3),
        "408 after {answered:?} with a 1 s deadline"
    );
    assert_error_body(&json_body(&reply));
    assert!(closed, "the connection stayed open after the 408");
    app.shutdown().await;
}

/// Routes outside `/api` read no body; the body deadline does not cover
/// them, so a trickled body must not keep their connection either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_no_route_reads_does_not_keep_its_connection() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(Settings::for_tests(dir.path(), 600))
        .await
        .unwrap();
    let mut slow = TcpStream::connect(app.addr()).await.unwrap();
    slow.write_all(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let (reply, closed) = read_until_closed(&mut slow, Duration::from_secs(3)).await;
    assert!(
        reply.starts_with(b"HTTP/1.1 404"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    assert!(closed, "a connection with an unread body was kept");
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_but_steady_body_is_read_past_the_base_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path(), 600);
    settings.server.body_read_timeout_secs = 1;
    settings.server.body_min_bytes_per_sec = 100;
    let app = App::start(settings).await.unwrap();

    let body = format!(
        r#"{{"email":"steady@example.com","password":"long enough","pad":"{}"}}"#,
        "x".repeat(360)
    );
    let mut s = TcpStream::connect(app.addr()).await.unwrap();
    s.write_all(
        format!(
            "POST /api/users/signup HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // About 270 bytes/s: over the minimum rate, and longer than the 1 s
    // every body gets.
    let started = Instant::now();
    for chunk in body.as_bytes().chunks(40) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        s.write_all(chunk).await.unwrap_or_else(|e| {
            panic!(
                "the server stopped reading after {:?}: {e}",
                started.elapsed()
            )
        });
    }
    let sent = started.elapsed();
    let (reply, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    assert!(closed);
    assert!(sent > Duration::from_millis(1200), "sent in {sent:?}");
    assert!(
        reply.starts_with(b"HTTP/1.1 201"),
        "after {sent:?}: {}",
        String::from_utf8_lossy(&reply)
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http2_body_sent_slowly_gets_408_and_the_connection_serves_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path(), 600);
    settings.server.body_read_timeout_secs = 1;
    let app = App::start(settings).await.unwrap();

    let tcp = TcpStream::connect(app.addr()).await.unwrap();
    let (mut h2, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("h2c prior knowledge");
    tokio::spawn(conn);
    // A byte every 300 ms, for ever.
    let trickle = futures_util::stream::unfold((), |()| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Some((
            Ok::<_, Infallible>(Frame::data(Bytes::from_static(b" "))),
            (),
        ))
    });
    let req = hyper::Request::post(format!("http://{}/api/users/signup", app.addr()))
        .header("content-type", "application/json")
        .body(StreamBody::new(trickle).boxed())
        .unwrap();
    let started = Instant::now();
    let res = tokio::time::timeout(Duration::from_secs(8), h2.send_request(req))
        .await
        .expect("no answer in 8 s to a trickled HTTP/2 body")
        .expect("response");
    let answered = started.elapsed();
    assert_eq!(res.status(), 408, "after {answered:?}");
    assert!(answered < Duration::from_secs(3), "408 after {answered:?}");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_error_body(&serde_json::from_slice(&body).unwrap());

    // Only that stream was refused: the connection still serves.
    let req = hyper::Request::get(format!("http://{}/healthz", app.addr()))
        .body(Empty::<Bytes>::new().map_err(|e| match e {}).boxed())
        .unwrap();
    let res = tokio::time::timeout(Duration::from_secs(5), h2.send_request(req))
        .await
        .expect("healthz in time")
        .expect("healthz");
    assert_eq!(res.status(), 200);
    app.shutdown().await;
}

/// A connection to `addr` from `from` (any 127.0.0.0/8 address on Linux).
async fn connect_from(from: &str, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(addr).await.expect("connect")
}

/// Whether a keep-alive `GET /healthz` on `s` is answered 200 (the
/// connection stays open).
async fn served(s: &mut TcpStream) -> bool {
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 512];
    match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
        Ok(Ok(n)) => buf[..n].starts_with(b"HTTP/1.1 200"),
        _ => false,
    }
}

/// Whether a new connection from `from` is closed at once, unanswered.
async fn refused(from: &str, addr: SocketAddr) -> bool {
    let started = Instant::now();
    let mut s = connect_from(from, addr).await;
    let _ = s
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await;
    let (reply, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
    closed && reply.is_empty() && started.elapsed() < Duration::from_secs(2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_its_connection_cap_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path(), 600);
    settings.server.max_connections_per_addr = 3;
    let app = App::start(settings).await.unwrap();
    let addr = app.addr();

    let mut held = Vec::new();
    for _ in 0..3 {
        let mut s = connect_from("127.0.0.1", addr).await;
        assert!(served(&mut s).await);
        held.push(s);
    }
    assert!(
        refused("127.0.0.1", addr).await,
        "a 4th connection from one address was not closed at once"
    );
    // Another address is served, and the three still work.
    let mut other = connect_from("127.0.0.2", addr).await;
    assert!(served(&mut other).await, "another address was refused");
    for s in &mut held {
        assert!(served(s).await, "a held connection stopped working");
    }

    // The refusal is counted (metrics are per process: at least this one).
    held[0]
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (page, closed) = read_until_closed(&mut held[0], Duration::from_secs(5)).await;
    assert!(closed);
    let page = String::from_utf8_lossy(&page);
    let count: f64 = page
        .lines()
        .find(|l| l.starts_with(r#"connections_refused_total{reason="max_connections_per_addr"}"#))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no per-address refusal counted:\n{page}"));
    assert!(count >= 1.0);

    // That connection closed, so a new one from the address is taken again.
    held.remove(0);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = connect_from("127.0.0.1", addr).await;
        if served(&mut s).await {
            held.push(s);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the address's slot was never freed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused("127.0.0.1", addr).await, "the cap no longer holds");
    drop(held);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_address_cap_is_off_behind_a_trusted_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path(), 600);
    settings.server.max_connections_per_addr = 2;
    settings.limits.trust_forwarded_for = true;
    let app = App::start(settings).await.unwrap();

    let mut held = Vec::new();
    for n in 0..6 {
        let mut s = connect_from("127.0.0.1", app.addr()).await;
        assert!(
            served(&mut s).await,
            "connection {n} from the proxy refused"
        );
        held.push(s);
    }
    drop(held);
    app.shutdown().await;
}
