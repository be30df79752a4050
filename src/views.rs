//! The JSON shapes the server sends (`../shared/API.md`): how a ticket, an
//! order, a user, a session, a payment and an error look to clients, in HTTP
//! bodies and on the live WebSocket alike. Typed, so the OpenAPI document is
//! generated from the very structs that are serialised. They live at the
//! crate's root, not under `http`, because the live feed's actors and the
//! benches serialise them too; what clients send is in `http::inputs`.

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::{
    Event, Layout, Order, OrderStatus, OrderTicket, Payment, SeatPosition, Ticket, TicketStatus,
};

/// The wire form of every id: 16 lowercase hex digits, time-ordered and
/// opaque. The views hold ids as `String`s; this type only gives the
/// document one definition of their format to refer to.
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[0-9a-f]{16}$"))
            .description(Some("16 lowercase hex digits"))
            .examples(["0188f4c2a1b00000"])
            .into()
    }
}

impl ToSchema for Id {}

/// A seat's state.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatusView {
    /// Free to reserve.
    Available,
    /// Held by an order.
    Reserved,
    /// Paid for.
    Sold,
}

/// An order's state.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum OrderStatusView {
    /// Holding its ticket until `expiresAt`.
    #[serde(rename = "created")]
    Created,
    /// Cancelled by the buyer or by expiry.
    #[serde(rename = "cancelled")]
    Cancelled,
    /// A payment is being taken.
    #[serde(rename = "awaiting:payment")]
    AwaitingPayment,
    /// Paid; the ticket is sold.
    #[serde(rename = "complete")]
    Complete,
}

/// Where a seat is in its event's map: `{section, row, number}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = SeatPosition)]
pub struct SeatView {
    /// The section's name.
    pub section: String,
    /// The row's label; null in a standing section.
    #[schema(required = true)]
    pub row: Option<String>,
    /// The seat's number in its row (from 1); null in a standing section.
    #[schema(required = true, minimum = 1)]
    pub number: Option<u32>,
}

/// A ticket: `{id, title, price, date, userId, version, status, orderId,
/// eventId, seat}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Ticket)]
pub struct TicketView {
    /// Opaque id.
    #[schema(value_type = Id)]
    pub id: String,
    /// The event's name.
    pub title: String,
    /// Major currency units, at most two decimals.
    #[schema(value_type = f64, example = 12.5)]
    pub price: Value,
    /// The event's start (RFC 3339, UTC), or null.
    #[schema(format = DateTime, required = true)]
    pub date: Option<String>,
    /// The seller's id.
    #[schema(value_type = Id)]
    pub user_id: String,
    /// 0 at creation, one more per change.
    pub version: u64,
    /// The seat's state.
    pub status: TicketStatusView,
    /// The order holding or owning it, or null.
    #[schema(value_type = Option<Id>, required = true)]
    pub order_id: Option<String>,
    /// The event it is a seat of; null for a ticket sold on its own.
    #[schema(value_type = Option<Id>, required = true)]
    pub event_id: Option<String>,
    /// Where the seat is in its event's map; null off an event.
    #[schema(required = true)]
    pub seat: Option<SeatView>,
}

/// The ticket as an order saw it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = OrderTicket)]
pub struct OrderTicketView {
    /// The ticket's id.
    #[schema(value_type = Id)]
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its price.
    #[schema(value_type = f64, example = 12.5)]
    pub price: Value,
    /// Its event date, or null.
    #[schema(format = DateTime, required = true)]
    pub date: Option<String>,
    /// The ticket's version after the order's last change.
    pub version: u64,
    /// The ticket's event, or null.
    #[serde(rename = "eventId")]
    #[schema(value_type = Option<Id>, required = true)]
    pub event_id: Option<String>,
    /// The ticket's place in its event's map, or null.
    #[schema(required = true)]
    pub seat: Option<SeatView>,
}

