//! A small JSON client for the ticketing HTTP contract (`/work/shared/API.md`),
//! shared by the in-process suite (`tests/api`) and the child-process suites
//! (`tests/process.rs` and `tests/torture/`, which include this file with
//! `#[path]`).
//!
//! Every response goes through [`Api::send`], which fails the test on any 5xx
//! and decodes the body as JSON, so no test can silently accept a crash.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{json, Value};

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

/// A decoded response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON; `Value::Null` for an empty body.
    pub body: Value,
    /// What was asked, for failure messages.
    pub what: String,
}

impl Resp {
    /// Asserts the status code, printing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "{}: expected {status}, got {} with body {}",
            self.what, self.status, self.text
        );
        self
    }

    /// Asserts a JSON body with the expected status and returns the body.
    #[track_caller]
    pub fn json(&self, status: u16) -> Value {
        self.expect(status);
        self.assert_json_content_type();
        self.body.clone()
    }

    #[track_caller]
    pub fn assert_json_content_type(&self) {
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            ct.to_ascii_lowercase().starts_with("application/json"),
            "{}: expected a JSON content type, got {ct:?} (status {}, body {})",
            self.what,
            self.status,
            self.text
        );
    }

    /// Asserts the contract's error shape: `{"errors":[{"message":..., "field"?:...}]}`
    /// with a non-empty message in every entry. When `message` is given some
    /// entry carries exactly that message (and `field`, when given, on the same
    /// entry); when only `field` is given some entry carries that field.
    #[track_caller]
    pub fn error(&self, status: u16, message: Option<&str>, field: Option<&str>) -> &Self {
        self.expect(status);
        self.assert_json_content_type();
        let errors = self
            .body
            .get("errors")
            .and_then(|e| e.as_array())
            .unwrap_or_else(|| panic!("{}: no `errors` array in {}", self.what, self.text));
        assert!(
            !errors.is_empty(),
            "{}: empty `errors` in {}",
            self.what,
            self.text
        );
        for e in errors {
            let m = e
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or_else(|| {
                    panic!(
                        "{}: error entry without a string message: {}",
                        self.what, self.text
                    )
                });
            assert!(
                !m.trim().is_empty(),
                "{}: empty message in {}",
                self.what,
                self.text
            );
            if let Some(f) = e.get("field") {
                assert!(
                    f.is_string() || f.is_null(),
                    "{}: field not a string: {}",
                    self.what,
                    self.text
                );
            }
        }
        let matches = |e: &Value| {
            message.is_none_or(|m| e.get("message").and_then(|v| v.as_str()) == Some(m))
                && field.is_none_or(|f| e.get("field").and_then(|v| v.as_str()) == Some(f))
        };
        assert!(
            errors.iter().any(matches),
            "{}: expected an error with message {message:?} and field {field:?}, got {}",
            self.what,
            self.text
        );
        self
    }

    /// The `(field, message)` of every error of a 400, in order (the
    /// answer checked to be one first).
    pub fn problems(&self) -> Vec<(String, String)> {
        self.error(400, None, None);
        self.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let field = e["field"].as_str().unwrap_or("").to_owned();
                (field, e["message"].as_str().unwrap().to_owned())
            })
            .collect()
    }

    /// The fields named in the error entries.
    pub fn error_fields(&self) -> Vec<String> {
        self.body
            .get("errors")
            .and_then(|e| e.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("field").and_then(|f| f.as_str()).map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("<non-ascii>").to_string())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect()
    }
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

/// The server's HTTP API at `base`.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: Client,
}

