//! `/api/orders`: reserve a ticket, list and read your orders, cancel one.

use warp::http::StatusCode;

use super::error::ApiError;
use super::request::{ApiRequest, Fields};
use super::tickets::ticket_id;
use super::{reply, Reply, State};
use crate::domain::OrderId;

/// The order id in the path (404 when it cannot be one).
pub fn order_id(s: &str) -> Result<OrderId, ApiError> {
    s.parse().map_err(|()| ApiError::NotFound)
}

/// POST `/api/orders` `{ticketId}` → 201 order in `created`.
pub async fn create(state: &State, req: ApiRequest) -> Reply {
    let caller = state.tokens.require(&req)?;
    let body = req.json()?;
    let mut f = Fields::new(&body);
    let ticket = f
        .string("ticketId", "TicketId must be provided")
        .map(str::to_owned);
    f.finish()?;
    let ticket = ticket_id(ticket.expect("checked").trim())?;
    let order = state.orders.reserve(ticket, caller.user_id).await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &crate::views::order(&order),
    ))
}

/// GET `/api/orders` → the caller's orders, newest first.
pub async fn list(state: &State, req: ApiRequest) -> Reply {
    let caller = state.tokens.require(&req)?;
    let orders = state.orders.list(caller.user_id);
    let body: Vec<_> = orders.iter().map(crate::views::order).collect();
    Ok(reply::json(StatusCode::OK, &body))
}

/// GET `/api/orders/:id` → 200 order.
pub async fn show(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    let order = state.orders.get(order_id(id)?, caller.user_id)?;
    Ok(reply::json(StatusCode::OK, &crate::views::order(&order)))
}

/// DELETE `/api/orders/:id` → 204, the order cancelled, the ticket free.
pub async fn cancel(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    state.orders.cancel(order_id(id)?, caller.user_id).await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}
