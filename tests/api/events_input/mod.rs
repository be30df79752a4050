//! The HTTP edge of events and of orders of several seats: what is refused
//! before the core is asked (each invalid field of `POST /api/events` named
//! by its path, the map's size, the 1 MiB body of that one route, the order
//! bodies' shapes, ids that cannot be ids), and the edge's part of what the
//! core answers (a seat's ticket is not edited as a ticket, the live seat
//! map's 404 and its end when the event goes).
//!
//! This module holds the valid event the tests start from and the readers
//! of a 400's errors; each submodule one of those parts.

mod event_fields;
mod event_sizes;
mod order_bodies;
mod seats;

use serde_json::{json, Value};

use crate::helpers::*;

/// A valid event with two seated rows and a standing section.
fn valid_event() -> Value {
    json!({
        "name": "Gala",
        "venue": "Town Hall",
        "startsAt": "2030-06-01T19:00:00Z",
        "onSaleAt": "2030-05-01T09:00:00Z",
        "queue": false,
        "sections": [
            {"name": "Stalls", "price": "45.50", "rows": [{"label": "A", "seats": 3}, {"label": "B", "seats": 2}]},
            {"name": "Floor", "price": 20, "capacity": 5}
        ]
    })
}

/// `valid_event` with `f` applied.
fn event_with(f: impl FnOnce(&mut Value)) -> Value {
    let mut e = valid_event();
    f(&mut e);
    e
}

/// A map of `sections` sections of `rows` rows of `seats` seats each.
fn sections_of(sections: usize, rows: usize, seats: u32) -> Value {
    let rows: Vec<Value> = (0..rows)
        .map(|r| json!({"label": format!("R{r}"), "seats": seats}))
        .collect();
    (0..sections)
        .map(|s| json!({"name": format!("S{s}"), "price": 10, "rows": rows}))
        .collect()
}

/// The fields of a 400, in order.
fn fields(r: &Resp) -> Vec<String> {
    r.problems().into_iter().map(|(f, _)| f).collect()
}
