//! What clients send about events: the body of `POST /api/events` (an
//! event's whole map, up to 1 MiB) and the queries of the event and seat
//! lists. The map is read a level at a time (sections, then their rows) from
//! the body's raw text, so a price is parsed as written and a wrong JSON
//! type anywhere is one field's error, named by its path
//! (`sections[0].rows[3].seats`), never serde's message for the body. The
//! rules are the domain's (`domain::event_plan`); this module only knows
//! where each value sits.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{after, limit, status, PriceInput, Problems, Text};
use crate::actors::{SeatQuery, TicketFilter};
use crate::domain::event::MAX_ROWS;
use crate::domain::event_plan::{self, NewEvent};
use crate::domain::{EventId, Layout, Price, Row, Section};
use crate::http::error::ApiError;
use crate::views::Id;

/// `{name, venue?, startsAt, onSaleAt?, queue?, sections}` to put an event
/// on sale. At most 1 MiB, 100,000 seats and 10,000 rows in all.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventBody {
    /// The event's name: 1 to 200 characters after trimming (as a ticket's
    /// title); every seat's title.
    #[schema(value_type = String, min_length = 1, max_length = 200, example = "Concert")]
    name: Text,
    /// Where it takes place: at most 200 characters; absent, null or blank
    /// for none.
    #[schema(value_type = Option<String>, max_length = 200, example = "Town Hall")]
    venue: Option<Value>,
    /// When it starts, RFC 3339 (every seat's date).
    #[schema(value_type = String, format = DateTime, example = "2026-11-24T18:30:00Z")]
    starts_at: Option<Value>,
    /// When its seats go on sale, RFC 3339, strictly before `startsAt`;
    /// absent or null: at once.
    #[schema(value_type = Option<String>, format = DateTime, example = "2026-10-01T09:00:00Z")]
    on_sale_at: Option<Value>,
    /// Whether buyers are admitted through the waiting room (default
    /// false).
    #[schema(value_type = Option<bool>)]
    queue: Option<Value>,
    /// The map: 1 to 100 sections with unique names, in the order buyers
    /// see them.
    #[schema(value_type = Vec<SectionBody>, min_items = 1, max_items = 100)]
    sections: Option<Box<RawValue>>,
}

/// A section of an event's map: `{name, price, rows?, capacity?}`, with
/// exactly one of `rows` (a seated section) or `capacity` (a standing one).
#[derive(Deserialize, ToSchema)]
#[schema(as = SectionInput)]
pub struct SectionBody<'a> {
    /// 1 to 100 characters after trimming, unique in the event.
    #[schema(value_type = String, min_length = 1, max_length = 100, example = "Stalls")]
    name: Text,
    /// Each seat's price, as a ticket's.
    #[schema(schema_with = super::price_schema, required = true)]
    price: Option<PriceInput>,
    /// A seated section's rows: 1 to 1000, labels unique in the section.
    #[schema(value_type = Option<Vec<RowBody>>, min_items = 1, max_items = 1000)]
    #[serde(borrow)]
    rows: Option<&'a RawValue>,
    /// A standing section's unnumbered places: 1 to 100,000.
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 100000)]
    capacity: Option<Value>,
}

/// A row of a seated section: `{label, seats}`, seats numbered 1 to
/// `seats`.
#[derive(Deserialize, ToSchema)]
#[schema(as = RowInput)]
pub struct RowBody {
    /// 1 to 20 characters after trimming, unique in the section.
    #[schema(value_type = String, min_length = 1, max_length = 20, example = "A")]
    label: Text,
    /// How many seats: a whole number from 1 to 1000.
    #[schema(value_type = u32, minimum = 1, maximum = 1000, example = 20)]
    seats: Option<Value>,
}

/// The items of a JSON array given as raw text, each still raw; `None` when
/// it is not an array.
fn items(raw: &RawValue) -> Option<Vec<&RawValue>> {
    serde_json::from_str(raw.get()).ok()
}

/// A JSON object read into `T`; `None` when it is not one (a derived
/// struct would also read an array, by position) or does not read.
fn object<'a, T: Deserialize<'a>>(raw: &'a RawValue) -> Option<T> {
    raw.get()
        .trim_start()
        .starts_with('{')
        .then(|| serde_json::from_str(raw.get()).ok())
        .flatten()
}

