//! The browser-test harness: the server in-process (or, for tests that stop
//! and restart it under running browsers, the binary as a child process on a
//! fixed port), a chromedriver child process per test, headless Chromium
//! sessions driven with fantoccini, and a small HTTP API client (reqwest) for
//! setting up data quickly.
//!
//! Every wait is a poll with a deadline ([`WAIT`]), so a broken UI fails the
//! test within seconds instead of hanging CI. A failing test saves a
//! screenshot of every browser (`target/screenshots/<test>-failure-<who>.png`)
//! and prints what each page showed.
//!
//! The parts live in `harness/`: the chromedriver process in
//! `chromedriver.rs`, a browser session and its waits in `browser.rs`, the
//! JSON API client in `api.rs`. This file holds what they share (the waits'
//! deadlines, `ensure!`, `tid`) and one test's world, [`Env`].

#[path = "harness/api.rs"]
mod api;
#[path = "harness/browser.rs"]
mod browser;
#[path = "harness/chromedriver.rs"]
mod chromedriver;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tempfile::TempDir;
use ticketing::config::Settings;
use ticketing::{App, RunningApp};

use self::api::Api;
pub use self::api::ApiUser;
pub use self::browser::Browser;
use self::chromedriver::Chromedriver;
use crate::child;

/// Errors inside a scenario: WebDriver, HTTP, or a failed expectation.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// What scenario steps return.
pub type TestResult<T = ()> = Result<T, Error>;

/// A script (for `execute_async`) reporting the layout shifts recorded since
/// the page loaded (buffered entries) and the elements that moved:
/// `{total, moved}`.
pub const LAYOUT_SHIFTS: &str = "const done = arguments[arguments.length - 1];
    const entries = [];
    new PerformanceObserver((list) => entries.push(...list.getEntries()))
      .observe({ type: 'layout-shift', buffered: true });
    setTimeout(() => done({
      total: entries.filter((e) => !e.hadRecentInput).reduce((s, e) => s + e.value, 0),
      moved: entries.flatMap((e) => (e.sources || []).map((s) =>
        s.node ? (s.node.className?.baseVal ?? s.node.className ?? s.node.nodeName) + '' : '?')),
    }), 300);";

/// How long any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a whole scenario may take.
const SCENARIO_LIMIT: Duration = Duration::from_secs(90);
/// How often waits poll the page.
const POLL: Duration = Duration::from_millis(25);

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Returns early from a scenario with an error when `cond` is false.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+).into());
        }
    };
}

/// `[data-testid="name"]`.
pub fn tid(name: &str) -> String {
    format!("[data-testid=\"{name}\"]")
}

