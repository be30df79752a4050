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
//!   the restart, and every other one by its `expiresAt` + ~1 s;
//! - orders of several seats (`seats`, on a new event each cycle) are whole
//!   or absent: every acknowledged one holds all its seats in the state its
//!   status says, no seat is in two live orders, the counts add up.
//!
//! The same on PostgreSQL (a fresh database of the shared cluster): there
//! the kill lands around the store's group commits over the network, and a
//! restart reloads everything from the database.
//!
//! `TORTURE_CYCLES` (default 20 on sled, 10 on PostgreSQL) sets the number
//! of kill cycles and `TORTURE_SEED` the random seed (printed, for
//! replaying a failure).
//!
//! Here: the kill loop; `workload` the clients, `model` what they were told,
//! `observe` what a restarted server shows, `verify` the checks; `seats` the
//! same four for the seat buyers.

#[path = "../support/child.rs"]
mod child;
#[path = "../api/client.rs"]
mod client;
mod model;
mod observe;
#[path = "../support/postgres.rs"]
mod postgres;
mod seats;
mod verify;
mod workload;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use time::OffsetDateTime;
use tokio::task::JoinSet;

use child::spawn_server;
use model::{Model, Totals};
use observe::{latest, observe, observe_settled};
use verify::verify;
use workload::worker;

/// The hold window given to the server.
const HOLD_SECS: u64 = 2;
/// Concurrent clients, each its own user (seller and buyer).
const WORKERS: usize = 6;
/// Concurrent seat buyers, each its own user.
const SEAT_WORKERS: usize = 3;
/// Kill cycles on sled.
const SLED_CYCLES: u64 = 20;
/// Kill cycles on PostgreSQL: fewer, as a restart there loads the whole
/// store over a socket and opens a connection pool, about twice the time
/// of a cycle on sled on a busy 2-core runner; 10 keep it near sled's run
/// (~20 s) while every cycle still kills under load.
const PG_CYCLES: u64 = 10;
/// A tiny write-ahead log, so kills land in and around checkpoints too.
const SMALL_LOG: &[(&str, &str)] = &[("TICKETING_STORAGE__WAL_CHECKPOINT_KIB", "16")];

/// How long after its deadline (or after the restart, when that is later) a
/// hold may still show as `created`.
const EXPIRY_SLACK: Duration = Duration::from_millis(1500);

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

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_under_load_keeps_every_acknowledged_write() {
    torture(SMALL_LOG, SLED_CYCLES).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_under_load_on_postgres_keeps_every_acknowledged_write() {
    let url = postgres::PgCluster::shared().fresh_database().await;
    let store = [
        ("TICKETING_STORAGE__BACKEND", "postgres"),
        ("TICKETING_STORAGE__POSTGRES_URL", url.as_str()),
    ];
    torture(&store, PG_CYCLES).await;
}

/// The kill loop, on the store `store` (environment variables) chooses,
/// `cycles` times unless `TORTURE_CYCLES` says otherwise.
async fn torture(store: &[(&str, &str)], cycles: u64) {
    let cycles = env_u64("TORTURE_CYCLES").unwrap_or(cycles);
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

    let mut server = spawn_server(data.path(), logs.path(), HOLD_SECS, store);
    let mut users = Vec::new();
    for _ in 0..WORKERS {
        users.push(server.api.signup().await);
    }
    let users = Arc::new(users);
    let model = Arc::new(Mutex::new(Model::default()));
    let organiser = server.api.signup().await;
    let mut seat_buyers = Vec::new();
    for _ in 0..SEAT_WORKERS {
        seat_buyers.push(server.api.signup().await);
    }
    let seat_buyers = Arc::new(seat_buyers);
    let seat_model = Arc::new(Mutex::new(seats::SeatModel::default()));
    let mut totals = Totals::default();

    for cycle in 0..cycles {
        // Load, then SIGKILL at a random moment.
        seats::new_event(&server.api, &organiser, cycle, &seat_model).await;
        let mut set = JoinSet::new();
        for b in 0..SEAT_WORKERS {
            set.spawn(seats::seat_worker(
                b,
                server.api.clone(),
                seat_buyers.clone(),
                seat_model.clone(),
                rng.next(),
            ));
        }
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
        server = spawn_server(data.path(), logs.path(), HOLD_SECS, store);
        let (obs, waited) = observe_settled(&server.api, &users, server.started, cycle).await;
        if waited > 0 {
            totals.stale_holds_released += 1;
        }
        seats::verify(
            &server.api,
            &seat_buyers,
            &seat_model,
            server.started,
            cycle,
        )
        .await;
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
    seats::verify(
        &server.api,
        &seat_buyers,
        &seat_model,
        server.started,
        cycles,
    )
    .await;
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
        let sm = seat_model.lock().unwrap();
        let count = |s: &str| sm.orders.values().filter(|o| o.status == s).count();
        eprintln!(
            "seat orders: {} acknowledged writes, {} orders ({} complete, {} cancelled) on {} events",
            sm.acked,
            sm.orders.len(),
            count("complete"),
            count("cancelled"),
            sm.events.len()
        );
        assert!(count("complete") > 0 && count("cancelled") > 0);
    }
    let _ = &server.stderr_path;
}
