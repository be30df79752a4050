//! kill -9 torture: the `ticketing` binary under a mixed load of concurrent
//! clients (create, edit, delete, reserve, cancel, pay) is killed with SIGKILL
//! at a random moment, restarted on the same data directory, and checked
//! against a model of everything the clients were told by a 2xx:
//!
//! - every acknowledged write is there (tickets, edits, deletions, orders and
//!   their statuses, payments);
//! - a write left unanswered by the kill may or may not be there, but nothing
//!   appears that no client asked for;
//! - no ticket has two live orders; every complete order has its ticket sold
//!   to it, every held ticket its order `created`, every available ticket none;
//! - ticket versions never go backwards across restarts;
//! - holds still expire: a hold past its deadline is cancelled within ~1 s of
//!   the restart, and every other one by its `expiresAt` + ~1 s.
//!
//! `TORTURE_CYCLES` (default 20) sets the number of kill cycles and
//! `TORTURE_SEED` the random seed (printed, for replaying a failure).

#[path = "support/child.rs"]
mod child;
#[path = "api/client.rs"]
mod client;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::task::JoinSet;

use child::spawn_server;
use client::*;

/// The hold window given to the server.
const HOLD_SECS: u64 = 2;
/// Concurrent clients, each its own user (seller and buyer).
const WORKERS: usize = 6;
/// A tiny write-ahead log, so kills land in and around checkpoints too.
const SMALL_LOG: &[(&str, &str)] = &[("TICKETING_STORAGE__WAL_CHECKPOINT_KIB", "16")];

/// How long after its deadline (or after the restart, when that is later) a
/// hold may still show as `created`.
const EXPIRY_SLACK: Duration = Duration::from_millis(1500);

// ---- randomness ----------------------------------------------------------------

/// xorshift64*: enough for picking operations and kill moments.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Clone>(&mut self, v: &[T]) -> Option<T> {
        (!v.is_empty()).then(|| v[self.below(v.len() as u64) as usize].clone())
    }
}

// ---- the model of acknowledged state -----------------------------------------

#[derive(Debug, Clone)]
struct TicketM {
    seller: usize,
    /// Title and price of the last acknowledged create or edit.
    title: String,
    price: Value,
    /// An edit in flight (or left unanswered by the kill).
    pending_edit: Option<(String, Value)>,
    /// The version the server must have reached: the highest one any 2xx
    /// reported or implied, or a restarted server showed.
    min_version: u64,
    /// A 204 to DELETE was received.
    deleted: bool,
    /// A DELETE is in flight or was left unanswered.
    pending_delete: bool,
    /// Best guess of the status, for choosing operations.
    hint: &'static str,
}

#[derive(Debug, Clone)]
struct OrderM {
    buyer: usize,
    ticket: String,
    /// `created`, `cancelled` or `complete`, as last acknowledged.
    status: &'static str,
    expires_at: OffsetDateTime,
    /// The ticket's version once this order held it.
    held_version: u64,
    pending_cancel: bool,
    pending_pay: bool,
}

#[derive(Default)]
struct Model {
    tickets: HashMap<String, TicketM>,
    orders: HashMap<String, OrderM>,
    /// (seller, title) of creates left unanswered.
    pending_creates: Vec<(usize, String)>,
    /// (buyer, ticket id) of reservations left unanswered.
    pending_reserves: Vec<(usize, String)>,
    /// payment id -> order id, from 201s.
    payments: HashMap<String, String>,
    /// Acknowledged writes since the last verification.
    acked: u64,
    /// Requests sent since the last verification.
    sent: u64,
}

#[derive(Default, Debug)]
struct Totals {
    cycles: u64,
    acked_checked: u64,
    requests: u64,
    unanswered: u64,
    unanswered_applied: u64,
    stale_holds_released: u64,
}

