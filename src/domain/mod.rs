//! The domain: values that validate on construction (so an invalid one cannot
//! exist past the HTTP edge) and the ticket state machine, free of actors,
//! storage and HTTP so it can be unit-tested on its own.

pub mod error;
pub mod event;
pub mod event_plan;
pub mod ids;
pub mod invisible;
pub mod line;
pub mod order;
pub mod position;
pub mod seat_order;
pub mod shuffle;
pub mod ticket;
pub mod time;
pub mod user;
pub mod values;

pub use error::DomainError;
pub use event::{Event, Layout, Row, SeatMap, SeatState, Section};
pub use event_plan::NewEvent;
pub use ids::{EventId, IdGenerator, OrderId, PaymentId, SessionId, TicketId, UserId};
pub use order::{CancelReason, Order, OrderStatus, OrderTicket, Payment, PaymentRef};
pub use position::SeatPosition;
pub use ticket::{Changes, Ticket, TicketState, TicketStatus};
pub use time::Timestamp;
pub use user::User;
pub use values::{Email, EventDate, Password, Price, Title, MAX_PASSWORD_BYTES};
