//! The body of `POST /api/orders`: one of `{ticketId}`, `{ticketIds}` or
//! `{eventId, quantity, section?}`, each with an optional `queuePass`,
//! read into the core's [`PlaceOrder`]. What is decided here is the body's
//! shape (400) and whether an id can be an id at all (404); which seats are
//! free, and the event's rules, are the core's.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::{Problems, Text};
use crate::actors::{PlaceOrder, SeatChoice};
use crate::domain::event::MAX_SEATS_PER_BUYER;
use crate::domain::TicketId;
use crate::http::error::ApiError;

/// `{ticketId}`, `{ticketIds: [...]}` or `{eventId, quantity, section?}`,
/// plus `queuePass` for a queued event. When several are sent, the first
/// of these that is present wins.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderBody {
    ticket_id: Text,
    ticket_ids: Option<Value>,
    event_id: Option<Value>,
    quantity: Option<Value>,
    section: Option<Value>,
    queue_pass: Option<Value>,
}

/// An id in the body: 404 when it cannot be one (as in a path).
fn id<I: std::str::FromStr<Err = ()>>(raw: &str) -> Result<I, ApiError> {
    raw.trim().parse().map_err(|()| ApiError::NotFound)
}

impl OrderBody {
    /// The order to place: 400 for a body of none of the three shapes or
    /// with an invalid field, then 404 for an id that cannot be one.
    pub fn validate(self) -> Result<PlaceOrder, ApiError> {
        let mut p = Problems::default();
        let queue_pass = match &self.queue_pass {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => p.invalid("queuePass", "QueuePass must be a string"),
        };
        let choice = if let Some(ticket) = self.ticket_id.non_blank() {
            p.finish()?;
            SeatChoice::Ticket(id(ticket)?)
        } else if self.ticket_ids.as_ref().is_some_and(|v| !v.is_null()) {
            let ids = ticket_ids(&mut p, self.ticket_ids.as_ref());
            p.finish()?;
            let ids = ids.expect("checked").into_iter().map(id);
            SeatChoice::Seats(ids.collect::<Result<Vec<TicketId>, _>>()?)
        } else if [&self.event_id, &self.quantity]
            .iter()
            .any(|v| v.as_ref().is_some_and(|v| !v.is_null()))
        {
            let event = match &self.event_id {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
                _ => p.invalid("eventId", "EventId must be provided"),
            };
            let quantity = self
                .quantity
                .as_ref()
                .and_then(Value::as_u64)
                .filter(|q| (1..=MAX_SEATS_PER_BUYER as u64).contains(q))
                .map(|q| q as usize)
                .or_else(|| p.invalid("quantity", "Quantity must be a whole number from 1 to 10"));
            let section = match &self.section {
                None | Some(Value::Null) => Some(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Some(Some(s.trim().to_owned())),
                Some(_) => p.invalid("section", "Section must be a section's name"),
            };
            p.finish()?;
            SeatChoice::Best {
                event: id(event.expect("checked"))?,
                quantity: quantity.expect("checked"),
                section: section.expect("checked"),
            }
        } else {
            return Err(ApiError::field("ticketId", "TicketId must be provided"));
        };
        Ok(PlaceOrder { choice, queue_pass })
    }
}

/// `ticketIds`: 1 to 10 distinct strings, as sent (whether each can be an
/// id is decided after every 400).
fn ticket_ids<'a>(p: &mut Problems, raw: Option<&'a Value>) -> Option<Vec<&'a str>> {
    let Some(Value::Array(items)) = raw else {
        return p.invalid("ticketIds", "TicketIds must be a list of ticket ids");
    };
    let Some(ids) = items.iter().map(Value::as_str).collect::<Option<Vec<_>>>() else {
        return p.invalid("ticketIds", "TicketIds must be a list of ticket ids");
    };
    if !(1..=MAX_SEATS_PER_BUYER).contains(&ids.len()) {
        return p.invalid("ticketIds", "TicketIds must list 1 to 10 seats");
    }
    let mut seen = HashSet::new();
    if !ids.iter().all(|i| seen.insert(i.trim())) {
        return p.invalid("ticketIds", "TicketIds must not repeat a seat");
    }
    Some(ids)
}

/// The three bodies, as the document's `oneOf`; each may carry `queuePass`.
impl PartialSchema for OrderBody {
    fn schema() -> RefOr<Schema> {
        let id = || Ref::from_schema_name("Id");
        let pass =
            || {
                ObjectBuilder::new().schema_type(Type::String).description(Some(
                "The waiting room's admission pass, for an event with a queue (403 without one).",
            ))
            };
        let one = ObjectBuilder::new()
            .description(Some(
                "One ticket (a ticket sold on its own, or one seat). An id of another shape is no such ticket: 404.",
            ))
            .property("ticketId", id())
            .required("ticketId")
            .property("queuePass", pass());
        let seats = ObjectBuilder::new()
            .description(Some(
                "1 to 10 distinct seats of one event, all held or none.",
            ))
            .property(
                "ticketIds",
                ArrayBuilder::new()
                    .items(id())
                    .min_items(Some(1))
                    .max_items(Some(MAX_SEATS_PER_BUYER))
                    .unique_items(true),
            )
            .required("ticketIds")
            .property("queuePass", pass());
        let best = ObjectBuilder::new()
            .description(Some(
                "The best `quantity` available seats of the event (of `section` if given): the first block of adjacent seats in one row, else the first free seats in map order.",
            ))
            .property("eventId", id())
            .required("eventId")
            .property(
                "quantity",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(MAX_SEATS_PER_BUYER as u64)),
            )
            .required("quantity")
            .property(
                "section",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .description(Some("A section's name (an unknown one is a 400 on `section`).")),
            )
            .property("queuePass", pass());
        OneOfBuilder::new()
            .item(one)
            .item(seats)
            .item(best)
            .description(Some(
                "What to hold: `{ticketId}`, `{ticketIds}` or `{eventId, quantity, section?}`. When several are sent, the first present in that order wins.",
            ))
            .into()
    }
}

impl ToSchema for OrderBody {}