/// An order: `{id, status, userId, expiresAt, ticket, version}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Order)]
pub struct OrderView {
    /// Opaque id.
    #[schema(value_type = Id)]
    pub id: String,
    /// Where it stands.
    pub status: OrderStatusView,
    /// The buyer's id.
    #[schema(value_type = Id)]
    pub user_id: String,
    /// When an unpaid hold lapses (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// Its first ticket (`tickets[0]`), for clients of one-ticket orders.
    pub ticket: OrderTicketView,
    /// Every ticket it holds or bought, in map order.
    #[schema(min_items = 1, max_items = 10)]
    pub tickets: Vec<OrderTicketView>,
    /// The sum of its tickets' prices, in the format of `price`.
    #[schema(value_type = f64, example = 40)]
    pub total: Value,
    /// 0 at creation, one more per change.
    pub version: u64,
    /// When it was placed (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// Once cancelled: `cancelled` by its buyer or `expired` (its hold
    /// lapsed unpaid); else null.
    #[schema(required = true, value_type = Option<String>, pattern = "^(cancelled|expired)$")]
    pub cancel_reason: Option<&'static str>,
    /// Once paid: the payment's id (the receipt's reference); else null.
    #[schema(required = true, value_type = Option<Id>)]
    pub payment_id: Option<String>,
    /// Once paid: when (RFC 3339, UTC); else null.
    #[schema(required = true, format = DateTime)]
    pub paid_at: Option<String>,
}

/// `{id, orderId}` of a payment.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Payment)]
pub struct PaymentView {
    /// Opaque id.
    #[schema(value_type = Id)]
    pub id: String,
    /// The order it paid.
    #[schema(value_type = Id)]
    pub order_id: String,
}

/// `{id, email, token}` after signup or signin.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// The account's id.
    #[schema(value_type = Id)]
    pub id: String,
    /// Its email.
    pub email: String,
    /// The session token (also set as the `session` cookie).
    pub token: String,
}

/// `{id, email}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The account's id.
    #[schema(value_type = Id)]
    pub id: String,
    /// Its email.
    pub email: String,
}

/// `{"currentUser": {id, email} | null}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentUser {
    /// The signed-in user, or null.
    #[serde(rename = "currentUser")]
    #[schema(required = true)]
    pub current_user: Option<UserView>,
}

/// One error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorItem {
    /// What went wrong.
    pub message: String,
    /// The input field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `{"errors": [{message, field?}]}`: every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// One entry per problem (per invalid field for validation errors).
    #[schema(min_items = 1)]
    pub errors: Vec<ErrorItem>,
}

/// A ticket as the contract shows it.
pub fn ticket(t: &Ticket) -> TicketView {
    TicketView {
        id: t.id.to_string(),
        title: t.title.as_str().to_owned(),
        price: t.price.to_json(),
        date: t.date.0.map(|d| d.to_rfc3339()),
        user_id: t.seller.to_string(),
        version: t.version,
        status: match t.status {
            TicketStatus::Available => TicketStatusView::Available,
            TicketStatus::Reserved => TicketStatusView::Reserved,
            TicketStatus::Sold => TicketStatusView::Sold,
        },
        order_id: t.order_id.map(|o| o.to_string()),
        event_id: t.event_id.map(|e| e.to_string()),
        seat: t.seat.as_ref().map(seat),
    }
}

/// A seat's place as the contract shows it.
fn seat(p: &SeatPosition) -> SeatView {
    SeatView {
        section: p.section.clone(),
        row: p.row.clone(),
        number: p.number,
    }
}

/// An order as the contract shows it.
pub fn order(o: &Order) -> OrderView {
    OrderView {
        id: o.id.to_string(),
        status: match o.status {
            OrderStatus::Created => OrderStatusView::Created,
            OrderStatus::Cancelled => OrderStatusView::Cancelled,
            OrderStatus::AwaitingPayment => OrderStatusView::AwaitingPayment,
            OrderStatus::Complete => OrderStatusView::Complete,
        },
        user_id: o.buyer.to_string(),
        expires_at: o.expires_at.to_rfc3339(),
        ticket: order_ticket(o.ticket()),
        tickets: o.tickets.iter().map(order_ticket).collect(),
        total: o.total().to_json(),
        version: o.version,
        created_at: o.created_at.to_rfc3339(),
        cancel_reason: o.cancel_reason.map(|r| r.as_str()),
        payment_id: o.payment.map(|p| p.id.to_string()),
        paid_at: o.payment.map(|p| p.paid_at.to_rfc3339()),
    }
}

/// An order's ticket as the contract shows it.
fn order_ticket(t: &OrderTicket) -> OrderTicketView {
    OrderTicketView {
        id: t.id.to_string(),
        title: t.title.as_str().to_owned(),
        price: t.price.to_json(),
        date: t.date.0.map(|d| d.to_rfc3339()),
        version: t.version,
        event_id: t.event_id.map(|e| e.to_string()),
        seat: t.seat.as_ref().map(seat),
    }
}

/// A payment as the contract shows it.
pub fn payment(p: &Payment) -> PaymentView {
    PaymentView {
        id: p.id.to_string(),
        order_id: p.order_id.to_string(),
    }
}

