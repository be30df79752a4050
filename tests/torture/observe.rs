//! What a restarted server shows: every ticket and every user's orders,
//! read consistently, once the holds past their deadline are released.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::client::{id_of, parse_time, Api, Auth, User};
use crate::EXPIRY_SLACK;

/// Every ticket and every user's orders, read while no expiry happened in
/// between (the orders read before and after the tickets are equal).
pub struct Observed {
    /// ticket id -> ticket.
    pub tickets: HashMap<String, Value>,
    /// order id -> (buyer index, order)
    pub orders: HashMap<String, (usize, Value)>,
    /// When the reading started.
    pub at: OffsetDateTime,
    /// When the reading ended.
    pub end: OffsetDateTime,
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

/// One consistent reading: orders, tickets, orders again, until the two
/// order readings agree (bounded).
pub async fn observe(api: &Api, users: &[User]) -> Observed {
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

/// The later of two instants.
pub fn latest(a: OffsetDateTime, b: OffsetDateTime) -> OffsetDateTime {
    if a > b {
        a
    } else {
        b
    }
}

/// Reads the restarted server until every hold past its deadline has been
/// released (failing if one outlives max(deadline, restart) + slack).
pub async fn observe_settled(
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
