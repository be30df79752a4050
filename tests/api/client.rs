//! A small JSON client for the ticketing HTTP contract (`/work/shared/API.md`),
//! shared by the in-process suite (`tests/api`) and the child-process suites
//! (`tests/process/`, `tests/torture/` and others, which include this file
//! with `#[path]`).
//!
//! Every response goes through [`Api::send`], which fails the test on any 5xx
//! and decodes the body as JSON, so no test can silently accept a crash.
//!
//! The parts live in `client/`: a decoded response and its assertions in
//! `resp.rs`, the client itself and its calls in `api.rs`, reading ids,
//! versions and timestamps out of bodies in `values.rs`. This file holds the
//! reqwest clients, the users and how a request authenticates, and
//! [`eventually`]; it re-exports the parts, so callers use `client::Api`,
//! `client::Resp` and so on as before. The parts are declared with
//! `#[path]` because the includers that use `#[path]` make this file a
//! `mod.rs`-like module whose plain `mod` children would be looked for
//! beside it rather than in `client/`.
#![allow(dead_code)]

#[path = "client/api.rs"]
mod api;
#[path = "client/resp.rs"]
mod resp;
#[path = "client/values.rs"]
mod values;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Client;

// Each includer uses only some of the parts (as `dead_code` is allowed above,
// for the same reason): an unused re-export is not an error.
#[allow(unused_imports)]
pub use api::{all_seats, Api};
#[allow(unused_imports)]
pub use resp::Resp;
#[allow(unused_imports)]
pub use values::{id_of, parse_time, version_of};

/// Every request gives up after this long, so a hung server fails the test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A client without a cookie store (for Bearer flows and hand-made headers).
pub fn plain_client() -> Client {
    Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build reqwest client")
}

/// A client without a cookie store that waits a minute: for requests that
/// wait on a bcrypt hash at a cost above the tests' 4. Hashes run at the
/// lowest priority, so on a machine saturated by other tests one can take
/// far longer than [`REQUEST_TIMEOUT`], though the server is not hung.
pub fn patient_client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build reqwest client")
}

/// A client that keeps cookies, like a browser.
pub fn cookie_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build reqwest client")
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// An email no other test uses.
pub fn unique_email() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("user{n}x{nanos}@example.com")
}

/// A signed-up user with a browser-like client holding its session cookie.
#[derive(Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    /// Client whose cookie store holds this user's session.
    pub jar: Client,
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    /// `Authorization: Bearer <user.token>` (no cookie).
    Bearer(&'a User),
    /// The user's cookie jar (no Authorization header).
    Cookie(&'a User),
    /// `Authorization: Bearer <raw>`.
    Token(&'a str),
    /// `Cookie: session=<raw>` sent by hand.
    RawCookie(&'a str),
}

/// Cookie or Bearer, for tests that run both ways.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    Cookie,
    Bearer,
}

pub const MODES: [Mode; 2] = [Mode::Cookie, Mode::Bearer];

impl Mode {
    pub fn auth(self, u: &User) -> Auth<'_> {
        match self {
            Mode::Cookie => Auth::Cookie(u),
            Mode::Bearer => Auth::Bearer(u),
        }
    }
}

/// Polls `f` every 50 ms until it returns `Some`, or panics after `within`.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {within:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
