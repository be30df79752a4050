//! Durability: the store of record behind one trait, [`Store`], of the
//! domain's own. A caller hands it a batch of [`Write`]s and learns, once,
//! whether the whole batch is durable; nothing else of how a store works
//! (sequence numbers, flushes, logs, sled) is visible above this module.
//!
//! The embedded implementation is [`SledStore`]: a write-ahead log in front
//! of sled, with group commit (concurrent batches share one `fdatasync`).
//! The trait is shaped for a store that answers over the network too: a
//! commit is asynchronous and batch-at-a-time, and its error says whether
//! anything may have been written.

mod flusher;
pub mod postgres;
mod records;
mod sled_backend;
mod sled_store;
mod space;
mod upgrade;
mod wal;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::{StorageSettings, StoreBackend};
use crate::domain::line::{Draw, Entry};
use crate::domain::{
    Event, EventId, Order, Payment, SessionId, Ticket, TicketId, Timestamp, User, UserId,
};

pub use postgres::PgStore;
pub use records::SCHEMA_VERSION;
pub use sled_store::SledStore;
pub use upgrade::{payments_by_order, OrderV2};

/// Why storage refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// Writes cannot be taken now (disk full, read-only, I/O error), and
    /// nothing of the refused batch was written; reads go on.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The batch failed in a way that leaves it unknown whether it reached
    /// durable storage (a failed sync whose region could not be cleared, a
    /// connection lost while committing). It was not made visible; after a
    /// restart it may or may not be there.
    #[error("storage failed, the write may or may not be stored: {0}")]
    Uncertain(String),
    /// The database server could not be reached, or refused the
    /// connection (a wrong address or credentials, or it is down), when
    /// the store was opened.
    #[error("database unreachable: {0}")]
    Unreachable(String),
    /// The data directory holds something this program cannot read.
    #[error("incompatible data directory: {0}")]
    Incompatible(String),
    /// A record failed to decode: the data is damaged.
    #[error("corrupt record {key}: {reason}")]
    Corrupt {
        /// The record's key, printable.
        key: String,
        /// What went wrong.
        reason: String,
    },
}

impl StorageError {
    /// Whether the failed batch may still have been stored (so a caller
    /// must not assume it is absent).
    pub fn may_have_written(&self) -> bool {
        matches!(self, StorageError::Uncertain(_))
    }
}

/// One change to stored state; a batch of them is committed atomically.
#[derive(Debug, Clone)]
pub enum Write {
    /// Insert or replace a ticket.
    Ticket(Ticket),
    /// Remove a ticket.
    DeleteTicket(TicketId),
    /// Insert or replace an order.
    Order(Order),
    /// Record a payment.
    Payment(Payment),
    /// Insert or replace a user.
    User(User),
    /// Remember that a session was revoked, until its token would expire.
    RevokeSession(SessionId, Timestamp),
    /// Forget a revocation whose token has expired anyway.
    ForgetSession(SessionId),
    /// Insert an event (its seats are `Ticket` writes of the same batch).
    Event(Event),
    /// Insert or replace a waiting-room entry.
    Entry(Entry),
    /// Record the draw of an event's waiting room.
    Draw(Draw),
    /// Forget the waiting room of a deleted event: its draw and the
    /// entries of `users`.
    ForgetLine {
        /// The event.
        event: EventId,
        /// Everyone in its line.
        users: Vec<UserId>,
    },
    /// Remove an event and every seat of it: the tickets `first_seat` to
    /// `first_seat + seats - 1`.
    DeleteEvent {
        /// The event.
        id: EventId,
        /// Its first seat's id.
        first_seat: TicketId,
        /// How many seats it has.
        seats: u32,
    },
}

/// Everything stored, read once at start-up (and by export and check).
#[derive(Debug, Default)]
pub struct Snapshot {
    /// All users.
    pub users: Vec<User>,
    /// All events, in id order.
    pub events: Vec<Event>,
    /// Every waiting-room entry, by event.
    pub entries: Vec<Entry>,
    /// Every waiting room's draw.
    pub draws: Vec<Draw>,
    /// All tickets, in id order.
    pub tickets: Vec<Ticket>,
    /// All orders, in id order.
    pub orders: Vec<Order>,
    /// All payments.
    pub payments: Vec<Payment>,
    /// Revoked sessions with the expiry of their token.
    pub revoked: Vec<(SessionId, Timestamp)>,
    /// The largest id of any record, so new ids stay above it.
    pub max_id: u64,
}

