//! `/api/orders`: reserve a ticket, list and read your orders, cancel one.

#[allow(unused_imports)]
use super::openapi::{BodilessWriteRefusals, ErrorBody, OrderInput, WriteRefusals};
#[allow(unused_imports)]
use crate::views::OrderView;
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
#[utoipa::path(post, path = "/api/orders", tag = "orders", request_body = OrderInput,
    responses(
        (status = 201, description = "Held until expiresAt", body = OrderView),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody),
        WriteRefusals
    ))]
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
#[utoipa::path(get, path = "/api/orders", tag = "orders",
    responses(
        (status = 200, description = "Your orders, newest first", body = [OrderView]),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody)
    ))]
pub async fn list(state: &State, req: ApiRequest) -> Reply {
    let caller = state.tokens.require(&req)?;
    let orders = state.orders.list(caller.user_id);
    let body: Vec<_> = orders.iter().map(crate::views::order).collect();
    Ok(reply::json(StatusCode::OK, &body))
}

/// GET `/api/orders/:id` → 200 order.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order", body = OrderView),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody)
    ))]
pub async fn show(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    let order = state.orders.get(order_id(id)?, caller.user_id)?;
    Ok(reply::json(StatusCode::OK, &crate::views::order(&order)))
}

/// DELETE `/api/orders/:id` → 204, the order cancelled, the ticket free.
#[utoipa::path(delete, path = "/api/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 204, description = "Cancelled; the ticket is available again"),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody),
        BodilessWriteRefusals
    ))]
pub async fn cancel(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    state.orders.cancel(order_id(id)?, caller.user_id).await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}
