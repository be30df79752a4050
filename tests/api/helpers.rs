//! `spawn_app`: the real server on port 0 in a temporary data directory (on
//! the system clock, or on a manual clock a test moves by hand), plus
//! hand-rolled JWT tools (base64url, SHA-256, HMAC) for forging tokens.
//!
//! The store is the test binary's (`crate::STORE`): sled in that directory,
//! or a fresh database of the binary's PostgreSQL cluster, kept across
//! restarts like the directory.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::ops::Deref;
use std::time::Duration;

use tempfile::TempDir;
use ticketing::clock::{Clock, ManualClock};
use ticketing::config::{Settings, StoreBackend};
use ticketing::domain::Timestamp;
use ticketing::storage::Storage;
use ticketing::{App, RunningApp, Wiring};

pub use crate::client::*;
use crate::postgres::PgCluster;

/// A hold window long enough never to expire during a test.
pub const LONG_HOLD_SECS: u64 = 600;

/// The hold window (and session lifetime) of tests on a manual clock: longer
/// than any real wait in a test, so only moving the clock can end it.
pub const HOLD_SECS: u64 = 60;

/// Wraps the server's store once opened.
pub type StoreLayer = std::sync::Arc<dyn Fn(Storage) -> Storage + Send + Sync>;

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    pub api: Api,
    pub addr: SocketAddr,
    pub settings: Settings,
    /// The clock the server runs on, when a test moves it (kept across
    /// restarts); `None`: the system clock.
    manual: Option<ManualClock>,
    /// What wraps the store (a fault injector), kept across restarts.
    store_layer: Option<StoreLayer>,
    app: Option<RunningApp>,
    /// Dropped last: the data directory (on PostgreSQL, the database is
    /// `settings.storage.postgres_url`'s).
    pub dir: TempDir,
}

impl Deref for TestApp {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

/// The server with the test defaults and a long hold window.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(LONG_HOLD_SECS, |_| {}).await
}

/// The server with `reservation_secs` and any other tweak to its settings.
pub async fn spawn_app_with(reservation_secs: u64, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(reservation_secs, tweak, None, None).await
}

/// The server with its store wrapped by `layer` (at every start), e.g. a
/// store that refuses commits on demand.
pub async fn spawn_app_with_store_layer(layer: StoreLayer) -> TestApp {
    spawn(LONG_HOLD_SECS, |_| {}, None, Some(layer)).await
}

/// The server on a manual clock that stands at the current whole second until
/// the test moves it with [`TestApp::clock`]: holds, expiry and sessions are
/// tested without real waiting.
pub async fn spawn_app_on_manual_clock(
    reservation_secs: u64,
    tweak: impl FnOnce(&mut Settings),
) -> TestApp {
    let start = Timestamp(Timestamp::now().0 / 1000 * 1000);
    spawn(
        reservation_secs,
        tweak,
        Some(ManualClock::starting_at(start)),
        None,
    )
    .await
}

async fn spawn(
    reservation_secs: u64,
    tweak: impl FnOnce(&mut Settings),
    manual: Option<ManualClock>,
    store_layer: Option<StoreLayer>,
) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = Settings::for_tests(dir.path(), reservation_secs);
    if crate::STORE == StoreBackend::Postgres {
        settings.storage.backend = StoreBackend::Postgres;
        settings.storage.postgres_url = PgCluster::shared().fresh_database().await;
    }
    tweak(&mut settings);
    let app = start(settings.clone(), wiring(&manual, &store_layer)).await;
    let addr = app.addr();
    TestApp {
        api: Api::new(format!("http://{addr}")),
        addr,
        settings,
        manual,
        store_layer,
        app: Some(app),
        dir,
    }
}

fn wiring(manual: &Option<ManualClock>, store_layer: &Option<StoreLayer>) -> Wiring {
    Wiring {
        clock: manual
            .as_ref()
            .map_or_else(Clock::system, ManualClock::clock),
        store_layer: store_layer.clone(),
    }
}

async fn start(settings: Settings, wiring: Wiring) -> RunningApp {
    tokio::time::timeout(Duration::from_secs(20), App::start_with(settings, wiring))
        .await
        .expect("App::start took more than 20 s")
        .expect("App::start")
}

