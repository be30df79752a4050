//! A steady mixed load for the outage tests: clients that create tickets,
//! reserve each other's, pay or cancel their holds and sign new users up,
//! each noting what the server told it. A 2xx is a promise to check after
//! a restart; a 503 (with the contract's error body) a refusal whose write
//! must never appear; anything else of 5xx, or no answer within the
//! client's timeout, fails the test at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{unique_email, Api, Auth, User};

/// Pause between two requests of one client: a steady load that leaves
/// the two cores to the server and the database too.
const PACE: Duration = Duration::from_millis(15);

/// The password of every user the load signs up.
pub const PASSWORD: &str = "correct horse battery";

/// Ids of tickets for sale that no client is reserving now.
pub type Pool = Arc<Mutex<Vec<String>>>;

/// What one client was told.
#[derive(Default)]
pub struct Told {
    /// Tickets created with a 2xx: id and title.
    pub created: Vec<(String, String)>,
    /// Titles of creates answered 503.
    pub refused_titles: Vec<String>,
    /// Orders acknowledged, with the status of their last acknowledged write.
    pub orders: HashMap<String, (String, &'static str)>,
    /// Emails signed up with a 2xx, and those answered 503.
    pub signed_up: Vec<String>,
    pub refused_signups: Vec<String>,
    /// When each request answered 503 was sent, and when the 503 came.
    pub refusals: Vec<(Instant, Instant)>,
    /// When each 2xx answered write was sent.
    pub acks: Vec<Instant>,
}

/// How the server answered a write.
enum Answer {
    Acked(Value),
    Refused,
    /// A 4xx the load can meet (a ticket someone else holds).
    Declined(u16, Value),
}

/// Sends one write; fails the test on a 5xx other than 503, on a 503
/// without the contract's error body, and on no answer.
async fn write(api: &Api, method: Method, path: &str, auth: Auth<'_>, body: Value) -> Answer {
    let what = format!("{method} {path} {body}");
    let resp = (api.request(method, path, auth).json(&body).send().await)
        .unwrap_or_else(|e| panic!("{what}: no answer within the client's timeout: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match status {
        200..=299 => Answer::Acked(v),
        503 => {
            assert!(
                v["errors"][0]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{what}: 503 without the contract's error body: {text:?}"
            );
            Answer::Refused
        }
        500.. => panic!("{what}: server error {status}: {text}"),
        _ => Answer::Declined(status, v),
    }
}

/// One client, signed in as `users[w]`, until `stop` is set.
pub async fn client(
    w: usize,
    api: Api,
    users: Arc<Vec<User>>,
    pool: Pool,
    stop: Arc<AtomicBool>,
) -> Told {
    let me = &users[w];
    let mut told = Told::default();
    // My holds not yet paid or cancelled.
    let mut holds: Vec<String> = Vec::new();
    let mut n = 0u64;
    while !stop.load(SeqCst) {
        n += 1;
        let sent = Instant::now();
        match n % 6 {
            0 | 3 => {
                let title = format!("w{w}n{n}");
                let body = json!({"title": title, "price": 1 + n % 90});
                match write(&api, Method::POST, "/api/tickets", Auth::Bearer(me), body).await {
                    Answer::Acked(t) => {
                        let id = t["id"].as_str().expect("ticket id").to_owned();
                        told.created.push((id.clone(), title));
                        pool.lock().unwrap().push(id);
                        told.acks.push(sent);
                    }
                    Answer::Refused => {
                        told.refused_titles.push(title);
                        told.refusals.push((sent, Instant::now()));
                    }
                    Answer::Declined(s, v) => panic!("create refused {s}: {v}"),
                }
            }
            1 | 4 => {
                let picked = pool.lock().unwrap().pop();
                let Some(ticket) = picked else {
                    continue;
                };
                let body = json!({"ticketId": ticket});
                match write(&api, Method::POST, "/api/orders", Auth::Bearer(me), body).await {
                    Answer::Acked(o) => {
                        let id = o["id"].as_str().expect("order id").to_owned();
                        told.orders.insert(id.clone(), (ticket, "created"));
                        holds.push(id);
                        told.acks.push(sent);
                    }
                    Answer::Refused => {
                        pool.lock().unwrap().push(ticket);
                        told.refusals.push((sent, Instant::now()));
                    }
                    Answer::Declined(s, v) => panic!("reserve of {ticket} refused {s}: {v}"),
                }
            }
            2 => {
                let Some(order) = holds.pop() else {
                    continue;
                };
                let (method, path, body, then) = if n % 4 == 2 {
                    let body = json!({"orderId": order, "token": "tok_visa"});
                    (Method::POST, "/api/payments".to_owned(), body, "complete")
                } else {
                    let path = format!("/api/orders/{order}");
                    (Method::DELETE, path, Value::Null, "cancelled")
                };
                match write(&api, method, &path, Auth::Bearer(me), body).await {
                    Answer::Acked(_) => {
                        let entry = told.orders.get_mut(&order).expect("an order of mine");
                        entry.1 = then;
                        if then == "cancelled" {
                            pool.lock().unwrap().push(entry.0.clone());
                        }
                        told.acks.push(sent);
                    }
                    Answer::Refused => {
                        holds.push(order);
                        told.refusals.push((sent, Instant::now()));
                    }
                    Answer::Declined(s, v) => panic!("{path} of {order} refused {s}: {v}"),
                }
            }
            _ => {
                if n % 30 != 5 {
                    continue;
                }
                let email = unique_email();
                let body = json!({"email": email, "password": PASSWORD});
                match write(&api, Method::POST, "/api/users/signup", Auth::None, body).await {
                    Answer::Acked(_) => {
                        told.signed_up.push(email);
                        told.acks.push(sent);
                    }
                    Answer::Refused => {
                        told.refused_signups.push(email);
                        told.refusals.push((sent, Instant::now()));
                    }
                    Answer::Declined(s, v) => panic!("signup refused {s}: {v}"),
                }
            }
        }
        tokio::time::sleep(PACE).await;
    }
    told
}
