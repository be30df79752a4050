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

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;
use ticketing::config::Settings;
use ticketing::{App, RunningApp};

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

// ------------------------------------------------------------ chromedriver

/// A chromedriver child process on its own port, killed on drop.
pub struct Chromedriver {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it accepts
    /// connections. Panics with a clear message when Chromium or chromedriver
    /// is not installed: these tests must not pass by skipping.
    pub async fn start(test: &str) -> Chromedriver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "browser tests need {path}, which is missing: install it with \
                 `apt-get install -y chromium chromium-driver` (.ci/run does) [package {package}]"
            );
        }
        let logs = target_dir().join("browser-logs");
        std::fs::create_dir_all(&logs).expect("create target/browser-logs");
        let mut last_error = String::new();
        // A port picked here could be taken before chromedriver binds it: retry.
        for _attempt in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(logs.join(format!("{test}-chromedriver.log")))
                .expect("chromedriver log file");
            let mut cmd = Command::new(CHROMEDRIVER);
            cmd.arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log file"))
                .stderr(log);
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {CHROMEDRIVER}: {e}"));
            let mut driver = Chromedriver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let deadline = Instant::now() + WAIT;
            loop {
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return driver;
                }
                if let Ok(Some(status)) = driver.child.try_wait() {
                    last_error = format!("chromedriver exited with {status} (port {port} taken?)");
                    break;
                }
                if Instant::now() > deadline {
                    last_error = format!("chromedriver did not listen on {port} within {WAIT:?}");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            drop(driver);
        }
        panic!("could not start chromedriver: {last_error} (see target/browser-logs/{test}-chromedriver.log)");
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // chromedriver was started as the leader of its own process group:
        // end the group (anything it left behind), then reap the child.
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

// ------------------------------------------------------------ browser

/// One headless Chromium (its own profile, so its own cookies and session).
pub struct Browser {
    /// Who this browser is in the scenario: "seller", "buyer", ...
    pub who: &'static str,
    test: &'static str,
    base: String,
    client: Option<Client>,
    _profile: TempDir,
}

impl Browser {
    async fn open(
        driver: &Chromedriver,
        test: &'static str,
        who: &'static str,
        base: &str,
    ) -> TestResult<Browser> {
        let profile = tempfile::tempdir()?;
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,900",
            "--lang=en-US",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", profile.path().display())])
        .collect::<Vec<_>>();
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
            "timeouts": { "implicit": 0, "pageLoad": 15_000, "script": 10_000 },
            "unhandledPromptBehavior": "dismiss",
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let caps: Capabilities = caps;
        let client = tokio::time::timeout(
            Duration::from_secs(30),
            ClientBuilder::new(HttpConnector::new())
                .capabilities(caps)
                .connect(&driver.url),
        )
        .await
        .map_err(|_| format!("{who}: Chromium did not start within 30 s"))?
        .map_err(|e| format!("{who}: could not start a Chromium session: {e}"))?;
        let browser = Browser {
            who,
            test,
            base: base.to_string(),
            client: Some(client),
            _profile: profile,
        };
        browser.fit_viewport(1280, 900).await?;
        Ok(browser)
    }