/// A row of a seated section: `{label, seats}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Row)]
pub struct RowView {
    /// The row's label.
    pub label: String,
    /// Its seats, numbered 1 to `seats`.
    #[schema(minimum = 1, maximum = 1000)]
    pub seats: u32,
}

/// A section of an event's map: `{name, price, rows, capacity, available}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = Section)]
pub struct SectionView {
    /// Its name.
    pub name: String,
    /// Each seat's price, major currency units.
    #[schema(value_type = f64, example = 45)]
    pub price: Value,
    /// A seated section's rows; null in a standing section.
    #[schema(required = true)]
    pub rows: Option<Vec<RowView>>,
    /// A standing section's places; null in a seated section.
    #[schema(required = true, minimum = 1, maximum = 100000)]
    pub capacity: Option<u32>,
    /// Its seats free now.
    pub available: u32,
}

/// An event's seats by status: `{total, available, reserved, sold}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = SeatCounts)]
pub struct SeatCountsView {
    /// Every seat.
    pub total: u32,
    /// Free now.
    pub available: u32,
    /// Held by an order.
    pub reserved: u32,
    /// Paid for.
    pub sold: u32,
}

/// An event: `{id, name, venue, startsAt, onSaleAt, organizerId, queue,
/// sections, seats}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Event)]
pub struct EventView {
    /// Opaque id.
    #[schema(value_type = Id)]
    pub id: String,
    /// Its name (every seat's title).
    pub name: String,
    /// Where it takes place, or null.
    #[schema(required = true)]
    pub venue: Option<String>,
    /// When it starts (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// When its seats go on sale; null: on sale since its creation.
    #[schema(format = DateTime, required = true)]
    pub on_sale_at: Option<String>,
    /// The organiser's id.
    #[schema(value_type = Id)]
    pub organizer_id: String,
    /// Whether buyers are admitted through the waiting room.
    pub queue: bool,
    /// Its map, in the order given.
    pub sections: Vec<SectionView>,
    /// Its seats by status.
    pub seats: SeatCountsView,
}

/// An event as the contract shows it, with its seats' counts now
/// (`section_available[i]`: section `i`'s free seats).
pub fn event(e: &Event, seats: SeatCountsView, section_available: &[u32]) -> EventView {
    EventView {
        id: e.id.to_string(),
        name: e.name.as_str().to_owned(),
        venue: e.venue.clone(),
        starts_at: e.starts_at.to_rfc3339(),
        on_sale_at: e.on_sale_at.map(|t| t.to_rfc3339()),
        organizer_id: e.organizer.to_string(),
        queue: e.queue,
        sections: e
            .sections
            .iter()
            .enumerate()
            .map(|(i, s)| SectionView {
                name: s.name.clone(),
                price: s.price.to_json(),
                rows: match &s.layout {
                    Layout::Rows(rows) => Some(
                        rows.iter()
                            .map(|r| RowView {
                                label: r.label.clone(),
                                seats: r.seats,
                            })
                            .collect(),
                    ),
                    Layout::Standing(_) => None,
                },
                capacity: match s.layout {
                    Layout::Standing(c) => Some(c),
                    Layout::Rows(_) => None,
                },
                available: section_available.get(i).copied().unwrap_or(0),
            })
            .collect(),
        seats,
    }
}

/// An entry of an event's waiting room: `{eventId, status, position, ahead,
/// etaSecs, pass, passExpiresAt}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = QueueEntry)]
pub struct QueueEntryView {
    /// The event.
    #[schema(value_type = Id)]
    pub event_id: String,
    /// `waiting`, `admitted`, `done`, `expired` or `soldout`.
    #[schema(pattern = "^(waiting|admitted|done|expired|soldout)$")]
    pub status: &'static str,
    /// Its place in line (1 is the first), fixed once given; null until the
    /// draw at `onSaleAt` for those who joined before it.
    #[schema(required = true, minimum = 1)]
    pub position: Option<u64>,
    /// Entries before it still waiting; null until placed.
    #[schema(required = true)]
    pub ahead: Option<u64>,
    /// Seconds until admission, estimated from the last minute's
    /// admissions; null while there is nothing to estimate from.
    #[schema(required = true)]
    pub eta_secs: Option<u64>,
    /// The admission pass while admitted (send it as `queuePass`), else null.
    #[schema(required = true)]
    pub pass: Option<String>,
    /// When the pass runs out unused (RFC 3339, UTC), else null.
    #[schema(required = true, format = DateTime)]
    pub pass_expires_at: Option<String>,
}