fn status_str(s: &str) -> &'static str {
    match s {
        "created" => "created",
        "cancelled" => "cancelled",
        "complete" => "complete",
        "awaiting:payment" => "awaiting:payment",
        "available" => "available",
        "reserved" => "reserved",
        "sold" => "sold",
        other => panic!("unknown status {other:?}"),
    }
}

fn is_live(order_status: &str) -> bool {
    matches!(order_status, "created" | "awaiting:payment" | "complete")
}

/// One request; `None` when no answer came (the server died under it). Any
/// 5xx fails the test.
async fn try_call(
    api: &Api,
    method: Method,
    path: &str,
    user: &User,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let mut rb = api.request(method.clone(), path, Auth::Bearer(user));
    if let Some(b) = &body {
        rb = rb.json(b);
    }
    let resp = rb.send().await.ok()?;
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.ok()?;
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "{method} {path}: non-JSON body {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    assert!(
        status < 500,
        "{method} {path} {body:?}: server error {status}: {v}"
    );
    Some((status, v))
}

#[track_caller]
fn refused(what: &str, status: u16, body: &Value) -> ! {
    panic!("{what}: unexpected answer {status} {body}")
}

/// One client: random operations until the server stops answering.
async fn worker(
    w: usize,
    cycle: u64,
    api: Api,
    users: Arc<Vec<User>>,
    model: Arc<Mutex<Model>>,
    seed: u64,
) {
    let me = &users[w];
    let mut rng = Rng::new(seed);
    for n in 0.. {
        let roll = rng.below(100);
        let price = json!(1 + rng.below(999));
        if roll < 15 {
            // create
            let title = format!("c{cycle}w{w}n{n}");
            {
                let mut m = model.lock().unwrap();
                m.pending_creates.push((w, title.clone()));
                m.sent += 1;
            }
            let Some((st, b)) = try_call(
                &api,
                Method::POST,
                "/api/tickets",
                me,
                Some(json!({"title": title, "price": price})),
            )
            .await
            else {
                return;
            };
            let mut m = model.lock().unwrap();
            m.pending_creates.retain(|(s, t)| !(*s == w && *t == title));
            if st != 201 {
                refused("create", st, &b);
            }
            assert_eq!(b["title"], json!(title));
            assert_eq!(b["version"], json!(0));
            m.tickets.insert(
                id_of(&b),
                TicketM {
                    seller: w,
                    title,
                    price: b["price"].clone(),
                    pending_edit: None,
                    min_version: 0,
                    deleted: false,
                    pending_delete: false,
                    hint: "available",
                },
            );
            m.acked += 1;
        } else if roll < 30 {
            // edit one of mine
            let title = format!("e{cycle}w{w}n{n}");
            let id = {
                let mut m = model.lock().unwrap();
                let mine: Vec<String> = m
                    .tickets
                    .iter()
                    .filter(|(_, t)| t.seller == w && !t.deleted && !t.pending_delete)
                    .map(|(id, _)| id.clone())
                    .collect();
                let Some(id) = rng.pick(&mine) else { continue };
                m.tickets.get_mut(&id).unwrap().pending_edit = Some((title.clone(), price.clone()));
                m.sent += 1;
                id
            };
            let Some((st, b)) = try_call(
                &api,
                Method::PUT,
                &format!("/api/tickets/{id}"),
                me,
                Some(json!({"title": title, "price": price})),
            )
            .await
            else {
                return;
            };
            let mut m = model.lock().unwrap();
            let t = m.tickets.get_mut(&id).unwrap();
            t.pending_edit = None;
            match st {
                200 => {
                    assert_eq!(b["title"], json!(title), "edit answer {b}");
                    t.title = title;
                    t.price = b["price"].clone();
                    t.min_version = t.min_version.max(version_of(&b));
                    t.hint = "available";
                    m.acked += 1;
                }
                400 => {}
                _ => refused(&format!("PUT /api/tickets/{id}"), st, &b),
            }
        } else if roll < 38 {
            // delete one of mine
            let id = {
                let mut m = model.lock().unwrap();
                let mine: Vec<String> = m
                    .tickets
                    .iter()
                    .filter(|(_, t)| t.seller == w && !t.deleted && !t.pending_delete)
                    .map(|(id, _)| id.clone())
                    .collect();
                let Some(id) = rng.pick(&mine) else { continue };
                m.tickets.get_mut(&id).unwrap().pending_delete = true;
                m.sent += 1;
                id
            };
            let Some((st, b)) = try_call(
                &api,
                Method::DELETE,
                &format!("/api/tickets/{id}"),
                me,
                None,
            )
            .await
            else {
                return;
            };
            let mut m = model.lock().unwrap();
            let t = m.tickets.get_mut(&id).unwrap();
            t.pending_delete = false;
            match st {
                204 => {
                    t.deleted = true;
                    m.acked += 1;
                }
                400 => {}
                _ => refused(&format!("DELETE /api/tickets/{id}"), st, &b),
            }
        } else if roll < 68 {
            // reserve any ticket that may be free
            let id = {
                let mut m = model.lock().unwrap();
                let open: Vec<String> = m
                    .tickets
                    .iter()
                    .filter(|(_, t)| !t.deleted && t.hint != "sold")
                    .map(|(id, _)| id.clone())
                    .collect();
                let Some(id) = rng.pick(&open) else { continue };
                m.pending_reserves.push((w, id.clone()));
                m.sent += 1;
                id
            };
            let Some((st, b)) = try_call(
                &api,
                Method::POST,
                "/api/orders",
                me,
                Some(json!({"ticketId": id})),
            )
            .await
            else {
                return;
            };
            let mut m = model.lock().unwrap();
            if let Some(i) = m
                .pending_reserves
                .iter()
                .position(|(b, t)| *b == w && *t == id)
            {
                m.pending_reserves.swap_remove(i);
            }
            match st {
                201 => {
                    assert_eq!(b["status"], json!("created"), "{b}");
                    assert_eq!(b["ticket"]["id"], json!(id), "{b}");
                    let held_version = b["ticket"]["version"]
                        .as_u64()
                        .expect("order ticket version");
                    let t = m.tickets.get_mut(&id).unwrap();
                    t.min_version = t.min_version.max(held_version);
                    t.hint = "reserved";
                    m.orders.insert(
                        id_of(&b),
                        OrderM {
                            buyer: w,
                            ticket: id,
                            status: "created",
                            expires_at: parse_time(b["expiresAt"].as_str().expect("expiresAt")),
                            held_version,
                            pending_cancel: false,
                            pending_pay: false,
                        },
                    );
                    m.acked += 1;
                }
                400 => {
                    let t = m.tickets.get_mut(&id).unwrap();
                    if t.hint == "available" {
                        t.hint = "reserved";
                    }
                }
                404 => {
                    let t = &m.tickets[&id];
                    assert!(
                        t.deleted || t.pending_delete,
                        "reserving ticket {id}: 404, but no DELETE of it was ever sent: {t:?}"
                    );
                }
                _ => refused("POST /api/orders", st, &b),
            }
        } else {
            // cancel or pay one of my held orders
            let pay = roll >= 82;
            let declined = pay && rng.below(10) == 0;
            let oid = {
                let mut m = model.lock().unwrap();
                let mine: Vec<String> = m
                    .orders
                    .iter()
                    .filter(|(_, o)| o.buyer == w && o.status == "created")
                    .map(|(id, _)| id.clone())
                    .collect();
                let Some(oid) = rng.pick(&mine) else { continue };
                let o = m.orders.get_mut(&oid).unwrap();
                if pay && !declined {
                    o.pending_pay = true;
                } else if !pay {
                    o.pending_cancel = true;
                }
                m.sent += 1;
                oid
            };
            let answer = if pay {
                let token = if declined {
                    "tok_chargeDeclined"
                } else {
                    "tok_visa"
                };
                try_call(
                    &api,
                    Method::POST,
                    "/api/payments",
                    me,
                    Some(json!({"orderId": oid, "token": token})),
                )
                .await
            } else {
                try_call(
                    &api,
                    Method::DELETE,
                    &format!("/api/orders/{oid}"),
                    me,
                    None,
                )
                .await
            };
            let Some((st, b)) = answer else { return };
            let mut m = model.lock().unwrap();
            let o = m.orders.get_mut(&oid).unwrap();
            o.pending_pay = false;
            o.pending_cancel = false;
            let (tid, held) = (o.ticket.clone(), o.held_version);
            let released = match (pay, declined, st) {
                (true, false, 201) => {
                    assert_eq!(b["orderId"], json!(oid), "{b}");
                    o.status = "complete";
                    m.payments.insert(id_of(&b), oid.clone());
                    m.acked += 1;
                    Some("sold")
                }
                (true, true, 402) => None,
                (true, _, 400) => {
                    let msg = b["errors"][0]["message"].as_str().unwrap_or("");
                    assert!(
                        msg.contains("cancelled"),
                        "paying order {oid} believed held: 400 {b}"
                    );
                    // The hold had lapsed; the server released it first.
                    o.status = "cancelled";
                    Some("available")
                }
                (false, _, 204) => {
                    o.status = "cancelled";
                    m.acked += 1;
                    Some("available")
                }
                _ => refused(
                    &format!("{} order {oid}", if pay { "pay" } else { "cancel" }),
                    st,
                    &b,
                ),
            };
            if let Some(hint) = released {
                // Sold or released: one change after the hold.
                let t = m.tickets.get_mut(&tid).unwrap();
                t.min_version = t.min_version.max(held + 1);
                t.hint = hint;
            }
        }
    }
}

