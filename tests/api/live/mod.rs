//! WebSocket `GET /api/tickets/live`: a snapshot on connect, then every change.
//!
//! `support` holds the shared helpers (connecting, reading within a deadline,
//! the client-side `Mirror`); each other module one aspect of the feed.

mod support;

mod big_snapshots;
mod changes;
mod holds;
mod inbound;
mod many_clients;
mod order;
mod shutdown;
mod slow_clients;
mod snapshot;
