//! `/api/events`: put a whole event on sale in one call, list events, read
//! one (its map and counts, as the core encoded them), list its seats, and
//! delete it. The live seat map is in `live`.

use warp::http::StatusCode;

use super::error::ApiError;
use super::inputs::{EventBody, EventQuery, SeatsQuery};
use super::openapi::BodilessWriteRefusals;
use super::request::ApiRequest;
use super::{reply, Reply, State};
use crate::domain::EventId;
use crate::views::{ErrorBody, EventView, Id, TicketView};

/// The event id in the path (404 when it cannot be one).
fn event_id(s: &str) -> Result<EventId, ApiError> {
    s.parse().map_err(|()| ApiError::NotFound)
}

/// POST `/api/events` → 201 event, every seat available.
#[utoipa::path(post, path = "/api/events", tag = "events", operation_id = "createEvent",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    request_body = EventBody,
    responses(
        (status = 201, description = "On sale (or to go on sale at onSaleAt): every seat exists, available, version 0", body = EventView),
        (status = 400, description = "Invalid input, one entry per field named by its path (`sections[0].rows[3].seats`); `Too many seats` above 100,000 (field `sections`)", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Cookie-authenticated request from another origin", body = ErrorBody),
        (status = 408, description = "Body did not arrive in time (connection closed)", body = ErrorBody),
        (status = 413, description = "Body over 1 MiB", body = ErrorBody),
        (status = 415, description = "Body is not application/json", body = ErrorBody),
        (status = 503, description = "Storage cannot take writes", body = ErrorBody)
    ))]
pub async fn create(state: &State, req: ApiRequest) -> Reply {
    let caller = state.tokens.require(&req)?;
    // Up to 1 MiB of map: read and checked on the blocking pool.
    let plan = req.json_blocking(EventBody::validate).await?;
    let event = state.events.create(caller.user_id, plan).await?;
    let body = state.events.get(event.id).ok_or_else(|| {
        ApiError::Internal(format!("event {} created but not readable", event.id))
    })?;
    Ok(reply::json_bytes(StatusCode::CREATED, body))
}

/// GET `/api/events[?limit=&after=]` → 200 array, soonest first.
#[utoipa::path(get, path = "/api/events", tag = "events", operation_id = "listEvents",
    params(EventQuery),
    responses(
        (status = 200, description = "Events, soonest startsAt first", body = [EventView]),
        (status = 400, description = "Invalid query", body = ErrorBody)
    ))]
pub async fn list(state: &State, req: ApiRequest) -> Reply {
    let page = req.query::<EventQuery>()?.validate()?;
    let events = state.events.list(page.after, page.limit);
    Ok(reply::json(StatusCode::OK, &events))
}

/// GET `/api/events/:id` → 200 event | 404: the bytes the core encoded at
/// the event's last change, sent as they are.
#[utoipa::path(get, path = "/api/events/{id}", tag = "events", operation_id = "getEvent",
    params(("id" = Id, Path, description = "Event id (any other shape is no such event: 404)")),
    responses(
        (status = 200, description = "The event, its map and its seats' counts", body = EventView),
        (status = 404, description = "No such id", body = ErrorBody)
    ))]
pub async fn show(state: &State, id: &str) -> Reply {
    let body = state.events.get(event_id(id)?).ok_or(ApiError::NotFound)?;
    Ok(reply::json_bytes(StatusCode::OK, body))
}

/// GET `/api/events/:id/seats[?section=&status=&limit=&after=]` → 200 seat
/// tickets in map order.
#[utoipa::path(get, path = "/api/events/{id}/seats", tag = "events", operation_id = "listEventSeats",
    params(("id" = Id, Path, description = "Event id (any other shape is no such event: 404)"), SeatsQuery),
    responses(
        (status = 200, description = "The event's seat tickets in map order: sections as given, rows as given, seats by number", body = [TicketView]),
        (status = 400, description = "Invalid query, or an unknown section (field `section`)", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody)
    ))]
pub async fn seats(state: &State, req: ApiRequest, id: &str) -> Reply {
    let id = event_id(id)?;
    let query = req.query::<SeatsQuery>()?.validate()?;
    let seats = state.events.seats(id, &query)?;
    let body: Vec<_> = seats.iter().map(crate::views::ticket).collect();
    Ok(reply::json(StatusCode::OK, &body))
}

/// DELETE `/api/events/:id` → 204, the event and its seats gone.
#[utoipa::path(delete, path = "/api/events/{id}", tag = "events", operation_id = "deleteEvent",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    params(("id" = Id, Path, description = "Event id (any other shape is no such event: 404)")),
    responses(
        (status = 204, description = "Deleted, with every seat"),
        (status = 400, description = "A seat is reserved or sold", body = ErrorBody),
        (status = 401, description = "Not signed in, or not the organiser", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody),
        BodilessWriteRefusals
    ))]
pub async fn delete(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    state.events.delete(event_id(id)?, caller.user_id).await?;
    Ok(reply::empty(StatusCode::NO_CONTENT))
}
