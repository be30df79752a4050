//! The core: actors that own state and change it one message at a time.
//!
//! - [`ticket::TicketActor`], one per ticket, owns the ticket, the order that
//!   holds or bought it, and the hold's timer: the consistency boundary.
//! - [`router::TicketRouter`] starts, restores and restarts ticket
//!   actors, spread over one arbiter per core, and routes to them.
//! - [`orders::OrderSupervisor`] routes an order's commands to its ticket's
//!   actor and serves a buyer's orders.
//! - [`accounts::AccountIndex`] owns accounts (unique emails); [`accounts::Sessions`]
//!   remembers revoked sessions.
//! - [`read_model::ReadModel`] and [`live::LiveHub`] receive each committed
//!   change, for readers and live subscribers.

pub mod accounts;
pub mod live;
pub mod orders;
pub mod read_model;
pub mod router;
pub mod ticket;

use std::time::Duration;

use crate::clock::Clock;
use crate::domain::{DomainError, IdGenerator};
use crate::payments::{PaymentError, PaymentGateway};
use crate::storage::{Storage, StorageError};

pub use accounts::{AccountIndex, Sessions};
pub use live::LiveHub;
pub use orders::OrderSupervisor;
pub use read_model::{ReadModel, TicketFilter};
pub use router::{mark_worker_thread, TicketRouter};

/// What every actor shares: storage, the read side, ids, the gateway, the
/// clock.
pub struct Core {
    /// Durable state.
    pub storage: Storage,
    /// Committed state for readers, and the live change fan-out.
    pub read_model: ReadModel,
    /// Id source for new records.
    pub ids: std::sync::Arc<IdGenerator>,
    /// Where payments are taken.
    pub gateway: Box<dyn PaymentGateway>,
    /// How long a reservation holds its ticket.
    pub reservation_window: Duration,
    /// The time every hold, expiry and timestamp is decided by.
    pub clock: Clock,
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