/// A section as far as it reads: its rows (a list of 1 to 1000, still raw)
/// or its capacity, whichever it validly has, are read once the map's size
/// is known to be within bounds.
struct SectionDraft<'a> {
    name: Option<String>,
    price: Option<Price>,
    rows: Option<Vec<&'a RawValue>>,
    capacity: Option<u32>,
}

impl EventBody {
    /// The event to create, or a 400 naming each invalid field by its path.
    pub fn validate(self) -> Result<NewEvent, ApiError> {
        let mut p = Problems::default();
        let name = p.check(event_plan::name(self.name.or_empty()));
        let venue = p.check(event_plan::venue(self.venue.as_ref()));
        let starts_at = p.check(event_plan::starts_at(self.starts_at.as_ref()));
        let on_sale_at = p.check(event_plan::on_sale_at(self.on_sale_at.as_ref(), starts_at));
        let queue = p.check(event_plan::queue(self.queue.as_ref()));
        let sections = sections(&mut p, self.sections.as_deref());
        p.finish()?;
        Ok(NewEvent {
            name: name.expect("checked"),
            venue: venue.expect("checked"),
            starts_at: starts_at.expect("checked"),
            on_sale_at: on_sale_at.expect("checked"),
            queue: queue.expect("checked"),
            sections,
        })
    }
}

/// The map, with every problem recorded in `p` (the sections are only
/// meaningful when none was).
fn sections(p: &mut Problems, raw: Option<&RawValue>) -> Vec<Section> {
    let list = raw.and_then(items);
    if p.check(event_plan::check_sections(list.as_ref().map(Vec::len)))
        .is_none()
    {
        return Vec::new();
    }
    let list = list.expect("checked");
    let mut names = HashSet::new();
    let drafts: Vec<Option<SectionDraft>> = list
        .iter()
        .enumerate()
        .map(|(i, raw)| section_draft(p, i, raw, &mut names))
        .collect();
    let total_rows: usize = drafts
        .iter()
        .flatten()
        .filter_map(|d| d.rows.as_ref().map(Vec::len))
        .sum();
    let mut total_seats = 0u64;
    let mut sections = Vec::with_capacity(drafts.len());
    for (i, draft) in drafts.into_iter().enumerate() {
        let Some(draft) = draft else { continue };
        let layout = match (draft.rows, draft.capacity) {
            // Too many rows in all: reported once, the rows left unread.
            (Some(_), _) if total_rows > MAX_ROWS => None,
            (Some(raw_rows), _) => rows(p, i, &raw_rows).map(Layout::Rows),
            (None, Some(capacity)) => Some(Layout::Standing(capacity)),
            (None, None) => None,
        };
        let Some(layout) = layout else { continue };
        let seats: u64 = match &layout {
            Layout::Rows(rows) => rows.iter().map(|r| u64::from(r.seats)).sum(),
            Layout::Standing(capacity) => u64::from(*capacity),
        };
        total_seats += seats;
        if let (Some(name), Some(price)) = (draft.name, draft.price) {
            sections.push(Section {
                name,
                price,
                layout,
            });
        }
    }
    p.check(event_plan::check_size(total_rows, total_seats));
    sections
}

/// Section `i` read as far as it goes, its problems recorded; `None` when
/// it is not an object.
fn section_draft<'a>(
    p: &mut Problems,
    i: usize,
    raw: &'a RawValue,
    names: &mut HashSet<String>,
) -> Option<SectionDraft<'a>> {
    let at = format!("sections[{i}].");
    let Some(body) = object::<SectionBody>(raw) else {
        return p.invalid(format!("sections[{i}]"), "Section must be an object");
    };
    let name = p.check_in(&at, event_plan::section_name(body.name.or_empty()));
    let name = match name {
        Some(n) if !names.insert(n.clone()) => {
            p.invalid(format!("{at}name"), "Section names must be unique")
        }
        other => other,
    };
    let price = match &body.price {
        Some(raw) => p.check_in(&at, Price::from_json_literal(raw.0.get())),
        None => p.invalid(format!("{at}price"), "Price is required"),
    };
    let capacity_given = !matches!(body.capacity, None | Some(Value::Null));
    let (rows, capacity) = match (body.rows, capacity_given) {
        (Some(_), true) => {
            let message = "A section has rows or a capacity, not both";
            (p.invalid(format!("{at}capacity"), message), None)
        }
        (None, false) => {
            let message = "A section needs rows or a capacity";
            (p.invalid(format!("{at}rows"), message), None)
        }
        (Some(raw), false) => {
            let rows = items(raw);
            let counted = p.check_in(&at, event_plan::check_rows(rows.as_ref().map(Vec::len)));
            (rows.filter(|_| counted.is_some()), None)
        }
        (None, true) => (
            None,
            p.check_in(&at, event_plan::capacity(body.capacity.as_ref())),
        ),
    };
    Some(SectionDraft {
        name,
        price,
        rows,
        capacity,
    })
}

