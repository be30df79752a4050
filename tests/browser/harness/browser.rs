//! One headless Chromium session of the browser-test harness and what
//! scenarios do with it: navigate, run scripts, wait (each wait a poll with
//! a deadline), click, type, sign up or in, take screenshots.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use tempfile::TempDir;

use super::chromedriver::Chromedriver;
use super::{screenshot_dir, tid, TestResult, CHROMIUM, POLL, WAIT};
use crate::ensure;

// ------------------------------------------------------------ browser

/// One headless Chromium (its own profile, so its own cookies and session).
pub struct Browser {
    /// Who this browser is in the scenario: "seller", "buyer", ...
    pub who: &'static str,
    test: &'static str,
    base: String,
    pub(super) client: Option<Client>,
    _profile: TempDir,
}

impl Browser {
    pub(super) async fn open(
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

    pub(super) async fn close(&mut self) {
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