    /// Resizes the window so that the page's viewport is `width`x`height`
    /// (`--window-size` sizes the window, which includes the browser's frame).
    async fn fit_viewport(&self, width: u32, height: u32) -> TestResult {
        let script = "return [window.outerWidth - window.innerWidth,
                              window.outerHeight - window.innerHeight];";
        let frame = self.js(script, vec![]).await?;
        let dw = frame[0].as_u64().unwrap_or(0) as u32;
        let dh = frame[1].as_u64().unwrap_or(0) as u32;
        if (dw, dh) != (0, 0) {
            self.client()
                .set_window_size(width + dw, height + dh)
                .await?;
        }
        let inner = self
            .js("return [window.innerWidth, window.innerHeight];", vec![])
            .await?;
        ensure!(
            inner == json!([width, height]),
            "{}: viewport is {inner}, not {width}x{height}",
            self.who
        );
        Ok(())
    }

    /// The WebDriver session.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("browser is open")
    }

    /// Loads (or, on the same page, hash-navigates to) a route such as `/sell`.
    pub async fn goto(&self, route: &str) -> TestResult {
        self.client()
            .goto(&format!("{}/#{route}", self.base))
            .await?;
        Ok(())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> TestResult<Value> {
        Ok(self.client().execute(script, args).await?)
    }

    /// Runs an async script; it calls `arguments[arguments.length - 1](value)`.
    pub async fn js_async(&self, script: &str, args: Vec<Value>) -> TestResult<Value> {
        Ok(self.client().execute_async(script, args).await?)
    }

    /// Polls `script` until it returns something truthy and returns that.
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> TestResult<Value> {
        self.wait_js_for(what, WAIT, script, args).await
    }

    /// [`wait_js`](Self::wait_js) with its own deadline.
    pub async fn wait_js_for(
        &self,
        what: &str,
        limit: Duration,
        script: &str,
        args: Vec<Value>,
    ) -> TestResult<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.js(script, args.clone()).await?;
            if truthy(&value) {
                return Ok(value);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{}: timed out after {limit:?} waiting for {what} (last value {value}); page: {}",
                    self.who,
                    self.describe().await
                )
                .into());
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until an element matching `css` is rendered (present, not
    /// hidden) and returns its text.
    pub async fn wait_visible(&self, css: &str) -> TestResult<String> {
        let v = self
            .wait_js(
                &format!("{css} to be visible"),
                "const el = document.querySelector(arguments[0]);
                 if (!el || el.closest('[hidden]') || el.getClientRects().length === 0) return null;
                 return { text: el.textContent };",
                vec![json!(css)],
            )
            .await?;
        Ok(v["text"].as_str().unwrap_or_default().trim().to_string())
    }

    /// Whether an element matching `css` is rendered now.
    pub async fn is_visible(&self, css: &str) -> TestResult<bool> {
        let v = self
            .js(
                "const el = document.querySelector(arguments[0]);
                 return !!el && !el.closest('[hidden]') && el.getClientRects().length > 0;",
                vec![json!(css)],
            )
            .await?;
        Ok(v == json!(true))
    }

    /// Waits until the element matching `css` has attribute `attr` == `value`.
    pub async fn wait_attr(&self, css: &str, attr: &str, value: &str) -> TestResult {
        self.wait_js(
            &format!("{css} to have {attr}={value:?}"),
            "const el = document.querySelector(arguments[0]);
             return !!el && el.getAttribute(arguments[1]) === arguments[2];",
            vec![json!(css), json!(attr), json!(value)],
        )
        .await?;
        Ok(())
    }

    /// An attribute of the first element matching `css` (waits for it).
    pub async fn attr(&self, css: &str, attr: &str) -> TestResult<String> {
        let v = self
            .wait_js(
                &format!("{css} with attribute {attr}"),
                "const el = document.querySelector(arguments[0]);
                 return el && el.getAttribute(arguments[1]);",
                vec![json!(css), json!(attr)],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Waits for the route to match `prefix` and returns the route.
    pub async fn wait_route(&self, prefix: &str) -> TestResult<String> {
        let v = self
            .wait_js(
                &format!("the route to start with {prefix}"),
                "const r = location.hash.replace(/^#/, '');
                 return r.startsWith(arguments[0]) ? r : null;",
                vec![json!(prefix)],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Clicks the element matching `css` once it is visible. Retries while
    /// the click does not land (the live feed may re-render the element
    /// between finding and clicking it: a stale element).
    pub async fn click(&self, css: &str) -> TestResult {
        let deadline = Instant::now() + WAIT;
        loop {
            self.wait_visible(css).await?;
            let attempt = async { self.client().find(Locator::Css(css)).await?.click().await };
            match attempt.await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() < deadline => {
                    eprintln!("{}: clicking {css} failed ({e}); retrying", self.who);
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(format!("{}: cannot click {css}: {e}", self.who).into()),
            }
        }
    }

    /// Types `text` into the (cleared) input matching `css`.
    pub async fn fill(&self, css: &str, text: &str) -> TestResult {
        self.wait_visible(css).await?;
        let el = self.client().find(Locator::Css(css)).await?;
        el.clear().await?;
        el.send_keys(text).await?;
        Ok(())
    }

    /// Picks the option with `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) -> TestResult {
        self.wait_visible(css).await?;
        self.client()
            .find(Locator::Css(css))
            .await?
            .select_by_value(value)
            .await?;
        Ok(())
    }

    /// Signs up through the form and waits until the header shows the user.
    pub async fn sign_up(&self, email: &str, password: &str) -> TestResult {
        self.goto("/signup").await?;
        self.fill(&tid("signup-email"), email).await?;
        self.fill(&tid("signup-password"), password).await?;
        self.click(&tid("signup-submit")).await?;
        self.wait_signed_in(email).await
    }

    /// Signs in through the form and waits until the header shows the user.
    pub async fn sign_in(&self, email: &str, password: &str) -> TestResult {
        self.goto("/signin").await?;
        self.fill(&tid("signin-email"), email).await?;
        self.fill(&tid("signin-password"), password).await?;
        self.click(&tid("signin-submit")).await?;
        self.wait_signed_in(email).await
    }

    async fn wait_signed_in(&self, email: &str) -> TestResult {
        self.wait_js(
            &format!("the header to show {email} signed in"),
            "const el = document.querySelector('[data-testid=\"current-user\"]');
             return !!el && el.textContent.trim() === arguments[0];",
            vec![json!(email)],
        )
        .await?;
        Ok(())
    }

    /// Waits until the live feed indicator says `live`.
    pub async fn wait_live(&self) -> TestResult {
        self.wait_attr(&tid("live-indicator"), "data-state", "live")
            .await
    }

    /// Saves a screenshot as `target/screenshots/<test>-<step>.png`.
    pub async fn shot(&self, step: &str) -> TestResult<PathBuf> {
        let png = self.client().screenshot().await?;
        let path = screenshot_dir().join(format!("{}-{step}.png", self.test));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// The URL, alerts and visible text of the page, for failure messages.
    pub async fn describe(&self) -> String {
        let Some(client) = self.client.as_ref() else {
            return "(closed)".into();
        };
        let script = "const alerts = [...document.querySelectorAll('[data-testid=\"alert\"]')]
                          .map((a) => a.textContent.trim());
                      const view = document.getElementById('view');
                      return { url: location.href, alerts,
                               view: (view ? view.innerText : document.body.innerText).slice(0, 600) };";
        match client.execute(script, vec![]).await {
            Ok(v) => v.to_string(),
            Err(e) => format!("(could not read the page: {e})"),
        }
    }

    async fn close(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
        }
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

// ------------------------------------------------------------ HTTP API

/// A user created through the HTTP API.
#[derive(Clone, Debug)]
pub struct ApiUser {
    pub email: String,
    pub token: String,
}

/// A small client for the JSON API (bearer tokens, no cookies).
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(WAIT)
                .build()
                .expect("reqwest client"),
            base: base.to_string(),
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> TestResult<(u16, Value)> {
        let mut req = self
            .http
            .request(method, format!("{}/api{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok((status, value))
    }

    /// Sends a request as `token` (if any) and returns the JSON body when
    /// the status is `want` (an error naming the route otherwise).
    pub async fn expect(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        want: u16,
    ) -> TestResult<Value> {
        let what = format!("{method} {path}");
        let (status, value) = self.send(method, path, token, body).await?;
        ensure!(
            status == want,
            "{what}: expected {want}, got {status}: {value}"
        );
        Ok(value)
    }

    /// Signs a user up (password `correct horse`).
    pub async fn sign_up(&self, email: &str) -> TestResult<ApiUser> {
        let body = json!({ "email": email, "password": "correct horse" });
        let v = self
            .expect(
                reqwest::Method::POST,
                "/users/signup",
                None,
                Some(body),
                201,
            )
            .await?;
        Ok(ApiUser {
            email: email.to_string(),
            token: str_field(&v, "token")?,
        })
    }

    /// Puts a ticket on sale and returns its id.
    pub async fn sell(
        &self,
        seller: &ApiUser,
        title: &str,
        price: &str,
        date: Option<&str>,
    ) -> TestResult<String> {
        let body = json!({ "title": title, "price": price, "date": date });
        let v = self
            .expect(
                reqwest::Method::POST,
                "/tickets",
                Some(&seller.token),
                Some(body),
                201,
            )
            .await?;
        str_field(&v, "id")
    }

    /// Reserves a ticket and returns the order id.
    pub async fn reserve(&self, buyer: &ApiUser, ticket: &str) -> TestResult<String> {
        let body = json!({ "ticketId": ticket });
        let v = self
            .expect(
                reqwest::Method::POST,
                "/orders",
                Some(&buyer.token),
                Some(body),
                201,
            )
            .await?;
        str_field(&v, "id")
    }

    /// Pays for an order with `tok_visa` and returns the payment's id.
    pub async fn pay(&self, buyer: &ApiUser, order: &str) -> TestResult<String> {
        let body = json!({ "orderId": order, "token": "tok_visa" });
        let v = self
            .expect(
                reqwest::Method::POST,
                "/payments",
                Some(&buyer.token),
                Some(body),
                201,
            )
            .await?;
        str_field(&v, "id")
    }

    /// Cancels an order as its buyer.
    pub async fn cancel(&self, buyer: &ApiUser, order: &str) -> TestResult {
        self.expect(
            reqwest::Method::DELETE,
            &format!("/orders/{order}"),
            Some(&buyer.token),
            None,
            204,
        )
        .await?;
        Ok(())
    }

    /// GET `/api/orders/:id` as its buyer.
    pub async fn order(&self, buyer: &ApiUser, order: &str) -> TestResult<Value> {
        self.expect(
            reqwest::Method::GET,
            &format!("/orders/{order}"),
            Some(&buyer.token),
            None,
            200,
        )
        .await
    }

    /// GET `/api/tickets?status=any`: every ticket, whatever its status.
    pub async fn tickets(&self) -> TestResult<Vec<Value>> {
        let v = self
            .expect(
                reqwest::Method::GET,
                "/tickets?status=any&limit=1000",
                None,
                None,
                200,
            )
            .await?;
        v.as_array()
            .cloned()
            .ok_or_else(|| format!("GET /tickets: not an array: {v}").into())
    }

    /// GET `/api/tickets/:id`.
    pub async fn ticket(&self, id: &str) -> TestResult<Value> {
        self.expect(
            reqwest::Method::GET,
            &format!("/tickets/{id}"),
            None,
            None,
            200,
        )
        .await
    }
}

fn str_field(v: &Value, name: &str) -> TestResult<String> {
    v.get(name)
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| format!("no string `{name}` in {v}").into())
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
