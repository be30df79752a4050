//! The core: actors that own state and change it one message at a time, and
//! the handles the edge calls them through.
//!
//! - [`handles`]: [`Tickets`], [`Orders`], [`Accounts`] and [`Live`], the
//!   typed API of the core. A handle is a cheap clonable struct whose
//!   methods return typed results; which actor runs a command, and where,
//!   stays behind it.
//! - `ticket::TicketActor`, one per ticket, owns the ticket, the order that
//!   holds or bought it, and the hold's timer: the consistency boundary.
//! - `seat_orders::SeatOrders` coordinates orders of several seats (held
//!   all or none in one write), their cancel, expiry and payment, and the
//!   creation and deletion of events.
//! - `line::LineActor`, one per queued event, owns its waiting room: places,
//!   the draw, admissions and passes (`passes::Passes` signs and checks
//!   them); `line::Lines` finds them.
//! - `router::TicketRouter` starts, restores and restarts ticket actors,
//!   spread over one arbiter per core, and routes commands to them.
//! - [`accounts::AccountIndex`] is the actor owning the email index (unique
//!   emails); [`accounts::Sessions`] remembers revoked sessions.
//! - [`read_model::ReadModel`] and [`live::LiveHub`] receive each committed
//!   change, for readers and live subscribers.

pub mod accounts;
pub mod handles;
mod keyed_locks;
pub(crate) mod line;
mod listeners;
pub mod live;
mod passes;
pub mod read_model;
mod router;
mod seat_orders;
mod ticket;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::domain::{DomainError, IdGenerator};
use crate::payments::{PaymentError, PaymentGateway};
use crate::storage::{Storage, StorageError};

pub use accounts::{AccountIndex, Sessions};
pub use handles::{
    Accounts, AsSeller, Events, Live, Orders, PlaceOrder, Queue, SeatChoice, SeatQuery, Tickets,
    Watch,
};
pub(crate) use line::Lines;
pub use live::LiveHub;
pub use read_model::{ReadModel, TicketFilter};
pub(crate) use router::{mark_worker_thread, TicketRouter};
pub(crate) use seat_orders::SeatOrders;

/// What every actor and handle shares: storage, the read side, ids, the
/// gateway, the clock. Its parts are private to the core; the edge reaches
/// them through the handles, and the plumbing that is no command (health,
/// metrics, request ids) through the narrow accessors below.
pub struct Core {
    storage: Storage,
    read_model: ReadModel,
    ids: Arc<IdGenerator>,
    gateway: Box<dyn PaymentGateway>,
    reservation_window: Duration,
    clock: Clock,
}

impl Core {
    /// The core over `storage` and the committed state in `read_model`:
    /// new ids from `ids`, payments through `gateway`, holds of
    /// `reservation_window`, every hold and timestamp on `clock`.
    pub fn new(
        storage: Storage,
        read_model: ReadModel,
        ids: Arc<IdGenerator>,
        gateway: Box<dyn PaymentGateway>,
        reservation_window: Duration,
        clock: Clock,
    ) -> Self {
        Core {
            storage,
            read_model,
            ids,
            gateway,
            reservation_window,
            clock,
        }
    }

    /// Storage, for whether it takes writes (`/healthz`) and its counters
    /// (`/metrics`, the load generator's report).
    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The committed state, for the gauges of `/metrics`.
    pub(crate) fn read_model(&self) -> &ReadModel {
        &self.read_model
    }

    /// A new id from the one generator (request ids are drawn from it too).
    pub(crate) fn next_id(&self) -> u64 {
        self.ids.next()
    }
}

/// Why a command to the core failed: the actors layer's one error enum.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A rule of the domain refused it.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Storage could not take the write.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The payment gateway refused or failed.
    #[error(transparent)]
    Payment(#[from] PaymentError),
    /// No such ticket or order.
    #[error("not found")]
    NotFound,
    /// The actor system is shutting down.
    #[error("shutting down")]
    ShuttingDown,
}