impl Api {
    pub fn new(base: String) -> Self {
        Api {
            base,
            http: plain_client(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `http://host:port`, the server's own origin as a browser would send it.
    pub fn origin(&self) -> String {
        self.base.clone()
    }

    /// Starts a request with the given authentication.
    pub fn request(&self, method: Method, path: &str, auth: Auth<'_>) -> RequestBuilder {
        let url = self.url(path);
        match auth {
            Auth::None => self.http.request(method, url),
            Auth::Bearer(u) => self.http.request(method, url).bearer_auth(&u.token),
            Auth::Token(t) => self
                .http
                .request(method, url)
                .header("authorization", format!("Bearer {t}")),
            Auth::Cookie(u) => u.jar.request(method, url),
            Auth::RawCookie(t) => self
                .http
                .request(method, url)
                .header("cookie", format!("session={t}")),
        }
    }

    /// Sends, fails the test on transport errors and 5xx, decodes the body.
    pub async fn send(&self, what: String, rb: RequestBuilder) -> Resp {
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: request failed: {e:?}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{what}: reading body failed: {e:?}"));
        let text = String::from_utf8_lossy(&bytes).to_string();
        assert!(status < 500, "{what}: server error {status}: {text}");
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Resp {
            status,
            headers,
            text,
            body,
            what,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Resp {
        let what = format!("{method} {path}");
        let mut rb = self.request(method, path, auth);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        self.send(what, rb).await
    }

    /// Sends `body` verbatim with the given content type (`None`: no header).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Resp {
        let what = format!("{method} {path} ({content_type:?} raw body)");
        let mut rb = self.request(method, path, auth).body(body);
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        self.send(what, rb).await
    }

    /// POSTs a raw JSON text.
    pub async fn post_text(&self, path: &str, auth: Auth<'_>, text: &str) -> Resp {
        self.raw(
            Method::POST,
            path,
            auth,
            Some("application/json"),
            text.to_string(),
        )
        .await
    }

    pub async fn get(&self, path: &str, auth: Auth<'_>) -> Resp {
        self.call(Method::GET, path, auth, None).await
    }
    pub async fn post(&self, path: &str, auth: Auth<'_>, body: Value) -> Resp {
        self.call(Method::POST, path, auth, Some(body)).await
    }
    pub async fn put(&self, path: &str, auth: Auth<'_>, body: Value) -> Resp {
        self.call(Method::PUT, path, auth, Some(body)).await
    }
    pub async fn delete(&self, path: &str, auth: Auth<'_>) -> Resp {
        self.call(Method::DELETE, path, auth, None).await
    }

    // ---- users -------------------------------------------------------------

    /// POST /api/users/signup through `client` (a cookie client keeps the session).
    pub async fn signup_raw(&self, client: &Client, email: &str, password: &str) -> Resp {
        let rb = client
            .post(self.url("/api/users/signup"))
            .json(&json!({"email": email, "password": password}));
        self.send(format!("POST /api/users/signup {email}"), rb)
            .await
    }

    pub async fn signin_raw(&self, client: &Client, email: &str, password: &str) -> Resp {
        let rb = client
            .post(self.url("/api/users/signin"))
            .json(&json!({"email": email, "password": password}));
        self.send(format!("POST /api/users/signin {email}"), rb)
            .await
    }

    /// Signs up a fresh user and checks the success shape.
    pub async fn signup(&self) -> User {
        self.signup_as(&unique_email(), "correct horse battery")
            .await
    }

    pub async fn signup_as(&self, email: &str, password: &str) -> User {
        let jar = cookie_client();
        let r = self.signup_raw(&jar, email, password).await;
        let b = r.json(201);
        User {
            id: b["id"].as_str().expect("signup id").to_string(),
            email: b["email"].as_str().expect("signup email").to_string(),
            password: password.to_string(),
            token: b["token"].as_str().expect("signup token").to_string(),
            jar,
        }
    }

    /// Signs in again (a new session in a new jar).
    pub async fn signin(&self, email: &str, password: &str) -> User {
        let jar = cookie_client();
        let r = self.signin_raw(&jar, email, password).await;
        let b = r.json(200);
        User {
            id: b["id"].as_str().expect("signin id").to_string(),
            email: b["email"].as_str().expect("signin email").to_string(),
            password: password.to_string(),
            token: b["token"].as_str().expect("signin token").to_string(),
            jar,
        }
    }

    pub async fn current_user(&self, auth: Auth<'_>) -> Value {
        self.get("/api/users/currentuser", auth).await.json(200)["currentUser"].clone()
    }

    // ---- tickets, orders, payments ----------------------------------------

    pub async fn create_ticket(&self, seller: &User, title: &str, price: Value) -> Value {
        self.post(
            "/api/tickets",
            Auth::Bearer(seller),
            json!({"title": title, "price": price}),
        )
        .await
        .json(201)
    }

    /// A ticket for sale by a fresh seller.
    pub async fn some_ticket(&self) -> (User, Value) {
        let seller = self.signup().await;
        let t = self.create_ticket(&seller, "Concert", json!(20)).await;
        (seller, t)
    }

    pub async fn ticket(&self, id: &str) -> Value {
        self.get(&format!("/api/tickets/{id}"), Auth::None)
            .await
            .json(200)
    }

    pub async fn reserve(&self, buyer: &User, ticket_id: &str) -> Value {
        self.post(
            "/api/orders",
            Auth::Bearer(buyer),
            json!({"ticketId": ticket_id}),
        )
        .await
        .json(201)
    }

    pub async fn order(&self, user: &User, id: &str) -> Value {
        self.get(&format!("/api/orders/{id}"), Auth::Bearer(user))
            .await
            .json(200)
    }

    pub async fn cancel(&self, user: &User, id: &str) {
        self.delete(&format!("/api/orders/{id}"), Auth::Bearer(user))
            .await
            .expect(204);
    }

    pub async fn pay(&self, user: &User, order_id: &str) -> Value {
        self.post(
            "/api/payments",
            Auth::Bearer(user),
            json!({"orderId": order_id, "token": "tok_visa"}),
        )
        .await
        .json(201)
    }

    /// GET /api/tickets?status=any (all pages of 1000).
    pub async fn all_tickets(&self) -> Vec<Value> {
        self.get("/api/tickets?status=any&limit=1000", Auth::None)
            .await
            .json(200)
            .as_array()
            .expect("ticket list is an array")
            .clone()
    }
}

/// `s["id"]` as a `String`.
#[track_caller]
pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string id in {v}"))
        .to_string()
}

/// `v["version"]` as an integer.
#[track_caller]
pub fn version_of(v: &Value) -> u64 {
    v["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer version in {v}"))
}

/// Parses an RFC 3339 timestamp.
#[track_caller]
pub fn parse_time(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not RFC 3339: {s:?}: {e}"))
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

/// Every seat of event `id` in map order (all pages).
pub async fn all_seats(api: &Api, id: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    loop {
        let after = out
            .last()
            .map(|s| format!("&after={}", id_of(s)))
            .unwrap_or_default();
        let page = api
            .get(
                &format!("/api/events/{id}/seats?limit=1000{after}"),
                Auth::None,
            )
            .await
            .json(200);
        let page = page.as_array().expect("an array").clone();
        if page.is_empty() {
            return out;
        }
        out.extend(page);
    }
}