/// The Cargo target directory (for screenshots and logs).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// `target/screenshots`, created on first use.
pub fn screenshot_dir() -> PathBuf {
    let dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

// ------------------------------------------------------------ one test's world

/// The server under test.
enum Server {
    /// In this process, on port 0 (most tests).
    InProcess(RunningApp),
    /// The binary as a child process, stopped and started again on the same
    /// port and data directory by [`Env::stop_server`] and
    /// [`Env::start_server`]: the browsers' pages stay open meanwhile.
    Child(ChildServer),
}

/// The child-process server's state between restarts.
struct ChildServer {
    /// The running process; None while stopped.
    process: Mutex<Option<child::Server>>,
    /// `TICKETING_SERVER__ADDR` for every start after the first.
    addr: String,
    hold_secs: u64,
    data: PathBuf,
    logs: TempDir,
}

/// A running server, a chromedriver and some browsers, for one test.
pub struct Env {
    pub test: &'static str,
    pub api: Api,
    pub browsers: Vec<Browser>,
    server: Option<Server>,
    driver: Chromedriver,
    _dir: TempDir,
}

impl Env {
    /// Starts the server in-process with a hold window of `hold_secs`, a
    /// chromedriver, and one browser per name in `who`.
    pub async fn start(test: &'static str, hold_secs: u64, who: &[&'static str]) -> Env {
        Env::start_with(test, hold_secs, who, |_| {}).await
    }

    /// Like [`start`](Self::start), with settings changed by `configure`
    /// (e.g. the waiting room's `queue.active_buyers`).
    pub async fn start_with(
        test: &'static str,
        hold_secs: u64,
        who: &[&'static str],
        configure: impl FnOnce(&mut Settings),
    ) -> Env {
        let driver = Chromedriver::start(test).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = Settings::for_tests(dir.path(), hold_secs);
        settings.orders.reservation_secs = hold_secs;
        configure(&mut settings);
        let app = tokio::time::timeout(Duration::from_secs(20), App::start(settings))
            .await
            .expect("App::start took more than 20 s")
            .expect("App::start");
        let base = format!("http://{}", app.addr());
        Env::with_browsers(test, who, driver, dir, base, Server::InProcess(app)).await
    }

    /// Like [`start`](Self::start), but the server is the `ticketing` binary
    /// as a child process, which the test can stop and start again.
    pub async fn start_child(test: &'static str, hold_secs: u64, who: &[&'static str]) -> Env {
        let driver = Chromedriver::start(test).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = tempfile::tempdir().expect("tempdir for logs");
        let first = child::spawn_server(dir.path(), logs.path(), hold_secs, &[]);
        let base = first.api.base.clone();
        let addr = base.trim_start_matches("http://").to_string();
        let server = Server::Child(ChildServer {
            process: Mutex::new(Some(first)),
            addr,
            hold_secs,
            data: dir.path().to_path_buf(),
            logs,
        });
        Env::with_browsers(test, who, driver, dir, base, server).await
    }

    async fn with_browsers(
        test: &'static str,
        who: &[&'static str],
        driver: Chromedriver,
        dir: TempDir,
        base: String,
        server: Server,
    ) -> Env {
        let mut env = Env {
            test,
            api: Api::new(&base),
            browsers: Vec::new(),
            server: Some(server),
            driver,
            _dir: dir,
        };
        for &name in who {
            match Browser::open(&env.driver, test, name, &base).await {
                Ok(b) => env.browsers.push(b),
                Err(e) => {
                    env.close().await;
                    panic!("{test}: {e} (see target/browser-logs/{test}-chromedriver.log)");
                }
            }
        }
        env
    }

    fn child(&self) -> &ChildServer {
        match &self.server {
            Some(Server::Child(c)) => c,
            _ => panic!(
                "{}: only a server started by Env::start_child restarts",
                self.test
            ),
        }
    }

    /// Stops the child-process server (SIGTERM, then waits for its exit):
    /// the port refuses connections until [`start_server`](Self::start_server).
    pub async fn stop_server(&self) -> TestResult {
        let Some(mut process) = self.child().process.lock().expect("server lock").take() else {
            return Err("stop_server: the server is not running".into());
        };
        process.signal("-TERM");
        let status = process.wait_exit(Duration::from_secs(20)).await;
        ensure!(
            status.success(),
            "the server exited with {status} on SIGTERM"
        );
        Ok(())
    }

    /// Starts the child-process server again on the same port and data
    /// directory.
    pub fn start_server(&self) -> TestResult {
        let c = self.child();
        let mut process = c.process.lock().expect("server lock");
        ensure!(process.is_none(), "start_server: the server is running");
        let extra = [("TICKETING_SERVER__ADDR", c.addr.as_str())];
        *process = Some(child::spawn_server(
            &c.data,
            c.logs.path(),
            c.hold_secs,
            &extra,
        ));
        Ok(())
    }

    /// Closes the browsers and stops the server.
    async fn close(&mut self) {
        for b in &mut self.browsers {
            b.close().await;
        }
        match self.server.take() {
            Some(Server::InProcess(app)) => {
                let _ = tokio::time::timeout(Duration::from_secs(20), app.shutdown()).await;
            }
            // A child server is killed when dropped, here.
            Some(Server::Child(_)) | None => {}
        }
    }

    /// The browser named `who`.
    pub fn browser(&self, who: &str) -> &Browser {
        self.browsers
            .iter()
            .find(|b| b.who == who)
            .unwrap_or_else(|| panic!("no browser named {who}"))
    }

    /// Always closes the browsers and stops the server. When the scenario
    /// failed it first saves a screenshot of every browser and prints what
    /// each one showed, and then fails the test.
    pub async fn finish(mut self, outcome: Outcome) {
        let Outcome(outcome, elapsed) = outcome;
        let failure: Option<String> = match &outcome {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err(e))) => Some(e.to_string()),
            Ok(Err(_)) => Some(format!("scenario took more than {SCENARIO_LIMIT:?}")),
            Err(_) => Some("panicked (message above)".into()),
        };
        if failure.is_some() {
            for b in &self.browsers {
                if b.client.is_some() {
                    let shot = b.shot(&format!("failure-{}", b.who)).await;
                    eprintln!(
                        "{} [{}] at failure: {} (screenshot: {:?})",
                        self.test,
                        b.who,
                        b.describe().await,
                        shot.map_err(|e| e.to_string())
                    );
                }
            }
        }
        self.close().await;
        eprintln!("{}: scenario took {elapsed:.1?}", self.test);
        match outcome {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(_) => {
                if let Some(why) = failure {
                    panic!("{}: {why}", self.test);
                }
            }
        }
    }
}

/// How a scenario ended: its result, a timeout, or a panic; and how long it ran.
pub struct Outcome(
    Result<Result<TestResult, tokio::time::error::Elapsed>, Box<dyn std::any::Any + Send>>,
    Duration,
);

/// Runs a scenario with a time limit, catching a panic so that
/// [`Env::finish`] can still clean up:
/// `let outcome = guarded(scenario(&env)).await; env.finish(outcome).await;`
pub async fn guarded(scenario: impl Future<Output = TestResult>) -> Outcome {
    let started = Instant::now();
    let result = AssertUnwindSafe(tokio::time::timeout(SCENARIO_LIMIT, scenario))
        .catch_unwind()
        .await;
    Outcome(result, started.elapsed())
}
