//! Black-box integration tests of the ticketing server: the real server is
//! started in-process on port 0 with its own data directory, and every test
//! speaks the HTTP contract of `/work/shared/API.md` to it.
//!
//! This root runs them on the embedded store (sled); `on_postgres.rs`
//! compiles the same modules into the `api_postgres` target, on PostgreSQL.
//! Keep the two lists of modules alike (`pg_cluster` checks): only the
//! tests about one store itself are in one list alone.

use ticketing::config::StoreBackend;

/// The store every server of this test binary runs on.
const STORE: StoreBackend = StoreBackend::Sled;

mod client;
mod helpers;
#[path = "../support/postgres.rs"]
mod postgres;

mod bad_input;
mod commits;
mod concurrency;
mod csrf;
mod events_input;
mod expiry;
mod gate;
mod input_rules;
mod live;
mod metrics;
mod openapi;
mod orders;
mod payments;
mod persistence;
mod queue;
mod rate_limits;
mod seats;
mod tickets;
mod tokens;
mod users;

// sled only.
mod data_dir;
