//! `/api/tickets`: sell, list, read, edit and delete tickets.

#[allow(unused_imports)]
use super::openapi::{BodilessWriteRefusals, ErrorBody, TicketInput, WriteRefusals};
#[allow(unused_imports)]
use crate::views::TicketView;
use warp::http::StatusCode;

use super::error::ApiError;
use super::request::{ApiRequest, Fields};
use super::{reply, Reply, State};
use crate::actors::ticket::{Delete, Edit};
use crate::actors::TicketFilter;
use crate::domain::{EventDate, Price, TicketId, Title};

/// Default and largest page sizes.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// Title, price and date from a create or edit body.
fn ticket_fields(req: &ApiRequest) -> Result<(Title, Price, EventDate), ApiError> {
    let body = req.json()?;
    let mut f = Fields::new(&body);
    let title = match f.raw("title") {
        Some(serde_json::Value::String(s)) => f.parse(Title::parse(s)),
        _ => f.parse(Title::parse("")),
    };
    let price = f.parse(price_literal(req).and_then(|raw| Price::from_json_literal(&raw)));
    let date = f.parse(EventDate::from_json(f.raw("date")));
    f.finish()?;
    Ok((
        title.expect("checked"),
        price.expect("checked"),
        date.expect("checked"),
    ))
}

/// The literal JSON text of the body's `price`, as the client wrote it
/// (missing or `null`: required).
fn price_literal(req: &ApiRequest) -> Result<String, crate::domain::DomainError> {
    #[derive(serde::Deserialize)]
    struct PriceOnly<'a> {
        #[serde(borrow)]
        price: Option<&'a serde_json::value::RawValue>,
    }
    serde_json::from_slice::<PriceOnly>(req.body())
        .ok()
        .and_then(|p| p.price)
        .map(|raw| raw.get().to_owned())
        .ok_or(crate::domain::DomainError::Invalid {
            field: "price",
            message: "Price is required",
        })
}

/// The ticket id in the path (404 when it cannot be one).
pub fn ticket_id(s: &str) -> Result<TicketId, ApiError> {
    s.parse().map_err(|()| ApiError::NotFound)
}

/// POST `/api/tickets` → 201 ticket.
#[utoipa::path(post, path = "/api/tickets", tag = "tickets", request_body = TicketInput,
    responses(
        (status = 201, description = "On sale", body = TicketView),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        WriteRefusals
    ))]
pub async fn create(state: &State, req: ApiRequest) -> Reply {
    let caller = state.tokens.require(&req)?;
    let (title, price, date) = ticket_fields(&req)?;
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
#[utoipa::path(get, path = "/api/tickets", tag = "tickets",
    params(
        ("status" = Option<String>, Query, description = "any for every ticket; by default only available ones"),
        ("limit" = Option<u32>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("after" = Option<String>, Query, description = "The page starts after this ticket id"),
    ),
    responses(
        (status = 200, description = "Tickets, oldest first", body = [TicketView]),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody)
    ))]
pub async fn list(state: &State, req: ApiRequest) -> Reply {
    let filter = match req.query.get("status").map(String::as_str) {
        None | Some("") | Some("available") => TicketFilter::Available,
        Some("any") => TicketFilter::Any,
        Some(_) => return Err(ApiError::field("status", "Status must be available or any")),
    };
    let limit = match req.query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => return Err(ApiError::field("limit", "Limit must be 1 to 1000")),
        },
    };
    let after = match req.query.get("after").filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => Some(
            a.parse::<TicketId>()
                .map_err(|()| ApiError::field("after", "After must be a ticket id"))?,
        ),
    };
    let tickets = state.core.read_model.tickets(filter, after, limit);
    let body: Vec<_> = tickets.iter().map(crate::views::ticket).collect();
    Ok(reply::json(StatusCode::OK, &body))
}

/// GET `/api/tickets/:id` → 200 ticket | 404.
#[utoipa::path(get, path = "/api/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "Ticket id")),
    responses(
        (status = 200, description = "The ticket", body = TicketView),
        (status = 404, description = "No such id", body = ErrorBody)
    ))]
pub async fn show(state: &State, id: &str) -> Reply {
    let ticket = state
        .core
        .read_model
        .ticket(ticket_id(id)?)
        .ok_or(ApiError::NotFound)?;
    Ok(reply::json(StatusCode::OK, &crate::views::ticket(&ticket)))
}

/// PUT `/api/tickets/:id` → 200 ticket.
#[utoipa::path(put, path = "/api/tickets/{id}", tag = "tickets", request_body = TicketInput,
    params(("id" = String, Path, description = "Ticket id")),
    responses(
        (status = 200, description = "Edited", body = TicketView),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody),
        WriteRefusals
    ))]
pub async fn update(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    let id = ticket_id(id)?;
    let current = state.core.read_model.ticket(id).ok_or(ApiError::NotFound)?;
    if current.seller != caller.user_id {
        return Err(ApiError::Unauthorized);
    }
    let (title, price, date) = ticket_fields(&req)?;
    let edit = Edit {
        by: caller.user_id,
        title,
        price,
        date,
    };
    let ticket = state.tickets.send(id, edit).await?;
    Ok(reply::json(StatusCode::OK, &crate::views::ticket(&ticket)))
}

/// DELETE `/api/tickets/:id` → 204.
#[utoipa::path(delete, path = "/api/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "Ticket id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody),
        BodilessWriteRefusals
    ))]
pub async fn delete(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    let id = ticket_id(id)?;
    let current = state.core.read_model.ticket(id).ok_or(ApiError::NotFound)?;
    if current.seller != caller.user_id {
        return Err(ApiError::Unauthorized);
    }
    state
        .tickets
        .send(id, Delete { by: caller.user_id })
        .await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}
