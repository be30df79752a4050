//! Careless and hostile connections: clients that never finish their headers
//! are cut off, the connection cap holds (and frees up again), and thousands
//! of idle connections do not stop the server from answering.

use std::time::{Duration, Instant};

use ticketing::config::Settings;
use ticketing::App;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