/// How much commits shared their durable writes (for metrics and benches).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Batches committed (or refused).
    pub batches: u64,
    /// Durable writes (syncs, transactions) that covered them.
    pub groups: u64,
}

/// A batch on its way to durable storage.
pub type Committing = Pin<Box<dyn Future<Output = Result<(), StorageError>> + Send + 'static>>;

/// A future a store answers with.
pub type Answer<T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'static>>;

/// The store of record.
///
/// The one rule: a batch is all or nothing, and durable before its commit
/// resolves `Ok`. A caller makes a change visible (adopts it in an actor,
/// puts it in the read model, publishes it live) only after that, so
/// nothing is seen before it is durable and a refused batch leaves no trace.
pub trait Store: Send + Sync + 'static {
    /// Commits `writes` as one atomic batch. The batch takes its place in
    /// the store's order when this is called, before the future is polled
    /// (so a caller's successive batches keep their order); the future
    /// resolves once the batch is durable, or with why it is not.
    fn commit(&self, writes: Vec<Write>) -> Committing;

    /// Everything start-up needs (and export and check read).
    fn load(&self) -> Answer<Snapshot>;

    /// The persisted token-signing secret, generated and stored on first use.
    fn jwt_secret(&self) -> Answer<Vec<u8>>;

    /// Whether writes would be taken now (for `/healthz`).
    fn is_writable(&self) -> bool;

    /// How commits were grouped so far.
    fn stats(&self) -> CommitStats;

    /// Makes everything durable in its final place and stops background
    /// work (at shutdown; blocks, so call it off the async threads).
    fn close(&self) -> Result<(), StorageError>;
}

/// The store the server runs on, shared by actors and handlers.
pub type Storage = Arc<dyn Store>;

/// Opens the store `settings` choose and reads everything start-up needs:
/// the sled directory (created when missing) or the PostgreSQL database
/// (migrated to this build's schema). The one place that picks a store, for
/// the server, `seed` and the offline maintenance commands alike.
pub async fn open(settings: &StorageSettings) -> Result<(Storage, Snapshot), StorageError> {
    match settings.backend {
        StoreBackend::Sled => {
            let path = settings.path.clone();
            let checkpoint = settings.wal_checkpoint_kib.saturating_mul(1024);
            let reserve = settings.min_free_mib.saturating_mul(1024 * 1024);
            tokio::task::spawn_blocking(move || {
                std::fs::create_dir_all(&path).map_err(|e| {
                    StorageError::Unavailable(format!("cannot create {}: {e}", path.display()))
                })?;
                let store = SledStore::open_with_checkpoint(&path, checkpoint)?
                    .with_free_space_reserve(&path, reserve);
                let snapshot = store.load_blocking()?;
                Ok((Arc::new(store) as Storage, snapshot))
            })
            .await
            .map_err(|e| StorageError::Unavailable(format!("opening the store: {e}")))?
        }
        StoreBackend::Postgres => {
            let store = PgStore::open(&settings.postgres_url).await?;
            let snapshot = store.load().await?;
            Ok((Arc::new(store) as Storage, snapshot))
        }
    }
}

/// Key-value pairs as a backend returns them.
pub(crate) type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A raw key-value store that can apply atomic batches and flush them to
/// disk. The seam where another database could replace sled.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Applies all puts (`Some`) and removes (`None`) atomically: at once
    /// in sled (in memory until flushed); the write-ahead log queues them
    /// and shows them only once a flush made them durable.
    fn apply(&self, batch: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<(), StorageError>;
    /// Makes everything applied so far durable.
    fn flush(&self) -> Result<(), StorageError>;
    /// Every pair whose key starts with `prefix`, in key order.
    fn scan(&self, prefix: &[u8]) -> Result<Pairs, StorageError>;
    /// One value.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// Whether the store holds no keys at all.
    fn is_empty(&self) -> Result<bool, StorageError>;
    /// Makes everything durable in its final place (at shutdown), so the
    /// next start has nothing to replay.
    fn checkpoint(&self) -> Result<(), StorageError> {
        self.flush()
    }
}
