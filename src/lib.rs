//! ticketing: an actor-based, single-node ticketing server.
//!
//! People sign up, put tickets on sale, reserve one for a limited time, pay,
//! and watch tickets change state live. Each ticket is an actix actor that
//! owns the ticket, its order and its hold's timer, reached through typed
//! handles (`actors::handles`); hyper serves HTTP (warp's filters answer
//! only health, metrics and the UI); sled keeps every acknowledged write
//! across crashes.
//!
//! [`App::start`] runs the whole server in-process (used by the binary, the
//! tests and the benches) and returns a [`RunningApp`] with the bound address
//! and a graceful shutdown.

#![warn(missing_docs)]

pub mod actors;
pub mod clock;
pub mod config;
pub mod domain;
pub mod http;
pub mod load;
pub mod maintenance;
pub mod metrics;
pub mod payments;
pub mod storage;
pub mod views;

mod app;

pub use app::{App, RunningApp, StartError, Wiring};
