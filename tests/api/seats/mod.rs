//! Events with seat maps and orders of several seats (API.md part 2):
//! creating and reading events, every failure row of the order table, the
//! all-or-nothing rule under races, and the per-event live feed.

mod events;
mod live;
mod orders;
mod races;

use serde_json::{json, Value};

use crate::client::*;

/// A layout: section "Stalls" with rows A (4 seats) and B (6 seats) at 30,
/// section "Floor" standing for 5 at 15.50.
pub fn small_layout() -> Value {
    json!([
        {"name": "Stalls", "price": 30, "rows": [{"label": "A", "seats": 4}, {"label": "B", "seats": 6}]},
        {"name": "Floor", "price": "15.50", "capacity": 5}
    ])
}

/// Creates an event of `sections` by `organizer`, on sale now.
pub async fn create_event(api: &Api, organizer: &User, sections: Value) -> Value {
    api.post(
        "/api/events",
        Auth::Bearer(organizer),
        json!({"name": "Gig", "venue": "Hall", "startsAt": "2030-06-01T19:00:00Z", "sections": sections}),
    )
    .await
    .json(201)
}

/// `buyer` orders `ticket_ids`, all or nothing.
pub async fn order_seats(api: &Api, buyer: &User, ticket_ids: &[String]) -> Resp {
    api.post(
        "/api/orders",
        Auth::Bearer(buyer),
        json!({ "ticketIds": ticket_ids }),
    )
    .await
}

/// The ids of `seats`.
pub fn ids(seats: &[Value]) -> Vec<String> {
    seats.iter().map(id_of).collect()
}
