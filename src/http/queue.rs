//! `/api/events/:id/queue`: join an event's waiting room and read one's
//! entry in it. Watching the entry live is `queue_live`.

use warp::http::StatusCode;

use super::error::ApiError;
use super::openapi::BodilessWriteRefusals;
use super::request::ApiRequest;
use super::{reply, Reply, State};
use crate::domain::EventId;
use crate::views::{ErrorBody, Id, QueueEntryView};

/// The event id in the path (404 when it cannot be one).
fn event_id(s: &str) -> Result<EventId, ApiError> {
    s.parse().map_err(|()| ApiError::NotFound)
}

/// POST `/api/events/:id/queue` → 200 the caller's entry, new or the one
/// it had.
#[utoipa::path(post, path = "/api/events/{id}/queue", tag = "queue", operation_id = "joinQueue",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    params(("id" = Id, Path, description = "Event id (any other shape is no such event: 404)")),
    responses(
        (status = 200, description = "The caller's entry; joining again returns the same entry, same place. Those who join before onSaleAt get their place at onSaleAt (position and ahead null until then)", body = QueueEntryView),
        (status = 400, description = "`This event has no queue`", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such event", body = ErrorBody),
        BodilessWriteRefusals
    ))]
pub async fn join(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    let entry = state.queue.join(event_id(id)?, caller.user_id).await?;
    Ok(reply::json(StatusCode::OK, &entry))
}

/// GET `/api/events/:id/queue` → 200 the caller's entry.
#[utoipa::path(get, path = "/api/events/{id}/queue", tag = "queue", operation_id = "getQueueEntry",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    params(("id" = Id, Path, description = "Event id (any other shape is no such event: 404)")),
    responses(
        (status = 200, description = "The caller's entry", body = QueueEntryView),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such event, or the caller is not in its line", body = ErrorBody)
    ))]
pub async fn show(state: &State, req: ApiRequest, id: &str) -> Reply {
    let caller = state.tokens.require(&req)?;
    let entry = state.queue.entry(event_id(id)?, caller.user_id)?;
    Ok(reply::json(StatusCode::OK, &entry))
}
