//! The HTTP API tests of `main.rs`, the same sources, with every server on
//! PostgreSQL: a cluster started by the harness for this test binary
//! (`tests/support/postgres.rs`), a fresh database per server. The
//! `api_postgres` target of Cargo.toml.

use ticketing::config::StoreBackend;

/// The store every server of this test binary runs on.
const STORE: StoreBackend = StoreBackend::Postgres;

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

// PostgreSQL only.
mod pg_cluster;
mod pg_constraints;
