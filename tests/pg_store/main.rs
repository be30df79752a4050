//! The PostgreSQL store against a real PostgreSQL (tests/support/postgres.rs:
//! the shared cluster, with a fresh database per test, or a private one for
//! tests that stop and start it). Every record kind round-trips; concurrent
//! batches share transactions; a refused batch does not take its group
//! down; the store refuses writes while the database is down and recovers
//! by itself; a newer schema is refused (`store`); a commit whose answer
//! was lost is settled by its transaction id (`lost_commit`); the server on
//! PostgreSQL keeps a sale across a restart, exits 2 on a bad URL and
//! answers 503 while the database is down (`server`), also under a steady
//! mixed load through a stop or a crash of PostgreSQL (`outage`).
//!
//! `records` holds the records the store tests commit.

#[path = "../support/child.rs"]
mod child;
#[path = "../api/client.rs"]
mod client;
mod lost_commit;
mod mixed_load;
mod outage;
#[path = "../support/postgres.rs"]
mod postgres;
mod records;
mod server;
mod store;

use std::path::Path;

/// The environment that puts the server on PostgreSQL at `url`.
fn postgres_env(url: &str) -> [(&'static str, String); 2] {
    [
        ("TICKETING_STORAGE__BACKEND", "postgres".to_owned()),
        ("TICKETING_STORAGE__POSTGRES_URL", url.to_owned()),
    ]
}

/// The server as a child process on PostgreSQL at `url`.
fn spawn_on(url: &str, data: &Path, logs: &Path) -> child::Server {
    let env = postgres_env(url);
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    child::spawn_server(data, logs, 600, &extra)
}
