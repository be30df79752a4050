//! The JSON shapes of the contract (`../shared/API.md`): how a ticket, an
//! order, a user and a payment look to clients, in HTTP bodies and on the
//! live WebSocket alike.

use serde_json::{json, Value};

use crate::domain::{Order, Payment, Ticket, User};

/// `{id, title, price, date, userId, version, status, orderId}`.
pub fn ticket(t: &Ticket) -> Value {
    json!({
        "id": t.id.to_string(),
        "title": t.title.as_str(),
        "price": t.price.to_json(),
        "date": t.date.to_json(),
        "userId": t.seller.to_string(),
        "version": t.version,
        "status": t.status.as_str(),
        "orderId": t.order_id.map(|o| o.to_string()),
    })
}

/// `{id, status, userId, expiresAt, ticket: {id, title, price, date, version}, version}`.
pub fn order(o: &Order) -> Value {
    json!({
        "id": o.id.to_string(),
        "status": o.status.as_str(),
        "userId": o.buyer.to_string(),
        "expiresAt": o.expires_at.to_rfc3339(),
        "ticket": {
            "id": o.ticket.id.to_string(),
            "title": o.ticket.title.as_str(),
            "price": o.ticket.price.to_json(),
            "date": o.ticket.date.to_json(),
            "version": o.ticket.version,
        },
        "version": o.version,
    })
}

/// `{id, email}`.
pub fn user(u: &User) -> Value {
    json!({ "id": u.id.to_string(), "email": u.email.as_str() })
}

/// `{id, orderId}`.
pub fn payment(p: &Payment) -> Value {
    json!({ "id": p.id.to_string(), "orderId": p.order_id.to_string() })
}
