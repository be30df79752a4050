//! `/api/tickets`: sell, list, read, edit and delete tickets.

use warp::http::StatusCode;

use super::error::ApiError;
use super::inputs::{TicketBody, TicketQuery};
use super::openapi::{BodilessWriteRefusals, WriteRefusals};
use super::request::ApiRequest;
use super::{reply, Reply, State};
use crate::domain::TicketId;
use crate::views::{ErrorBody, Id, TicketView};

/// The ticket id in the path (404 when it cannot be one).
fn ticket_id(s: &str) -> Result<TicketId, ApiError> {
    s.parse().map_err(|()| ApiError::NotFound)
}

/// POST `/api/tickets` → 201 ticket.
#[utoipa::path(post, path = "/api/tickets", tag = "tickets", operation_id = "createTicket",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    request_body = TicketBody,
    responses(
        (status = 201, description = "On sale", body = TicketView),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        WriteRefusals
    ))]
pub async fn create(state: &State, req: ApiRequest) -> Reply {
    let caller = state.tokens.require(&req)?;
    let (title, price, date) = req.json::<TicketBody>()?.validate()?;
    let ticket = state
        .tickets
        .create(caller.user_id, title, price, date)
        .await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &crate::views::ticket(&ticket),
    ))
}

/// GET `/api/tickets[?status=any&limit=&after=]` → 200 array, oldest first.
#[utoipa::path(get, path = "/api/tickets", tag = "tickets", operation_id = "listTickets",
    params(TicketQuery),
    responses(
        (status = 200, description = "Tickets, oldest first", body = [TicketView]),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody)
    ))]
pub async fn list(state: &State, req: ApiRequest) -> Reply {
    let page = req.query::<TicketQuery>()?.validate()?;
    let tickets = state.tickets.list(page.filter, page.after, page.limit);
    let body: Vec<_> = tickets.iter().map(crate::views::ticket).collect();
    Ok(reply::json(StatusCode::OK, &body))
}

/// GET `/api/tickets/:id` → 200 ticket | 404.
#[utoipa::path(get, path = "/api/tickets/{id}", tag = "tickets", operation_id = "getTicket",
    params(("id" = Id, Path, description = "Ticket id (any other shape is no such ticket: 404)")),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 404, description = "No such id", body = ErrorBody)
    ))]
pub async fn show(state: &State, id: &str) -> Reply {
    let ticket = state.tickets.get(ticket_id(id)?)?;
    Ok(reply::json(StatusCode::OK, &crate::views::ticket(&ticket)))
}

/// PUT `/api/tickets/:id` → 200 ticket.
#[utoipa::path(put, path = "/api/tickets/{id}", tag = "tickets", operation_id = "updateTicket",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    request_body = TicketBody,
    params(("id" = Id, Path, description = "Ticket id (any other shape is no such ticket: 404)")),
    responses(
        (status = 200, description = "Edited", body = TicketView),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody),
        WriteRefusals
    ))]
pub async fn update(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    let ticket = state.tickets.as_seller(ticket_id(id)?, caller.user_id)?;
    let (title, price, date) = req.json::<TicketBody>()?.validate()?;
    let ticket = ticket.edit(title, price, date).await?;
    Ok(reply::json(StatusCode::OK, &crate::views::ticket(&ticket)))
}

/// DELETE `/api/tickets/:id` → 204.
#[utoipa::path(delete, path = "/api/tickets/{id}", tag = "tickets", operation_id = "deleteTicket",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    params(("id" = Id, Path, description = "Ticket id (any other shape is no such ticket: 404)")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody),
        BodilessWriteRefusals
    ))]
pub async fn delete(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    state
        .tickets
        .as_seller(ticket_id(id)?, caller.user_id)?
        .delete()
        .await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}
