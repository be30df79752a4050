//! Signals to the running binary: SIGTERM and SIGINT exit 0 with the one
//! stdout line, SIGHUP is ignored, an in-flight request still finishes
//! after SIGTERM, and a burst cut by SIGTERM keeps every acknowledged write.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::child::{spawn_server, tail};
use crate::client::*;
use crate::dirs;

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
