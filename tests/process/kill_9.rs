//! `kill -9` right after acknowledgements: a mixed burst of signups, ticket
//! creations, orders, payments, cancellations and edits loses no
//! acknowledged write, and a signout and the id sequences survive the crash.

use std::collections::HashMap;

use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::child::spawn_server;
use crate::client::*;
use crate::dirs;

/// What a client was told, to be checked after a crash.
#[derive(Default)]
struct Acked {
    users: Vec<User>,
    /// ticket id -> last acknowledged ticket body
    tickets: HashMap<String, Value>,
    /// order id -> (buyer index, acknowledged status)
    orders: HashMap<String, (usize, &'static str)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_after_a_burst_loses_no_acknowledged_write() {
    let (data, logs) = dirs();
    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    let api = s.api.clone();
    let mut acked = Acked::default();

    // 20 signups at once.
    let mut set = JoinSet::new();
    for _ in 0..20 {
        let api = api.clone();
        set.spawn(async move { api.signup().await });
    }
    while let Some(u) = set.join_next().await {
        acked.users.push(u.unwrap());
    }
    let n = acked.users.len();

    // 80 ticket creations at once (4 per user).
    let mut set = JoinSet::new();
    for (i, u) in acked.users.iter().enumerate() {
        for k in 0..4 {
            let (api, u) = (api.clone(), u.clone());
            set.spawn(async move {
                let t = api
                    .create_ticket(
                        &u,
                        &format!("U{i} T{k}"),
                        json!(format!("{}.{:02}", 10 + k, i)),
                    )
                    .await;
                (i, k, t)
            });
        }
    }
    let mut owned: HashMap<(usize, usize), String> = HashMap::new();
    while let Some(r) = set.join_next().await {
        let (i, k, t) = r.unwrap();
        owned.insert((i, k), id_of(&t));
        acked.tickets.insert(id_of(&t), t);
    }

    // The mixed burst: each user, on the next user's tickets, buys #0,
    // holds-then-cancels #1, holds #2; and edits its own #3; plus 10 new signups.
    let mut set = JoinSet::new();
    for i in 0..n {
        let api = api.clone();
        let buyer = acked.users[i].clone();
        let t: Vec<String> = (0..4).map(|k| owned[&((i + 1) % n, k)].clone()).collect();
        let own3 = owned[&(i, 3)].clone();
        set.spawn(async move {
            let mut out: Vec<(String, Value)> = Vec::new();
            let mut orders = Vec::new();
            let o0 = api.reserve(&buyer, &t[0]).await;
            api.pay(&buyer, &id_of(&o0)).await;
            orders.push((id_of(&o0), "complete"));
            let o1 = api.reserve(&buyer, &t[1]).await;
            api.cancel(&buyer, &id_of(&o1)).await;
            orders.push((id_of(&o1), "cancelled"));
            let o2 = api.reserve(&buyer, &t[2]).await;
            orders.push((id_of(&o2), "created"));
            let e = api
                .put(
                    &format!("/api/tickets/{own3}"),
                    Auth::Bearer(&buyer),
                    json!({"title": format!("Edited {i}"), "price": "77.70"}),
                )
                .await
                .json(200);
            out.push((own3, e));
            (i, out, orders, [o0, o1, o2], t)
        });
    }
    let mut late_users = JoinSet::new();
    for _ in 0..10 {
        let api = api.clone();
        late_users.spawn(async move { api.signup().await });
    }
    while let Some(r) = set.join_next().await {
        let (i, edits, orders, os, t) = r.unwrap();
        for (id, body) in edits {
            acked.tickets.insert(id, body);
        }
        for (oid, st) in orders {
            acked.orders.insert(oid, (i, st));
        }
        // Expected ticket states from the acknowledged operations.
        let o0 = &os[0];
        let mut t0 = acked.tickets[&t[0]].clone();
        t0["status"] = json!("sold");
        t0["orderId"] = o0["id"].clone();
        t0["version"] = json!(2);
        acked.tickets.insert(t[0].clone(), t0);
        let mut t1 = acked.tickets[&t[1]].clone();
        t1["version"] = json!(2);
        acked.tickets.insert(t[1].clone(), t1);
        let mut t2 = acked.tickets[&t[2]].clone();
        t2["status"] = json!("reserved");
        t2["orderId"] = os[2]["id"].clone();
        t2["version"] = json!(1);
        acked.tickets.insert(t[2].clone(), t2);
    }
    while let Some(u) = late_users.join_next().await {
        acked.users.push(u.unwrap());
    }

    // Crash right after the last acknowledgement.
    s.kill9();

    let s2 = spawn_server(data.path(), logs.path(), 600, &[]);
    let api = s2.api.clone();
    let mut fresh = Vec::new();
    for u in &acked.users {
        let again = api.signin(&u.email, &u.password).await;
        assert_eq!(again.id, u.id, "user {} after kill -9", u.email);
        fresh.push(again);
    }
    let all = api.all_tickets().await;
    assert_eq!(
        all.len(),
        acked.tickets.len(),
        "every acknowledged ticket, and no other"
    );
    for (id, expected) in &acked.tickets {
        let got = api.ticket(id).await;
        for k in [
            "title", "price", "date", "userId", "version", "status", "orderId",
        ] {
            assert_eq!(
                got[k], expected[k],
                "ticket {id} field {k} after kill -9: got {got}, acknowledged {expected}"
            );
        }
    }
    for (oid, (i, status)) in &acked.orders {
        let o = api.order(&fresh[*i], oid).await;
        assert_eq!(o["status"], json!(status), "order {oid} after kill -9: {o}");
    }
    for (i, u) in fresh.iter().enumerate().take(n) {
        let list = api.get("/api/orders", Auth::Bearer(u)).await.json(200);
        let expected = acked.orders.values().filter(|(b, _)| *b == i).count();
        assert_eq!(
            list.as_array().unwrap().len(),
            expected,
            "orders of user {i}"
        );
    }
    // The generated signing secret is kept in the data directory.
    let old = &acked.users[0];
    assert_eq!(
        api.current_user(Auth::Token(&old.token)).await["id"],
        json!(old.id),
        "pre-crash token still valid"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signout_and_the_id_sequence_survive_kill_9() {
    let (data, logs) = dirs();
    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    let kept = s.api.signup().await;
    let gone = s.api.signup().await;
    let mut old = Vec::new();
    for i in 0..20 {
        old.push(
            s.api
                .create_ticket(&kept, &format!("Old {i}"), json!(1))
                .await,
        );
    }
    let old_order = s.api.reserve(&gone, &id_of(&old[0])).await;
    s.api
        .call(
            reqwest::Method::POST,
            "/api/users/signout",
            Auth::Bearer(&gone),
            None,
        )
        .await
        .expect(200);
    s.kill9();

    let s2 = spawn_server(data.path(), logs.path(), 600, &[]);
    let api = s2.api.clone();
    assert_eq!(
        api.current_user(Auth::Token(&gone.token)).await,
        Value::Null,
        "signout survives kill -9"
    );
    assert_eq!(
        api.current_user(Auth::Token(&kept.token)).await["id"],
        json!(kept.id)
    );
    let gone2 = api.signin(&gone.email, &gone.password).await;
    let mut new_ids = Vec::new();
    for i in 0..20 {
        new_ids.push(id_of(
            &api.create_ticket(&kept, &format!("New {i}"), json!(2))
                .await,
        ));
    }
    let o2 = api.reserve(&gone2, &new_ids[0]).await;
    assert_ne!(o2["id"], old_order["id"], "order ids are not reused");
    for t in &old {
        assert!(
            !new_ids.contains(&id_of(t)),
            "ticket id {} reused after restart",
            id_of(t)
        );
        let now = api.ticket(&id_of(t)).await;
        assert_eq!(now["title"], t["title"], "old ticket overwritten: {now}");
    }
    assert_eq!(
        api.order(&gone2, &id_of(&old_order)).await["status"],
        json!("created")
    );
    assert_eq!(api.all_tickets().await.len(), 40);
}