/// Real time the server gets to act on a clock move that must change
/// nothing, before the test checks that it did not.
pub const SETTLE: Duration = Duration::from_millis(200);

/// Real time the server may take to act on a clock move that must change
/// something (a hold released by its timer).
pub const ACT_WITHIN: Duration = Duration::from_secs(2);

/// `expiresAt` (or any RFC 3339 field) as a server timestamp.
#[track_caller]
pub fn timestamp(v: &serde_json::Value) -> Timestamp {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    Timestamp::parse_rfc3339(s).unwrap_or_else(|| panic!("not RFC 3339: {s:?}"))
}

impl TestApp {
    /// The manual clock the server runs on (for apps from
    /// [`spawn_app_on_manual_clock`]).
    #[track_caller]
    pub fn clock(&self) -> &ManualClock {
        self.manual
            .as_ref()
            .expect("this app runs on the system clock: use spawn_app_on_manual_clock")
    }

    /// Graceful stop, then a fresh start on the same data directory and the
    /// same clock (the port may change; `api` follows it).
    pub async fn restart(&mut self) {
        self.stop().await;
        let app = start(
            self.settings.clone(),
            wiring(&self.manual, &self.store_layer),
        )
        .await;
        self.addr = app.addr();
        self.api = Api::new(format!("http://{}", self.addr));
        self.app = Some(app);
    }

    /// Graceful stop.
    pub async fn stop(&mut self) {
        if let Some(app) = self.app.take() {
            tokio::time::timeout(Duration::from_secs(20), app.shutdown())
                .await
                .expect("shutdown took more than 20 s");
        }
    }
}

// ---- JWT forging -------------------------------------------------------------

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding.
pub fn b64url(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Decodes base64url (padding tolerated).
pub fn b64url_decode(s: &str) -> Vec<u8> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = B64
            .iter()
            .position(|&x| x == c)
            .or(match c {
                b'+' => Some(62),
                b'/' => Some(63),
                _ => None,
            })
            .unwrap_or_else(|| panic!("not base64url: {s}")) as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    out
}

/// SHA-256 (FIPS 180-4).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64) * 8;
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (i, x) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&sha256(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Vec::with_capacity(64 + msg.len());
    inner.extend(k.iter().map(|b| b ^ 0x36));
    inner.extend_from_slice(msg);
    let ih = sha256(&inner);
    let mut outer = Vec::with_capacity(96);
    outer.extend(k.iter().map(|b| b ^ 0x5c));
    outer.extend_from_slice(&ih);
    sha256(&outer)
}

/// The three segments of a compact JWS.
pub fn jwt_parts(token: &str) -> (String, String, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three segments: {token}");
    (
        parts[0].to_string(),
        parts[1].to_string(),
        parts[2].to_string(),
    )
}

/// The decoded header and claims of a token.
pub fn jwt_decode(token: &str) -> (serde_json::Value, serde_json::Value) {
    let (h, p, _) = jwt_parts(token);
    let header = serde_json::from_slice(&b64url_decode(&h)).expect("header JSON");
    let claims = serde_json::from_slice(&b64url_decode(&p)).expect("claims JSON");
    (header, claims)
}

/// `header.claims.HMAC-SHA256(key)`.
pub fn jwt_sign(header: &serde_json::Value, claims: &serde_json::Value, key: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let sig = hmac_sha256(key, signing_input.as_bytes());
    format!("{signing_input}.{}", b64url(&sig))
}

#[test]
fn sha256_and_hmac_match_known_vectors() {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    assert_eq!(
        hex(&sha256(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    // RFC 4231 test case 2.
    assert_eq!(
        hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(b64url(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw");
    assert_eq!(b64url_decode("YW55IGNhcm5hbCBwbGVhcw"), b"any carnal pleas");
    assert_eq!(b64url_decode(&b64url(b"ab")), b"ab");
}

/// One test at a time among those that keep both cores busy for seconds
/// (thousands of writes, megabytes of live snapshots) and those that
/// measure time: each holds this for its whole run, so none of them
/// measures or waits on another's load. (Signin timings, where the hashes
/// run at nice 19 and starve under any load, have `tests/timing.rs`.)
pub async fn heavy_or_timed() -> tokio::sync::MutexGuard<'static, ()> {
    static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    ONE.lock().await
}
