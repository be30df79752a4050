//! `/api/tickets`: create, list, get, edit, delete; prices, titles, dates, versions.
//!
//! This module holds the shape every ticket answered must have; each
//! submodule one part of the routes' contract.

mod create;
mod dates;
mod deletion;
mod edits;
mod listing;
mod prices;
mod status;

use serde_json::{json, Value};

use crate::helpers::*;

const TICKET_KEYS: [&str; 8] = [
    "id", "title", "price", "date", "userId", "version", "status", "orderId",
];

#[track_caller]
fn assert_ticket_shape(t: &Value) {
    for k in TICKET_KEYS {
        assert!(t.get(k).is_some(), "ticket lacks `{k}`: {t}");
    }
    assert!(t["id"].is_string() && t["userId"].is_string(), "{t}");
    assert!(t["price"].is_number(), "price is a JSON number: {t}");
    assert!(t["version"].is_u64(), "{t}");
}
