//! The client of the server's HTTP API: building and sending requests (every
//! answer checked to be no 5xx), and the calls tests make most (signup,
//! signin, tickets, orders, payments, every seat of an event).

use reqwest::{Client, Method, RequestBuilder};
use serde_json::{json, Value};

use super::{cookie_client, id_of, plain_client, unique_email, Auth, Resp, User};

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
