//! PostgreSQL stopped and started under load: the server (a child process
//! on a private cluster) takes a steady mixed load (`mixed_load`) while the
//! database shuts down (fast, or immediate: a crash) for a few seconds and
//! comes back. While it is down writes answer 503 with the contract's body
//! and `/healthz` 503, reads 200 from memory; once it is back writes are
//! taken again by themselves; after a final kill -9 and restart every
//! acknowledged write is there (through the API, and a sample through SQL)
//! and nothing a client was refused is.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::child::{spawn_server, Server};
use crate::client::{self, Api, Auth};
use crate::mixed_load::{self, Told, PASSWORD};
use crate::postgres::{connect, PgCluster};

/// Concurrent clients, each its own user.
const CLIENTS: usize = 4;
/// Load before the database goes and after it is back.
const STEADY: Duration = Duration::from_millis(1500);
/// How long the database stays down: short of the store's 5 s for settling
/// a commit whose answer the shutdown cut off, so no write ends `Uncertain`.
const DOWN_FOR: Duration = Duration::from_secs(3);
/// How soon after the database accepts connections again writes must be
/// taken (the store tries to reconnect every 0.5 s).
const BACK_WITHIN: Duration = Duration::from_secs(5);

/// How PostgreSQL goes down.
#[derive(Clone, Copy, Debug)]
enum Shutdown {
    /// `pg_ctl stop -m fast`: sessions ended, a checkpoint written.
    Fast,
    /// `pg_ctl stop -m immediate`: a crash; recovery replays the WAL.
    Immediate,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_and_started_under_load_keeps_every_acknowledged_write() {
    outage_under_load(Shutdown::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_and_restarted_under_load_keeps_every_acknowledged_write() {
    outage_under_load(Shutdown::Immediate).await;
}

fn spawn_on(url: &str, data: &Path, logs: &Path) -> Server {
    let env = [
        ("TICKETING_STORAGE__BACKEND", "postgres"),
        ("TICKETING_STORAGE__POSTGRES_URL", url),
        ("TICKETING_LIMITS__AUTH_PER_ADDR", "100000"),
    ];
    spawn_server(data, logs, 600, &env)
}

/// Sends a request whose answer may be a 503: its status and JSON body.
async fn unchecked(api: &Api, method: Method, path: &str, auth: Auth<'_>) -> (u16, Value) {
    let mut rb = api.request(method.clone(), path, auth);
    if method == Method::POST {
        rb = rb.json(&json!({"title": "Probe", "price": 1}));
    }
    let resp = (rb.send().await).unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

async fn outage_under_load(how: Shutdown) {
    let began = Instant::now();
    let pg = Arc::new(PgCluster::private());
    let url = pg.fresh_database().await;
    let (data, logs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut server = spawn_on(&url, data.path(), logs.path());
    let api = server.api.clone();
    let mut users = Vec::new();
    for _ in 0..=CLIENTS {
        users.push(api.signup().await);
    }
    let prober = users.pop().unwrap();
    let before = api.create_ticket(&prober, "Before", json!(5)).await;
    let users = Arc::new(users);
    let pool = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|w| {
            tokio::spawn(mixed_load::client(
                w,
                api.clone(),
                users.clone(),
                pool.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(STEADY).await;

    // Down.
    let went_down = Instant::now();
    let cluster = pg.clone();
    tokio::task::spawn_blocking(move || match how {
        Shutdown::Fast => cluster.stop(),
        Shutdown::Immediate => cluster.crash(),
    })
    .await
    .unwrap();
    let (status, body) = unchecked(&api, Method::POST, "/api/tickets", Auth::Bearer(&prober)).await;
    assert_eq!(status, 503, "a write while PostgreSQL is down: {body}");
    assert!(body["errors"][0]["message"].is_string(), "{body}");
    let (status, _) = unchecked(&api, Method::GET, "/healthz", Auth::None).await;
    assert_eq!(status, 503, "/healthz while PostgreSQL is down");
    let read = api.ticket(&client::id_of(&before)).await;
    assert_eq!(read["title"], "Before", "reads go on from memory");
    tokio::time::sleep(DOWN_FOR.saturating_sub(went_down.elapsed())).await;

    // Up again: writes come back by themselves.
    let cluster = pg.clone();
    tokio::task::spawn_blocking(move || cluster.start())
        .await
        .unwrap();
    let came_up = Instant::now();
    let back = loop {
        match unchecked(&api, Method::POST, "/api/tickets", Auth::Bearer(&prober)).await {
            (201, _) => break Instant::now(),
            (503, _) => {}
            (status, body) => panic!("a write after PostgreSQL's return: {status} {body}"),
        }
        assert!(
            came_up.elapsed() < BACK_WITHIN,
            "writes still refused {BACK_WITHIN:?} after PostgreSQL came back:\n{}",
            child_log(logs.path())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (status, _) = unchecked(&api, Method::GET, "/healthz", Auth::None).await;
    assert_eq!(status, 200, "/healthz once writes are taken again");
    tokio::time::sleep(STEADY).await;
    stop.store(true, SeqCst);
    let mut told = Vec::new();
    for c in clients {
        told.push(
            c.await
                .expect("a client found a broken promise (see above)"),
        );
    }
    let refusals: Vec<(Instant, Instant)> = told.iter().flat_map(|t| t.refusals.clone()).collect();
    let acks: Vec<Instant> = told.iter().flat_map(|t| t.acks.clone()).collect();
    // Refused: answered once the database was going, sent before writes
    // were taken again.
    for (sent, answered) in &refusals {
        assert!(
            *answered >= went_down && *sent <= back,
            "a write refused outside the outage: sent {:?} after it began, answered {:?} after; \
             writes back {:?} after it began:\n{}",
            sent.checked_duration_since(went_down),
            answered.checked_duration_since(went_down),
            back.duration_since(went_down),
            child_log(logs.path()),
        );
    }
    // The clients may meet no refusal: a commit the shutdown cut off holds
    // the store until the database says how it ended, and the writes queued
    // behind it then go through (late, but within the client's timeout).
    for (what, n) in [
        ("before", acks.iter().filter(|&&a| a < went_down).count()),
        ("after", acks.iter().filter(|&&a| a > back).count()),
    ] {
        assert!(n > 0, "no write acknowledged {what} the outage");
    }
    eprintln!(
        "{how:?}: {} writes acknowledged, {} refused; writes back {:?} after PostgreSQL",
        acks.len(),
        refusals.len(),
        back.saturating_duration_since(came_up),
    );

    // kill -9, restart on the same database, and read everything back.
    server.kill9();
    let server = spawn_on(&url, data.path(), logs.path());
    // A commit whose fate the database did not tell within the store's 5 s
    // answers 503 though it may be stored (the contract's `Uncertain`): a
    // refused write may then appear, and only then.
    let uncertain = (std::fs::read_dir(logs.path()).unwrap().flatten())
        .any(|log| (std::fs::read_to_string(log.path()).unwrap()).contains("outcome is unknown"));
    if uncertain {
        eprintln!("{how:?}: a commit's outcome was unknown; refused writes may appear");
    }
    verify(&server.api, &users, &told, uncertain).await;
    verify_sql(&url, &told, uncertain).await;
    eprintln!("{how:?}: done in {:?}", began.elapsed());
}

/// The server's log, for failure messages.
fn child_log(logs: &Path) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(logs).unwrap().flatten() {
        all += &crate::child::tail(&entry.path());
    }
    all
}

/// Every ticket the server has, all pages.
async fn all_tickets(api: &Api) -> HashMap<String, Value> {
    let mut all = HashMap::new();
    let mut after = String::new();
    loop {
        let page = api
            .get(
                &format!("/api/tickets?status=any&limit=1000&after={after}"),
                Auth::None,
            )
            .await
            .json(200);
        let page = page.as_array().expect("a list").clone();
        let Some(last) = page.last() else {
            return all;
        };
        after = client::id_of(last);
        all.extend(page.into_iter().map(|t| (client::id_of(&t), t)));
    }
}

/// Through the API of the restarted server: every acknowledged ticket,
/// order (with its status) and user is there; no refused one is.
async fn verify(api: &Api, users: &[client::User], told: &[Told], uncertain: bool) {
    let tickets = all_tickets(api).await;
    let titles: HashSet<&str> = tickets
        .values()
        .filter_map(|t| t["title"].as_str())
        .collect();
    for (user, t) in users.iter().zip(told) {
        for (id, title) in &t.created {
            let ticket = tickets
                .get(id)
                .unwrap_or_else(|| panic!("ticket {id} lost"));
            assert_eq!(ticket["title"], title.as_str(), "{ticket}");
        }
        for title in &t.refused_titles {
            assert!(
                uncertain || !titles.contains(title.as_str()),
                "refused {title} is there"
            );
        }
        let listed = api.get("/api/orders", Auth::Bearer(user)).await.json(200);
        let listed: HashMap<String, Value> = (listed.as_array().expect("a list").iter())
            .map(|o| (client::id_of(o), o.clone()))
            .collect();
        for (id, (ticket, status)) in &t.orders {
            let o = listed.get(id).unwrap_or_else(|| panic!("order {id} lost"));
            assert_eq!(o["status"], *status, "order {id}: {o}");
            assert_eq!(o["ticket"]["id"], ticket.as_str(), "order {id}: {o}");
            if *status == "complete" {
                assert_eq!(tickets[ticket]["status"], "sold", "{}", tickets[ticket]);
            }
        }
        let unasked: Vec<&String> = listed
            .keys()
            .filter(|id| !t.orders.contains_key(*id))
            .collect();
        assert!(
            uncertain || unasked.is_empty(),
            "orders no 2xx announced: {unasked:?}"
        );
        for email in &t.signed_up {
            api.signin(email, PASSWORD).await;
        }
        for email in t.refused_signups.iter().filter(|_| !uncertain) {
            let r = api
                .signin_raw(&client::plain_client(), email, PASSWORD)
                .await;
            r.error(400, Some("Invalid credentials"), None);
        }
    }
}

/// Through SQL: a sample of the acknowledged tickets and orders as they
/// were acknowledged, and none of the refused tickets.
async fn verify_sql(url: &str, told: &[Told], uncertain: bool) {
    let db = connect(url).await;
    let key = |id: &str| u64::from_str_radix(id, 16).expect("a hex id") as i64;
    for t in told {
        for (id, title) in t.created.iter().step_by(5) {
            let row = db
                .query_one("SELECT title FROM tickets WHERE id = $1", &[&key(id)])
                .await
                .unwrap_or_else(|e| panic!("ticket {id} in SQL: {e}"));
            assert_eq!(row.get::<_, &str>(0), title.as_str());
        }
        for (id, (_, status)) in t.orders.iter().step_by(3) {
            let row = db
                .query_one("SELECT status FROM orders WHERE id = $1", &[&key(id)])
                .await
                .unwrap_or_else(|e| panic!("order {id} in SQL: {e}"));
            assert_eq!(row.get::<_, &str>(0), *status);
        }
        let refused = db
            .query_one(
                "SELECT count(*) FROM tickets WHERE title = ANY($1)",
                &[&t.refused_titles],
            )
            .await
            .unwrap();
        if !uncertain {
            assert_eq!(refused.get::<_, i64>(0), 0, "refused tickets in SQL");
        }
    }
}
