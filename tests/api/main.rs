//! Black-box integration tests of the ticketing server: the real server is
//! started in-process on port 0 with its own data directory, and every test
//! speaks the HTTP contract of `/work/shared/API.md` to it.
//!
//! One test binary on purpose (each binary links slowly).

mod client;
mod helpers;

mod bad_input;
mod commits;
mod concurrency;
mod csrf;
mod events_input;
mod expiry;
mod input_rules;
mod live;
mod metrics;
mod openapi;
mod orders;
mod payments;
mod persistence;
mod rate_limits;
mod seats;
mod tickets;
mod tokens;
mod users;
