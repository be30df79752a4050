//! The `ticketing` binary as a child process: the listening line on stdout,
//! graceful exit on SIGTERM/SIGINT, durability of acknowledged writes across
//! `kill -9`, and holds that expire across a restart; and, in
//! [`seat_burst`], orders of several seats across a `kill -9` mid-burst.

#[path = "../support/child.rs"]
mod child;
#[path = "../api/client.rs"]
mod client;
mod seat_burst;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinSet;

use child::{spawn_server, tail};
use client::*;

fn dirs() -> (tempfile::TempDir, tempfile::TempDir) {
    (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap())
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

async fn sleep_until(t: time::OffsetDateTime) {
    let d = t - now();
    if d.is_positive() {
        tokio::time::sleep(Duration::try_from(d).unwrap()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_0_and_prints_exactly_one_line() {
    let (data, logs) = dirs();
    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    s.api.get("/healthz", Auth::None).await.expect(200);
    let u = s.api.signup().await;
    s.api.create_ticket(&u, "Before TERM", json!(5)).await;
    s.signal("-TERM");
    let st = s.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(
        st.code(),
        Some(0),
        "exit status after SIGTERM: {st:?}; stderr:\n{}",
        tail(&s.stderr_path)
    );
    assert_eq!(
        s.extra_stdout_lines(),
        Vec::<String>::new(),
        "stdout has exactly one line"
    );
    let _ = data;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_exits_0() {
    let (data, logs) = dirs();
    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    s.api.get("/healthz", Auth::None).await.expect(200);
    s.signal("-INT");
    let st = s.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(
        st.code(),
        Some(0),
        "exit status after SIGINT: {st:?}; stderr:\n{}",
        tail(&s.stderr_path)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_is_ignored_and_sigterm_still_stops_cleanly() {
    let (data, logs) = dirs();
    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    s.api.get("/healthz", Auth::None).await.expect(200);
    s.signal("-HUP");
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.api.get("/healthz", Auth::None).await.expect(200);
    s.signal("-TERM");
    let st = s.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(st.code(), Some(0), "stderr:\n{}", tail(&s.stderr_path));
    assert!(tail(&s.stderr_path).contains("SIGHUP ignored"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_keeps_every_acknowledged_write() {
    let (data, logs) = dirs();
    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    let u = s.api.signup().await;
    let mut set = JoinSet::new();
    for i in 0..60 {
        let (api, u) = (s.api.clone(), u.clone());
        set.spawn(async move {
            tokio::time::sleep(Duration::from_millis(i * 2)).await;
            let rb = api
                .request(reqwest::Method::POST, "/api/tickets", Auth::Bearer(&u))
                .json(&json!({"title": format!("Burst {i}"), "price": 1}));
            // A connection refused after the listener closed is fine; a
            // response must be a success or a clean refusal, never a 5xx.
            match rb.send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    let body: Value = r.json().await.unwrap_or(Value::Null);
                    assert!(
                        status < 500 || status == 503,
                        "status {status} during shutdown: {body}"
                    );
                    (status == 201).then(|| id_of(&body))
                }
                Err(_) => None,
            }
        });
    }
    tokio::time::sleep(Duration::from_millis(40)).await;
    s.signal("-TERM");
    let mut acked = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Some(id) = r.unwrap() {
            acked.push(id);
        }
    }
    let st = s.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(
        st.code(),
        Some(0),
        "{st:?}; stderr:\n{}",
        tail(&s.stderr_path)
    );
    eprintln!("{} of 60 creates acknowledged before shutdown", acked.len());

    let s2 = spawn_server(data.path(), logs.path(), 600, &[]);
    for id in &acked {
        let t = s2.api.ticket(id).await;
        assert_eq!(t["userId"], json!(u.id));
    }
}

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
async fn holds_expire_on_time_across_a_kill_9_restart() {
    let (data, logs) = dirs();
    let window = 4;
    let mut s = spawn_server(data.path(), logs.path(), window, &[]);
    let api = s.api.clone();
    let seller = api.signup().await;
    let buyer = api.signup().await;
    let t1 = api
        .create_ticket(&seller, "Runs out while down", json!(1))
        .await;
    let t2 = api
        .create_ticket(&seller, "Runs out after restart", json!(1))
        .await;
    let o1 = api.reserve(&buyer, &id_of(&t1)).await;
    let e1 = parse_time(o1["expiresAt"].as_str().unwrap());
    sleep_until(e1 - time::Duration::milliseconds(1500)).await;
    let o2 = api.reserve(&buyer, &id_of(&t2)).await;
    s.kill9();
    let e2 = parse_time(o2["expiresAt"].as_str().unwrap());
    assert!(
        e2 - e1 >= time::Duration::seconds(1),
        "the second hold ends later: {e1} {e2}"
    );

    sleep_until(e1 + time::Duration::milliseconds(300)).await;
    let s2 = spawn_server(data.path(), logs.path(), window, &[]);
    let started = now();
    let api = s2.api.clone();
    let b = api.signin(&buyer.email, &buyer.password).await;
    assert!(
        now() < e2,
        "test setup too slow: restarted after the second hold ended"
    );

    // The hold that ran out while the server was down is cancelled promptly.
    eventually(
        Duration::from_millis(1000),
        "the expired hold to be cancelled after restart",
        || async {
            (api.order(&b, &id_of(&o1)).await["status"] == json!("cancelled")).then_some(())
        },
    )
    .await;
    let tk1 = api.ticket(&id_of(&t1)).await;
    assert_eq!(tk1["status"], json!("available"));
    assert_eq!(tk1["orderId"], Value::Null);
    assert_eq!(version_of(&tk1), 2);
    eprintln!("stale hold cancelled {:?} after restart", now() - started);

    // The other is still held until its own expiry...
    let o2_now = api.order(&b, &id_of(&o2)).await;
    assert_eq!(o2_now["status"], json!("created"), "{o2_now}");
    assert_eq!(
        o2_now["expiresAt"], o2["expiresAt"],
        "expiry kept, not re-armed from the restart"
    );
    let probe = e2 - time::Duration::milliseconds(300);
    if now() < probe {
        sleep_until(probe).await;
        assert_eq!(
            api.order(&b, &id_of(&o2)).await["status"],
            json!("created"),
            "expired early"
        );
    }
    // ...and expires on time (not a full window after the restart).
    let deadline = e2 + time::Duration::milliseconds(1500);
    loop {
        let o = api.order(&b, &id_of(&o2)).await;
        if o["status"] == json!("cancelled") {
            assert!(
                now() + time::Duration::milliseconds(50) >= e2,
                "expired before expiresAt"
            );
            break;
        }
        assert!(
            now() < deadline,
            "hold not expired 1.5 s after its expiresAt {e2}: {o}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tk2 = api.ticket(&id_of(&t2)).await;
    assert_eq!(tk2["status"], json!("available"));
    assert_eq!(version_of(&tk2), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_setting_exits_non_zero_without_listening() {
    let (data, logs) = dirs();
    let stdout_path = logs.path().join("stdout.log");
    let stderr_path = logs.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ticketing"))
        .current_dir(logs.path())
        .env("TICKETING_SERVER__ADDR", "127.0.0.1:0")
        .env("TICKETING_STORAGE__PATH", data.path())
        .env("TICKETING_AUTH__BCRYPT_COST", "3")
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(&stdout_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&stderr_path).unwrap()))
        .spawn()
        .expect("run ticketing");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("bcrypt cost 3 must be refused at start, but the server kept running");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "bcrypt cost 3 must be refused");
    let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    assert!(!out.contains("listening"), "it must not listen: {out}");
    assert!(
        !tail(&stderr_path).trim().is_empty(),
        "the reason is given on stderr"
    );
}

/// "In-flight requests finish": a slow signup (bcrypt cost 11) under way when
/// SIGTERM arrives still gets its 201, and the account exists after restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish() {
    let (data, logs) = dirs();
    let mut s = spawn_server(
        data.path(),
        logs.path(),
        600,
        &[("TICKETING_AUTH__BCRYPT_COST", "11")],
    );
    s.api.get("/healthz", Auth::None).await.expect(200);
    let email = unique_email();
    let signup = {
        let (api, email) = (s.api.clone(), email.clone());
        tokio::spawn(async move {
            let r = api.signup_raw(&plain_client(), &email, "password123").await;
            (r, std::time::Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(60)).await;
    let termed = std::time::Instant::now();
    s.signal("-TERM");
    let (r, answered) = signup.await.expect("signup task");
    assert!(
        answered > termed,
        "test setup: the signup finished before SIGTERM was sent"
    );
    let body = r.json(201);
    let st = s.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(
        st.code(),
        Some(0),
        "{st:?}; stderr:\n{}",
        tail(&s.stderr_path)
    );

    let s2 = spawn_server(data.path(), logs.path(), 600, &[]);
    let u = s2.api.signin(&email, "password123").await;
    assert_eq!(json!(u.id), body["id"]);
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
