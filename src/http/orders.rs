//! `/api/orders`: hold a ticket or seats of an event, list and read your
//! orders, cancel one.

use warp::http::StatusCode;

use super::error::ApiError;
use super::inputs::OrderBody;
use super::openapi::BodilessWriteRefusals;
use super::request::ApiRequest;
use super::{reply, Reply, State};
use crate::domain::OrderId;
use crate::views::{ErrorBody, Id, OrderView};

/// The order id in the path (404 when it cannot be one).
fn order_id(s: &str) -> Result<OrderId, ApiError> {
    s.parse().map_err(|()| ApiError::NotFound)
}

/// POST `/api/orders` `{ticketId}`, `{ticketIds}` or `{eventId, quantity,
/// section?}` → 201 order in `created`, holding every seat asked for.
#[utoipa::path(post, path = "/api/orders", tag = "orders", operation_id = "createOrder",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    request_body = OrderBody,
    responses(
        (status = 201, description = "Held until expiresAt", body = OrderView),
        (status = 400, description = "Invalid input (`TicketId must be provided` for none of the three bodies; `ticketIds`, `quantity`, `section`) or a rule of the domain (`Ticket is already reserved`, `Not enough seats available`, `Seat limit reached for this event`, `Not on sale yet`)", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        (status = 403, description = "A queued event without a valid admission pass (`Wait for your turn in the queue`), or a cookie-authenticated request from another origin", body = ErrorBody),
        (status = 404, description = "No such ticket or event", body = ErrorBody),
        (status = 408, description = "Body did not arrive in time (connection closed)", body = ErrorBody),
        (status = 413, description = "Body over 64 KiB", body = ErrorBody),
        (status = 415, description = "Body is not application/json", body = ErrorBody),
        (status = 503, description = "Storage cannot take writes", body = ErrorBody)
    ))]
pub async fn create(state: &State, req: ApiRequest) -> Reply {
    let caller = state.tokens.require(&req)?;
    let order = req.json::<OrderBody>()?.validate()?;
    let order = state.orders.place(caller.user_id, order).await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &crate::views::order(&order),
    ))
}

/// GET `/api/orders` → the caller's orders, newest first.
#[utoipa::path(get, path = "/api/orders", tag = "orders", operation_id = "listOrders",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
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
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", operation_id = "getOrder",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    params(("id" = Id, Path, description = "Order id (any other shape is no such order: 404)")),
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
#[utoipa::path(delete, path = "/api/orders/{id}", tag = "orders", operation_id = "cancelOrder",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    params(("id" = Id, Path, description = "Order id (any other shape is no such order: 404)")),
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
