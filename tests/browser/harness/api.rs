//! The browser-test harness's small client for the JSON API (bearer tokens,
//! no cookies), with which tests set up users, tickets and orders quickly
//! instead of through the UI.

use serde_json::{json, Value};

use super::{TestResult, WAIT};
use crate::ensure;

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
    pub(super) fn new(base: &str) -> Api {
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