/// The rows of section `i`, or `None` with their problems recorded.
fn rows(p: &mut Problems, i: usize, raw_rows: &[&RawValue]) -> Option<Vec<Row>> {
    let mut labels = HashSet::new();
    let mut rows = Vec::with_capacity(raw_rows.len());
    let mut ok = true;
    for (j, raw) in raw_rows.iter().enumerate() {
        let at = format!("sections[{i}].rows[{j}].");
        let Some(body) = object::<RowBody>(raw) else {
            ok = p
                .invalid::<()>(format!("sections[{i}].rows[{j}]"), "Row must be an object")
                .is_some();
            continue;
        };
        let label = match p.check_in(&at, event_plan::row_label(body.label.or_empty())) {
            Some(l) if !labels.insert(l.clone()) => p.invalid(
                format!("{at}label"),
                "Row labels must be unique in a section",
            ),
            other => other,
        };
        let seats = p.check_in(&at, event_plan::row_seats(body.seats.as_ref()));
        match (label, seats) {
            (Some(label), Some(seats)) => rows.push(Row { label, seats }),
            _ => ok = false,
        }
    }
    ok.then_some(rows)
}

/// `?limit=&after=` of `GET /api/events`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 100)]
    limit: Option<String>,
    /// The page starts after this event id (empty: from the first).
    #[param(value_type = Option<Id>)]
    after: Option<String>,
}

/// A validated [`EventQuery`].
pub struct EventPage {
    /// Start after this one.
    pub after: Option<EventId>,
    /// At most this many.
    pub limit: usize,
}

impl EventQuery {
    /// The page asked for, or a 400 naming each invalid parameter.
    pub fn validate(self) -> Result<EventPage, ApiError> {
        let mut p = Problems::default();
        let limit = limit(&mut p, self.limit.as_deref());
        let after = after(&mut p, self.after.as_deref(), "After must be an event id");
        p.finish()?;
        Ok(EventPage {
            after: after.expect("checked"),
            limit: limit.expect("checked"),
        })
    }
}

/// `?section=&status=&limit=&after=` of `GET /api/events/:id/seats`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeatsQuery {
    /// Only this section's seats (an unknown name is a 400 on `section`).
    #[param(value_type = Option<String>, example = "Stalls")]
    section: Option<String>,
    /// `available` for the seats free now; `any` (the default, also when
    /// empty) for all of them.
    #[param(value_type = Option<String>, pattern = "^(available|any)?$", example = "available")]
    status: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, example = 100)]
    limit: Option<String>,
    /// The page starts after this seat's ticket id (empty: from the
    /// first).
    #[param(value_type = Option<Id>)]
    after: Option<String>,
}

impl SeatsQuery {
    /// The seats asked for, or a 400 naming each invalid parameter.
    pub fn validate(self) -> Result<SeatQuery, ApiError> {
        let mut p = Problems::default();
        let filter = status(&mut p, self.status.as_deref(), TicketFilter::Any);
        let limit = limit(&mut p, self.limit.as_deref());
        let after = after(&mut p, self.after.as_deref(), "After must be a ticket id");
        p.finish()?;
        Ok(SeatQuery {
            section: self.section.filter(|s| !s.is_empty()),
            available_only: filter == Some(TicketFilter::Available),
            after: after.expect("checked"),
            limit: limit.expect("checked"),
        })
    }
}