// ---- what a restarted server shows ---------------------------------------------

/// Every ticket and every user's orders, read while no expiry happened in
/// between (the orders read before and after the tickets are equal).
struct Observed {
    tickets: HashMap<String, Value>,
    /// order id -> (buyer index, order)
    orders: HashMap<String, (usize, Value)>,
    /// When the reading started and ended.
    at: OffsetDateTime,
    end: OffsetDateTime,
}

async fn read_orders(api: &Api, users: &[User]) -> HashMap<String, (usize, Value)> {
    let mut out = HashMap::new();
    for (i, u) in users.iter().enumerate() {
        let list = api.get("/api/orders", Auth::Bearer(u)).await.json(200);
        for o in list.as_array().expect("orders array") {
            let prev = out.insert(id_of(o), (i, o.clone()));
            assert!(prev.is_none(), "order {} listed twice", id_of(o));
            assert_eq!(
                o["userId"],
                json!(u.id),
                "order of another user listed: {o}"
            );
        }
    }
    out
}

async fn read_tickets(api: &Api) -> HashMap<String, Value> {
    let mut out: HashMap<String, Value> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/api/tickets?status=any&limit=1000".to_string(),
            Some(a) => format!("/api/tickets?status=any&limit=1000&after={a}"),
        };
        let page = api.get(&path, Auth::None).await.json(200);
        let page = page.as_array().expect("ticket list").clone();
        for t in &page {
            assert!(
                out.insert(id_of(t), t.clone()).is_none(),
                "ticket listed twice"
            );
        }
        if page.len() < 1000 {
            return out;
        }
        after = Some(id_of(page.last().unwrap()));
    }
}

