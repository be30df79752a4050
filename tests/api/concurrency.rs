//! Races: many buyers for one seat, pay against cancel, edits against a
//! reservation, one email signed up many times at once.

use std::sync::Arc;

use reqwest::Method;
use serde_json::json;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::helpers::*;

async fn signup_many(app: &Api, n: usize) -> Vec<User> {
    let mut set = JoinSet::new();
    for _ in 0..n {
        let api = app.clone();
        set.spawn(async move { api.signup().await });
    }
    let mut users = Vec::new();
    while let Some(u) = set.join_next().await {
        users.push(u.expect("signup task"));
    }
    users
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_buyers_race_for_one_ticket_and_exactly_one_wins() {
    let app = spawn_app().await;
    let (_, t) = app.some_ticket().await;
    let tid = id_of(&t);
    let buyers = signup_many(&app, 50).await;
    let barrier = Arc::new(Barrier::new(buyers.len()));
    let mut set = JoinSet::new();
    for b in buyers.clone() {
        let api = app.api.clone();
        let tid = tid.clone();
        let barrier = barrier.clone();
        set.spawn(async move {
            barrier.wait().await;
            let r = api
                .post("/api/orders", Auth::Bearer(&b), json!({"ticketId": tid}))
                .await;
            (b, r)
        });
    }
    let mut winners = Vec::new();
    let mut losers = 0;
    while let Some(res) = set.join_next().await {
        let (b, r) = res.expect("order task");
        match r.status {
            201 => winners.push((b, r.body.clone())),
            400 => {
                r.error(400, Some("Ticket is already reserved"), None);
                losers += 1;
            }
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one reservation succeeds");
    assert_eq!(losers, 49);
    let (winner, order) = &winners[0];
    let held = app.ticket(&tid).await;
    assert_eq!(held["status"], json!("reserved"));
    assert_eq!(held["orderId"], order["id"]);
    assert_eq!(version_of(&held), 1);
    assert_eq!(
        app.order(winner, &id_of(order)).await["status"],
        json!("created")
    );
    // The losers have no orders.
    let mut set = JoinSet::new();
    for b in buyers.into_iter().filter(|b| b.id != winner.id) {
        let api = app.api.clone();
        set.spawn(async move { api.get("/api/orders", Auth::Bearer(&b)).await.json(200) });
    }
    while let Some(list) = set.join_next().await {
        assert_eq!(list.unwrap(), json!([]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_against_cancel_ends_in_one_consistent_state() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let (mut paid, mut cancelled) = (0, 0);
    for round in 0..20 {
        let t = app
            .create_ticket(&seller, &format!("Race {round}"), json!(10))
            .await;
        let tid = id_of(&t);
        let o = app.reserve(&buyer, &tid).await;
        let oid = id_of(&o);
        let barrier = Arc::new(Barrier::new(2));
        let pay = {
            let (api, b, oid, barrier) =
                (app.api.clone(), buyer.clone(), oid.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                api.post(
                    "/api/payments",
                    Auth::Bearer(&b),
                    json!({"orderId": oid, "token": "tok_visa"}),
                )
                .await
            })
        };
        let cancel = {
            let (api, b, oid, barrier) =
                (app.api.clone(), buyer.clone(), oid.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                api.delete(&format!("/api/orders/{oid}"), Auth::Bearer(&b))
                    .await
            })
        };
        let (p, c) = (pay.await.unwrap(), cancel.await.unwrap());
        let order = app.order(&buyer, &oid).await;
        let ticket = app.ticket(&tid).await;
        match (p.status, c.status) {
            (201, 400) => {
                paid += 1;
                assert_eq!(order["status"], json!("complete"), "round {round}");
                assert_eq!(ticket["status"], json!("sold"), "round {round}");
                assert_eq!(ticket["orderId"], json!(oid));
            }
            (400, 204) => {
                cancelled += 1;
                p.error(400, Some("Cannot pay for an cancelled order"), None);
                assert_eq!(order["status"], json!("cancelled"), "round {round}");
                assert_eq!(ticket["status"], json!("available"), "round {round}");
                assert_eq!(ticket["orderId"], serde_json::Value::Null);
            }
            (ps, cs) => panic!(
                "round {round}: payment {ps} {} / cancel {cs} {}; order {order}; ticket {ticket}",
                p.text, c.text
            ),
        }
        assert_eq!(
            version_of(&ticket),
            2,
            "round {round}: exactly one change after the hold"
        );
    }
    eprintln!("pay-vs-cancel: {paid} paid, {cancelled} cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_racing_a_reservation_keep_the_version_exact() {
    let app = spawn_app().await;
    let buyer = app.signup().await;
    for round in 0..5 {
        let (seller, t) = app.some_ticket().await;
        let tid = id_of(&t);
        let barrier = Arc::new(Barrier::new(11));
        let mut edits = JoinSet::new();
        for i in 0..10 {
            let (api, s, tid, barrier) = (
                app.api.clone(),
                seller.clone(),
                tid.clone(),
                barrier.clone(),
            );
            edits.spawn(async move {
                barrier.wait().await;
                api.put(
                    &format!("/api/tickets/{tid}"),
                    Auth::Bearer(&s),
                    json!({"title": format!("Edit {i}"), "price": i + 1}),
                )
                .await
            });
        }
        let order = {
            let (api, b, tid, barrier) =
                (app.api.clone(), buyer.clone(), tid.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                api.post("/api/orders", Auth::Bearer(&b), json!({"ticketId": tid}))
                    .await
            })
        };
        let mut ok_versions = Vec::new();
        while let Some(r) = edits.join_next().await {
            let r = r.unwrap();
            match r.status {
                200 => ok_versions.push(version_of(&r.body)),
                400 => {
                    r.error(400, Some("Cannot edit a reserved ticket"), None);
                }
                s => panic!("round {round}: edit got {s}: {}", r.text),
            }
        }
        let o = order.await.unwrap();
        let o = o.json(201);
        let final_t = app.ticket(&tid).await;
        let n = ok_versions.len() as u64;
        assert_eq!(
            version_of(&final_t),
            n + 1,
            "round {round}: {n} edits + 1 reservation; {final_t}"
        );
        ok_versions.sort();
        assert_eq!(
            ok_versions,
            (1..=n).collect::<Vec<_>>(),
            "round {round}: each edit got its own version"
        );
        assert_eq!(final_t["status"], json!("reserved"));
        assert_eq!(final_t["orderId"], o["id"]);
        assert_eq!(
            o["ticket"]["title"], final_t["title"],
            "the order holds the ticket as edited"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_email_signed_up_concurrently_creates_one_account() {
    let app = spawn_app().await;
    let email = unique_email();
    let barrier = Arc::new(Barrier::new(20));
    let mut set = JoinSet::new();
    for i in 0..20 {
        let (api, barrier) = (app.api.clone(), barrier.clone());
        let variant = if i % 2 == 0 {
            email.clone()
        } else {
            format!(" {} ", email.to_ascii_uppercase())
        };
        set.spawn(async move {
            barrier.wait().await;
            api.signup_raw(&plain_client(), &variant, &format!("password-{i}"))
                .await
        });
    }
    let mut created = Vec::new();
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        match r.status {
            201 => created.push(r),
            400 => {
                r.error(400, Some("Email in use"), None);
            }
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    assert_eq!(created.len(), 1, "exactly one signup wins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_buyers_many_tickets_never_double_sell() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let mut tickets = Vec::new();
    for i in 0..8 {
        tickets.push(id_of(
            &app.create_ticket(&seller, &format!("Seat {i}"), json!(10))
                .await,
        ));
    }
    let buyers = signup_many(&app, 16).await;
    let barrier = Arc::new(Barrier::new(buyers.len()));
    let mut set = JoinSet::new();
    for b in buyers.clone() {
        let (api, tickets, barrier) = (app.api.clone(), tickets.clone(), barrier.clone());
        set.spawn(async move {
            barrier.wait().await;
            // Each buyer tries every seat, paying for what it gets, cancelling every other.
            let mut mine = Vec::new();
            for (i, tid) in tickets.iter().enumerate() {
                let r = api
                    .post("/api/orders", Auth::Bearer(&b), json!({"ticketId": tid}))
                    .await;
                match r.status {
                    201 => {
                        let oid = id_of(&r.body);
                        if i % 2 == 0 {
                            let p = api
                                .post(
                                    "/api/payments",
                                    Auth::Bearer(&b),
                                    json!({"orderId": oid, "token": "tok_visa"}),
                                )
                                .await;
                            p.expect(201);
                            mine.push((tid.clone(), oid, "complete"));
                        } else {
                            api.call(
                                Method::DELETE,
                                &format!("/api/orders/{oid}"),
                                Auth::Bearer(&b),
                                None,
                            )
                            .await
                            .expect(204);
                            mine.push((tid.clone(), oid, "cancelled"));
                        }
                    }
                    400 => {
                        r.error(400, Some("Ticket is already reserved"), None);
                    }
                    s => panic!("unexpected {s}: {}", r.text),
                }
            }
            (b, mine)
        });
    }
    let mut complete_per_ticket = std::collections::HashMap::<String, Vec<String>>::new();
    let mut cancels_per_ticket = std::collections::HashMap::<String, u64>::new();
    while let Some(res) = set.join_next().await {
        let (b, mine) = res.unwrap();
        let list = app.get("/api/orders", Auth::Bearer(&b)).await.json(200);
        assert_eq!(
            list.as_array().unwrap().len(),
            mine.len(),
            "buyer's list matches its acknowledged orders"
        );
        for (tid, oid, status) in mine {
            assert_eq!(app.order(&b, &oid).await["status"], json!(status));
            if status == "complete" {
                complete_per_ticket.entry(tid).or_default().push(oid);
            } else {
                *cancels_per_ticket.entry(tid).or_default() += 1;
            }
        }
    }
    for (i, tid) in tickets.iter().enumerate() {
        let t = app.ticket(tid).await;
        let completes = complete_per_ticket.get(tid).cloned().unwrap_or_default();
        assert!(completes.len() <= 1, "ticket {i} sold twice: {completes:?}");
        if i % 2 == 0 {
            assert_eq!(
                completes.len(),
                1,
                "even seats are always sold to their first holder"
            );
            assert_eq!(t["status"], json!("sold"));
            assert_eq!(t["orderId"], json!(completes[0]));
        } else {
            // Odd seats get held and cancelled repeatedly; version counts each change.
            assert_eq!(t["status"], json!("available"));
            let cancels = cancels_per_ticket.get(tid).copied().unwrap_or(0);
            assert!(cancels >= 1, "seat {i} was held at least once");
            assert_eq!(
                version_of(&t),
                2 * cancels,
                "each hold and each release is one version: {t}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_against_reserve_never_both_succeed() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let buyer = app.signup().await;
    for round in 0..20 {
        let t = app
            .create_ticket(&seller, &format!("Del {round}"), json!(1))
            .await;
        let tid = id_of(&t);
        let barrier = Arc::new(Barrier::new(2));
        let del = {
            let (api, s, tid, barrier) = (
                app.api.clone(),
                seller.clone(),
                tid.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                api.delete(&format!("/api/tickets/{tid}"), Auth::Bearer(&s))
                    .await
            })
        };
        let res = {
            let (api, b, tid, barrier) =
                (app.api.clone(), buyer.clone(), tid.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                api.post("/api/orders", Auth::Bearer(&b), json!({"ticketId": tid}))
                    .await
            })
        };
        let (d, r) = (del.await.unwrap(), res.await.unwrap());
        let now = app.get(&format!("/api/tickets/{tid}"), Auth::None).await;
        match (d.status, r.status) {
            (204, 404) => {
                now.error(404, None, None);
            }
            (400, 201) => {
                assert_eq!(now.body["status"], json!("reserved"), "round {round}");
                assert_eq!(now.body["orderId"], r.body["id"]);
            }
            (ds, rs) => panic!(
                "round {round}: delete {ds} {} / reserve {rs} {}; ticket now {}",
                d.text, r.text, now.text
            ),
        }
    }
    // No order points at a deleted ticket.
    let orders = app.get("/api/orders", Auth::Bearer(&buyer)).await.json(200);
    for o in orders.as_array().unwrap() {
        app.ticket(o["ticket"]["id"].as_str().unwrap()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_payments_of_one_order_charge_once() {
    let app = spawn_app().await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    let oid = id_of(&o);
    let barrier = Arc::new(Barrier::new(10));
    let mut set = JoinSet::new();
    for _ in 0..10 {
        let (api, b, oid, barrier) = (app.api.clone(), buyer.clone(), oid.clone(), barrier.clone());
        set.spawn(async move {
            barrier.wait().await;
            api.post(
                "/api/payments",
                Auth::Bearer(&b),
                json!({"orderId": oid, "token": "tok_visa"}),
            )
            .await
        });
    }
    let mut ok = 0;
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        match r.status {
            201 => ok += 1,
            400 => {
                r.error(400, None, None);
            }
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    assert_eq!(ok, 1, "exactly one payment succeeds");
    let tk = app.ticket(&id_of(&t)).await;
    assert_eq!(tk["status"], json!("sold"));
    assert_eq!(version_of(&tk), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_cancels_release_once() {
    let app = spawn_app().await;
    let (_, t) = app.some_ticket().await;
    let buyer = app.signup().await;
    let o = app.reserve(&buyer, &id_of(&t)).await;
    let oid = id_of(&o);
    let barrier = Arc::new(Barrier::new(10));
    let mut set = JoinSet::new();
    for _ in 0..10 {
        let (api, b, oid, barrier) = (app.api.clone(), buyer.clone(), oid.clone(), barrier.clone());
        set.spawn(async move {
            barrier.wait().await;
            api.delete(&format!("/api/orders/{oid}"), Auth::Bearer(&b))
                .await
        });
    }
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        assert!(r.status == 204 || r.status == 400, "{}", r.text);
    }
    let tk = app.ticket(&id_of(&t)).await;
    assert_eq!(tk["status"], json!("available"));
    assert_eq!(version_of(&tk), 2, "one release, one version: {tk}");
}
