//! Embedding the server in another tokio program.
//!
//! Some operators run `ticketing` inside a larger Rust program rather than
//! as its own process. This example shows the whole library surface they
//! need: build [`Settings`] in code, [`App::start`] them on the caller's
//! runtime, read the bound address, talk to the server over HTTP, and
//! [`RunningApp::shutdown`] it (in-flight requests finish, storage is
//! flushed). `cargo test` builds it, so the API it uses keeps compiling.
//!
//! ```sh
//! cargo run --example embedded            # data in a temporary directory
//! cargo run --example embedded -- ./data2 # data in ./data2 (kept)
//! ```
//!
//! The request is hand-written HTTP/1.1 over a `TcpStream`, so the example
//! needs no HTTP client dependency.

use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use ticketing::config::Settings;
use ticketing::{App, RunningApp};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // The library logs through `tracing`; the host program picks the
    // subscriber. Here: stderr, level from RUST_LOG (default `info`).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sled=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    // A data directory given on the command line is kept; otherwise a
    // temporary one is removed when `_temp` is dropped, after shutdown.
    let (data, _temp): (PathBuf, Option<tempfile::TempDir>) = match std::env::args_os().nth(1) {
        Some(dir) => (PathBuf::from(dir), None),
        None => {
            let temp = tempfile::tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };

    // Embedded defaults plus any TICKETING_* variables, then what this host
    // decides in code: a free port on loopback and its own data directory.
    let mut settings = Settings::load(None)?;
    settings.server.addr = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.storage.path = data;

    let app: RunningApp = App::start(settings).await?;
    let addr = app.addr();
    println!("ticketing embedded on http://{addr}");

    let result = get(addr, "/healthz").await;
    // Stop the server whatever the request's outcome.
    app.shutdown().await;
    let (status, body) = result?;
    println!("GET /healthz -> {status}: {body}");
    println!("stopped cleanly");
    if status != 200 {
        return Err(format!("unexpected status {status}").into());
    }
    Ok(())
}

/// One `GET` over a fresh connection; returns the status code and the body.
async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), Box<dyn Error>> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let response = String::from_utf8(response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or("response without a header/body separator")?;
    let status = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("malformed status line")?;
    Ok((status, body.to_owned()))
}