async fn observe(api: &Api, users: &[User]) -> Observed {
    for _ in 0..20 {
        let at = OffsetDateTime::now_utc();
        let before = read_orders(api, users).await;
        let tickets = read_tickets(api).await;
        let after = read_orders(api, users).await;
        let same = before.len() == after.len()
            && before
                .iter()
                .all(|(id, (_, o))| after.get(id).is_some_and(|(_, p)| p == o));
        if same {
            return Observed {
                tickets,
                orders: after,
                at,
                end: OffsetDateTime::now_utc(),
            };
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("orders kept changing while reading them, with no load running");
}

fn latest(a: OffsetDateTime, b: OffsetDateTime) -> OffsetDateTime {
    if a > b {
        a
    } else {
        b
    }
}

/// Reads the restarted server until every hold past its deadline has been
/// released (failing if one outlives max(deadline, restart) + slack).
async fn observe_settled(
    api: &Api,
    users: &[User],
    restarted: OffsetDateTime,
    cycle: u64,
) -> (Observed, u64) {
    let mut waited = 0;
    loop {
        let obs = observe(api, users).await;
        let stale: Vec<(String, OffsetDateTime)> = obs
            .orders
            .iter()
            .filter(|(_, (_, o))| o["status"] == json!("created"))
            .map(|(id, (_, o))| (id.clone(), parse_time(o["expiresAt"].as_str().unwrap())))
            .filter(|(_, e)| *e + Duration::from_millis(50) < obs.at)
            .collect();
        if stale.is_empty() {
            return (obs, waited);
        }
        for (id, e) in &stale {
            let due = latest(*e, restarted) + EXPIRY_SLACK;
            assert!(
                obs.at <= due,
                "cycle {cycle}: hold {id} (expiresAt {e}) still `created` at {}, \
                 {:?} after the restart at {restarted}",
                obs.at,
                obs.at - restarted
            );
        }
        waited += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks what the restarted server shows against the model, then makes the
/// model what the server shows (resolving writes left unanswered).
fn verify(model: &mut Model, obs: &Observed, users: &[User], cycle: u64, totals: &mut Totals) {
    let ctx = |what: String| format!("cycle {cycle}: {what}");
    let user_index: HashMap<&str, usize> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.as_str(), i))
        .collect();

    // Tickets the model knows.
    for (id, tm) in &model.tickets {
        match obs.tickets.get(id) {
            None => {
                assert!(
                    tm.deleted || tm.pending_delete,
                    "{}",
                    ctx(format!("acknowledged ticket {id} lost: {tm:?}"))
                );
                if tm.pending_delete && !tm.deleted {
                    totals.unanswered_applied += 1;
                }
            }
            Some(t) => {
                assert!(
                    !tm.deleted,
                    "{}",
                    ctx(format!("ticket {id} deleted with a 204 is back: {t}"))
                );
                assert_eq!(
                    t["userId"],
                    json!(users[tm.seller].id),
                    "{}",
                    ctx(format!("seller of {id}"))
                );
                assert!(
                    version_of(t) >= tm.min_version,
                    "{}",
                    ctx(format!(
                        "ticket {id} went back to version {} from {} acknowledged: {t}; model {tm:?}",
                        version_of(t),
                        tm.min_version
                    ))
                );
                let acked = (json!(tm.title), tm.price.clone());
                let now = (t["title"].clone(), t["price"].clone());
                let pending = tm
                    .pending_edit
                    .as_ref()
                    .map(|(ti, p)| (json!(ti), p.clone()));
                assert!(
                    now == acked || Some(&now) == pending.as_ref(),
                    "{}",
                    ctx(format!(
                        "ticket {id} shows {now:?}; acknowledged {acked:?}, in flight {pending:?}"
                    ))
                );
                if pending.is_some() && Some(&now) == pending.as_ref() {
                    totals.unanswered_applied += 1;
                }
            }
        }
    }
    // Tickets the model does not know: only unanswered creates.
    let mut creates = std::mem::take(&mut model.pending_creates);
    for (id, t) in &obs.tickets {
        if model.tickets.contains_key(id) {
            continue;
        }
        let seller = user_index
            .get(t["userId"].as_str().unwrap_or(""))
            .copied()
            .unwrap_or_else(|| panic!("{}", ctx(format!("ticket of an unknown user: {t}"))));
        let title = t["title"].as_str().unwrap_or("").to_string();
        let i = creates
            .iter()
            .position(|(s, ti)| *s == seller && *ti == title)
            .unwrap_or_else(|| {
                panic!(
                    "{}",
                    ctx(format!("ticket {id} appeared that no client created: {t}"))
                )
            });
        creates.swap_remove(i);
        assert_eq!(
            version_of(t),
            0,
            "{}",
            ctx(format!("unanswered create {t}"))
        );
        assert_eq!(t["status"], json!("available"), "{}", ctx(format!("{t}")));
        totals.unanswered_applied += 1;
        model.tickets.insert(
            id.clone(),
            TicketM {
                seller,
                title,
                price: t["price"].clone(),
                pending_edit: None,
                min_version: 0,
                deleted: false,
                pending_delete: false,
                hint: "available",
            },
        );
    }

    // Orders the model knows: all still there, in an allowed status.
    for (oid, om) in &model.orders {
        let (buyer, o) = obs
            .orders
            .get(oid)
            .unwrap_or_else(|| panic!("{}", ctx(format!("acknowledged order {oid} lost: {om:?}"))));
        assert_eq!(*buyer, om.buyer, "{}", ctx(format!("buyer of {oid}")));
        assert_eq!(
            o["ticket"]["id"],
            json!(om.ticket),
            "{}",
            ctx(format!("{o}"))
        );
        let st = o["status"].as_str().unwrap_or("");
        let ok = match (om.status, st) {
            ("complete", s) => s == "complete",
            ("cancelled", s) => s == "cancelled",
            ("created", "created") => true,
            ("created", "complete" | "awaiting:payment") => om.pending_pay,
            // Cancelled by the buyer, or by expiry (never before expiresAt).
            ("created", "cancelled") => om.pending_cancel || obs.end >= om.expires_at,
            _ => false,
        };
        assert!(
            ok,
            "{}",
            ctx(format!(
                "order {oid} is {st}; acknowledged {} (cancel in flight: {}, pay in flight: {}, \
                 expiresAt {}, read by {}): {o}",
                om.status, om.pending_cancel, om.pending_pay, om.expires_at, obs.end
            ))
        );
        if (om.pending_pay && st == "complete") || (om.pending_cancel && st == "cancelled") {
            totals.unanswered_applied += 1;
        }
    }
    // Acknowledged payments: their orders are complete.
    for (pid, oid) in &model.payments {
        assert_eq!(
            obs.orders[oid].1["status"],
            json!("complete"),
            "{}",
            ctx(format!("payment {pid} acknowledged for order {oid}"))
        );
    }
    // Orders the model does not know: only unanswered reservations.
    let mut reserves = std::mem::take(&mut model.pending_reserves);
    for (oid, (buyer, o)) in &obs.orders {
        if model.orders.contains_key(oid) {
            continue;
        }
        let tid = o["ticket"]["id"].as_str().unwrap_or("").to_string();
        let i = reserves
            .iter()
            .position(|(b, t)| b == buyer && *t == tid)
            .unwrap_or_else(|| {
                panic!(
                    "{}",
                    ctx(format!("order {oid} appeared that no client placed: {o}"))
                )
            });
        reserves.swap_remove(i);
        let st = o["status"].as_str().unwrap_or("");
        assert!(
            st == "created" || st == "cancelled",
            "{}",
            ctx(format!("unanswered reservation now {st}: {o}"))
        );
        totals.unanswered_applied += 1;
        model.orders.insert(
            oid.clone(),
            OrderM {
                buyer: *buyer,
                ticket: tid,
                status: "created",
                expires_at: parse_time(o["expiresAt"].as_str().unwrap()),
                held_version: 0,
                pending_cancel: false,
                pending_pay: false,
            },
        );
    }

    // Global invariants.
    let mut live: HashMap<String, Vec<String>> = HashMap::new();
    for (oid, (_, o)) in &obs.orders {
        let st = o["status"].as_str().unwrap_or("");
        let tid = o["ticket"]["id"].as_str().unwrap().to_string();
        if is_live(st) {
            live.entry(tid.clone()).or_default().push(oid.clone());
            let t = obs.tickets.get(&tid).unwrap_or_else(|| {
                panic!(
                    "{}",
                    ctx(format!("{st} order {oid} for a ticket that is gone: {o}"))
                )
            });
            assert_eq!(
                t["orderId"],
                json!(oid),
                "{}",
                ctx(format!("{st} order {oid}, but its ticket is {t}"))
            );
            let want = if st == "complete" { "sold" } else { "reserved" };
            assert_eq!(
                t["status"],
                json!(want),
                "{}",
                ctx(format!("{st} order {oid}, but its ticket is {t}"))
            );
        }
        if let Some(t) = obs.tickets.get(&tid) {
            assert!(
                o["ticket"]["version"].as_u64().unwrap() <= version_of(t),
                "{}",
                ctx(format!("order {o} is ahead of its ticket {t}"))
            );
        }
    }
    for (tid, orders) in &live {
        assert!(
            orders.len() <= 1,
            "{}",
            ctx(format!(
                "ticket {tid} has {} live orders: {orders:?}",
                orders.len()
            ))
        );
    }
    for (tid, t) in &obs.tickets {
        match t["status"].as_str().unwrap_or("") {
            "available" => {
                assert_eq!(t["orderId"], Value::Null, "{}", ctx(format!("{t}")));
                assert!(
                    !live.contains_key(tid),
                    "{}",
                    ctx(format!(
                        "available ticket {t} has a live order {:?}",
                        live.get(tid)
                    ))
                );
            }
            "reserved" | "sold" => {
                let oid = t["orderId"].as_str().unwrap_or_else(|| {
                    panic!("{}", ctx(format!("held or sold ticket without order: {t}")))
                });
                assert_eq!(
                    live.get(tid).map(|v| v.as_slice()),
                    Some(&[oid.to_string()][..]),
                    "{}",
                    ctx(format!("ticket {t}: its order is not the one live order"))
                );
            }
            other => panic!("{}", ctx(format!("ticket status {other:?}: {t}"))),
        }
    }

    // Unanswered writes that did not happen are simply forgotten.
    drop(creates);
    drop(reserves);

    // The server's state becomes the model.
    for (id, tm) in model.tickets.iter_mut() {
        tm.pending_edit = None;
        match obs.tickets.get(id) {
            None => {
                tm.deleted = true;
                tm.pending_delete = false;
            }
            Some(t) => {
                tm.pending_delete = false;
                tm.title = t["title"].as_str().unwrap().to_string();
                tm.price = t["price"].clone();
                tm.min_version = tm.min_version.max(version_of(t));
                tm.hint = status_str(t["status"].as_str().unwrap());
            }
        }
    }
    for (oid, om) in model.orders.iter_mut() {
        let o = &obs.orders[oid].1;
        om.pending_cancel = false;
        om.pending_pay = false;
        om.status = status_str(o["status"].as_str().unwrap());
        if om.status == "awaiting:payment" {
            om.status = "created";
        }
        om.held_version = o["ticket"]["version"].as_u64().unwrap();
        if om.status == "created" {
            om.held_version = version_of(&obs.tickets[&om.ticket]);
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_under_load_keeps_every_acknowledged_write() {
    let cycles = env_u64("TORTURE_CYCLES").unwrap_or(20);
    let seed = env_u64("TORTURE_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    eprintln!("torture: {cycles} cycles, seed {seed} (TORTURE_SEED={seed} replays the choices)");
    let mut rng = Rng::new(seed);
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let began = Instant::now();

    let mut server = spawn_server(data.path(), logs.path(), HOLD_SECS, SMALL_LOG);
    let mut users = Vec::new();
    for _ in 0..WORKERS {
        users.push(server.api.signup().await);
    }
    let users = Arc::new(users);
    let model = Arc::new(Mutex::new(Model::default()));
    let mut totals = Totals::default();

    for cycle in 0..cycles {
        // Load, then SIGKILL at a random moment.
        let mut set = JoinSet::new();
        for w in 0..WORKERS {
            set.spawn(worker(
                w,
                cycle,
                server.api.clone(),
                users.clone(),
                model.clone(),
                rng.next(),
            ));
        }
        let kill_after = Duration::from_millis(100 + rng.below(301));
        tokio::time::sleep(kill_after).await;
        server.kill9();
        tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(r) = set.join_next().await {
                r.expect("a client found a broken promise (see the panic above)");
            }
        })
        .await
        .expect("clients still running 20 s after the kill");
        let pending_at_kill = {
            let m = model.lock().unwrap();
            let unanswered = m.pending_creates.len()
                + m.pending_reserves.len()
                + m.tickets
                    .values()
                    .filter(|t| t.pending_edit.is_some() || t.pending_delete)
                    .count()
                + m.orders
                    .values()
                    .filter(|o| o.pending_cancel || o.pending_pay)
                    .count();
            unanswered as u64
        };

        // Restart on the same data and check.
        server = spawn_server(data.path(), logs.path(), HOLD_SECS, SMALL_LOG);
        let (obs, waited) = observe_settled(&server.api, &users, server.started, cycle).await;
        if waited > 0 {
            totals.stale_holds_released += 1;
        }
        let mut m = model.lock().unwrap();
        verify(&mut m, &obs, &users, cycle, &mut totals);
        totals.cycles += 1;
        totals.acked_checked += m.acked;
        totals.requests += m.sent;
        totals.unanswered += pending_at_kill;
        eprintln!(
            "cycle {cycle}: killed after {kill_after:?}; {} requests, {} acknowledged writes, \
             {pending_at_kill} unanswered; {} tickets, {} orders",
            m.sent,
            m.acked,
            obs.tickets.len(),
            obs.orders.len()
        );
        m.acked = 0;
        m.sent = 0;
    }

    // Finally every hold runs out on the running server's own timers.
    let holds: Vec<(String, usize, OffsetDateTime)> = {
        let m = model.lock().unwrap();
        m.orders
            .iter()
            .filter(|(_, o)| o.status == "created")
            .map(|(id, o)| (id.clone(), o.buyer, o.expires_at))
            .collect()
    };
    let last = holds
        .iter()
        .map(|h| h.2)
        .max()
        .unwrap_or_else(OffsetDateTime::now_utc);
    let due = latest(last, server.started) + EXPIRY_SLACK;
    let wait = due - OffsetDateTime::now_utc();
    if wait.is_positive() {
        tokio::time::sleep(Duration::try_from(wait).unwrap()).await;
    }
    let obs = observe(&server.api, &users).await;
    for (oid, _, e) in &holds {
        let o = &obs.orders[oid].1;
        assert_eq!(
            o["status"],
            json!("cancelled"),
            "hold {oid} (expiresAt {e}) not cancelled by {due}: {o}"
        );
    }
    {
        let mut m = model.lock().unwrap();
        verify(&mut m, &obs, &users, cycles, &mut totals);
        let tickets: HashSet<&String> = m
            .tickets
            .iter()
            .filter(|(_, t)| !t.deleted)
            .map(|(id, _)| id)
            .collect();
        eprintln!(
            "torture done in {:?}: {} kill cycles, {} acknowledged writes checked \
             ({} requests sent, {} unanswered at a kill, of which {} turned out applied), \
             {} tickets, {} orders ({} complete), {} payments, {} holds checked to expire at the end, \
             {} restarts waited for stale holds to be released",
            began.elapsed(),
            totals.cycles,
            totals.acked_checked,
            totals.requests,
            totals.unanswered,
            totals.unanswered_applied,
            tickets.len(),
            m.orders.len(),
            m.orders.values().filter(|o| o.status == "complete").count(),
            m.payments.len(),
            holds.len(),
            totals.stale_holds_released,
        );
        assert!(totals.acked_checked > 0);
    }
    let _ = &server.stderr_path;
}
