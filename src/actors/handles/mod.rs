//! The typed API of the core: what the HTTP edge calls, instead of building
//! actor messages itself. Each handle is a cheap clonable struct (a couple
//! of `Arc`s) whose methods take domain values and return
//! `Result<T, CommandError>`; the ticket actors, their messages, the router
//! that starts them and the account index stay behind it. The rules
//! themselves live in the domain (`TicketState`'s methods,
//! `Ticket::check_seller`, `Order::check_buyer`); a handle only decides
//! which actor or which read answers.
//!
//! - [`Tickets`]: put on sale, read, list, and (as the seller, [`AsSeller`])
//!   edit or delete.
//! - [`Orders`]: reserve, read, list, cancel, pay.
//! - [`Accounts`]: admit an account, find one by email, sign a session out.
//! - [`Events`]: put an event on sale, read its map, list its seats, delete it.
//! - [`Live`]: subscribe to a topic's changes.
//! - [`Queue`]: join an event's waiting room, read and watch one's entry.

mod accounts;
mod events;
mod live;
mod orders;
mod queue;
mod tickets;

pub use accounts::Accounts;
pub use events::{Events, SeatQuery};
pub use live::Live;
pub use orders::{Orders, PlaceOrder, SeatChoice};
pub use queue::{Queue, Watch};
pub use tickets::{AsSeller, Tickets};
