//! The `ticketing` binary as a child process: the listening line on stdout,
//! graceful exit on SIGTERM/SIGINT, durability of acknowledged writes across
//! `kill -9`, and holds that expire across a restart; and, in
//! [`seat_burst`], orders of several seats across a `kill -9` mid-burst.
//!
//! The tests live in submodules by what they exercise: [`signals`] (SIGTERM,
//! SIGINT and SIGHUP, in-flight requests and a burst at shutdown),
//! [`kill_9`] (acknowledged writes, a signout and the id sequences across a
//! `kill -9`), [`hold_expiry`] (holds that run out while the server is down
//! or after its restart), [`startup`] (an invalid setting refused at start)
//! and [`seat_burst`]. This file holds what they share: the child process
//! and the JSON client included from `tests/support` and `tests/api`, and
//! the temporary directories of one server, [`dirs`].

#[path = "../support/child.rs"]
mod child;
#[path = "../api/client.rs"]
mod client;
mod hold_expiry;
mod kill_9;
mod seat_burst;
mod signals;
mod startup;

/// The data and log directories of one server, removed when dropped.
fn dirs() -> (tempfile::TempDir, tempfile::TempDir) {
    (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap())
}
