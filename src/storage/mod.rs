//! Durability: the domain's records in a key-value backend, written in atomic
//! batches and acknowledged only after a flush that covers them.
//!
//! Concurrent writers share flushes (group commit): a writer applies its batch,
//! takes a sequence number, and waits until the flusher thread reports a flush
//! that started after that number was taken. One `fdatasync` then covers every
//! batch applied before it, so durability costs little throughput.
//!
//! Nothing outside this module knows the backend is sled.

mod flusher;
mod records;
mod sled_backend;
mod space;
mod wal;

use std::path::Path;
use std::sync::Arc;

use crate::domain::{Order, Payment, SessionId, Ticket, TicketId, Timestamp, User};

pub use flusher::FlushStats;
use flusher::Flusher;
pub use records::SCHEMA_VERSION;
use records::{decode, encode, key, Prefix};
use sled_backend::SledBackend;
use space::SpaceGuard;
use wal::WalBackend;

/// Why storage refused.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Writes cannot be taken now (disk full, read-only, I/O error); reads go on.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
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

/// One change to stored state; a batch of them is applied atomically.
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
}

/// Everything stored, read once at start-up.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// All users.
    pub users: Vec<User>,
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

/// Key-value pairs as a backend returns them.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// A raw key-value store that can apply atomic batches and flush them to
/// disk. The seam where another database could replace sled.
pub trait Backend: Send + Sync + 'static {
    /// Applies all puts (`Some`) and removes (`None`) atomically, in memory.
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

/// The server's storage: cheap to clone, shared by actors and handlers.
#[derive(Clone)]
pub struct Storage {
    backend: Arc<dyn Backend>,
    flusher: Arc<Flusher>,
    space: Arc<SpaceGuard>,
}

const META_FORMAT: &[u8] = b"meta/format";
/// How big the write-ahead log grows before it is folded into sled.
pub const DEFAULT_CHECKPOINT_BYTES: u64 = 1024 * 1024;
const META_JWT_SECRET: &[u8] = b"meta/jwt_secret";

impl Storage {
    /// Opens (creating if needed) the data directory at `path`, refusing one
    /// written by another program or by a newer schema.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        Self::open_with_checkpoint(path, DEFAULT_CHECKPOINT_BYTES)
    }

    /// Like [`Storage::open`], folding the write-ahead log into sled each
    /// time it passes `checkpoint_bytes`.
    pub fn open_with_checkpoint(path: &Path, checkpoint_bytes: u64) -> Result<Self, StorageError> {
        let sled: Arc<dyn Backend> = Arc::new(SledBackend::open(path)?);
        // Refuse a foreign or newer directory before writing anything to it.
        Self::check_format(&*sled)?;
        let wal = WalBackend::open(sled, path, checkpoint_bytes)?;
        Self::with_backend(Arc::new(wal))
    }

    /// Storage over any backend (used by `open`, and by benches).
    pub fn with_backend(backend: Arc<dyn Backend>) -> Result<Self, StorageError> {
        Self::check_format(&*backend)?;
        let flusher = Flusher::start(backend.clone());
        let space = Arc::new(SpaceGuard::new(Path::new("/"), 0));
        Ok(Storage {
            backend,
            flusher,
            space,
        })
    }

    /// Accepts a directory this build wrote (or an empty one, marking it as
    /// ours); refuses another program's or a newer schema's.
    fn check_format(backend: &dyn Backend) -> Result<(), StorageError> {
        let expected = records::format_marker();
        match backend.get(META_FORMAT)? {
            Some(found) if found == expected => {}
            Some(found) => {
                let found = String::from_utf8_lossy(&found).into_owned();
                let reason = match found.strip_prefix("ticketing/") {
                    Some(v) => format!(
                        "written by schema version {v}; this build reads version {SCHEMA_VERSION}"
                    ),
                    None => format!("unknown format marker {found:?}"),
                };
                return Err(StorageError::Incompatible(reason));
            }
            None if backend.is_empty()? => {
                backend.apply(vec![(META_FORMAT.to_vec(), Some(expected))])?;
                backend.flush()?;
            }
            None => {
                return Err(StorageError::Incompatible(
                    "the directory holds data that is not a ticketing database".into(),
                ))
            }
        }
        Ok(())
    }

    /// Refuses writes while the file system under `path` has less than
    /// `min_free` bytes free or is read-only, so they resume by themselves
    /// once space comes back (see `space.rs`).
    pub fn with_free_space_reserve(mut self, path: &Path, min_free: u64) -> Self {
        self.space = Arc::new(SpaceGuard::new(path, min_free));
        self
    }

    /// Reads every record, checking each decodes.
    pub fn load(&self) -> Result<Snapshot, StorageError> {
        let mut max_id = 0u64;
        let mut snap = Snapshot {
            users: self.decode_all(Prefix::User, &mut max_id)?,
            tickets: self.decode_all(Prefix::Ticket, &mut max_id)?,
            orders: self.decode_all(Prefix::Order, &mut max_id)?,
            payments: self.decode_all(Prefix::Payment, &mut max_id)?,
            ..Snapshot::default()
        };
        for (k, v) in self.backend.scan(Prefix::Session.bytes())? {
            let id = records::id_of(&k).unwrap_or_default();
            max_id = max_id.max(id);
            snap.revoked.push((SessionId(id), decode(&k, &v)?));
        }
        snap.max_id = max_id;
        Ok(snap)
    }

    /// Every record under `prefix`, decoded, raising `max_id` to the
    /// largest id seen.
    fn decode_all<T: serde::de::DeserializeOwned>(
        &self,
        prefix: Prefix,
        max_id: &mut u64,
    ) -> Result<Vec<T>, StorageError> {
        self.backend
            .scan(prefix.bytes())?
            .into_iter()
            .map(|(k, v)| {
                *max_id = (*max_id).max(records::id_of(&k).unwrap_or_default());
                decode(&k, &v)
            })
            .collect()
    }

    /// One ticket and the live order holding or owning it, as stored.
    pub fn load_seat(&self, id: TicketId) -> Result<Option<(Ticket, Option<Order>)>, StorageError> {
        let k = key(Prefix::Ticket, id.0);
        let Some(v) = self.backend.get(&k)? else {
            return Ok(None);
        };
        let ticket: Ticket = decode(&k, &v)?;
        let order = match ticket.order_id {
            None => None,
            Some(oid) => {
                let ok = key(Prefix::Order, oid.0);
                let v = self
                    .backend
                    .get(&ok)?
                    .ok_or_else(|| StorageError::Corrupt {
                        key: format!("o/{oid}"),
                        reason: format!("missing, but ticket {id} refers to it"),
                    })?;
                Some(decode(&ok, &v)?)
            }
        };
        Ok(Some((ticket, order)))
    }

    /// Applies `writes` atomically and waits until they are durable.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), StorageError> {
        let seq = self.apply(writes)?;
        self.durable(seq).await
    }

    /// Applies `writes` atomically (visible at once, not yet durable) and
    /// returns the sequence number to pass to [`Storage::durable`].
    pub fn apply(&self, writes: Vec<Write>) -> Result<u64, StorageError> {
        self.apply_encoded(writes.iter().map(encode_write).collect())
    }

    /// [`Storage::apply`] for pairs already encoded.
    fn apply_encoded(&self, batch: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Result<u64, StorageError> {
        self.space.check()?;
        if let Err(e) = self.backend.apply(batch) {
            self.flusher.mark_failed(&e);
            return Err(e);
        }
        Ok(self.flusher.applied())
    }

    /// Waits for a flush covering the batch that got `seq`.
    pub async fn durable(&self, seq: u64) -> Result<(), StorageError> {
        self.flusher.wait(seq).await
    }

    /// Whether writes would be taken now: the file system has room and the
    /// last write and flush succeeded (for `/healthz`).
    pub fn is_writable(&self) -> bool {
        self.flusher.is_healthy() && self.space.check().is_ok()
    }

    /// Flush counters: how many flushes, how many batches they covered.
    pub fn flush_stats(&self) -> FlushStats {
        self.flusher.stats()
    }

    /// The persisted JWT secret, generating and storing one on first use.
    pub async fn jwt_secret(&self) -> Result<Vec<u8>, StorageError> {
        if let Some(secret) = self.backend.get(META_JWT_SECRET)? {
            return Ok(secret);
        }
        let mut secret = vec![0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| StorageError::Unavailable(format!("no randomness: {e}")))?;
        let seq = self.apply_encoded(vec![(META_JWT_SECRET.to_vec(), Some(secret.clone()))])?;
        self.durable(seq).await?;
        Ok(secret)
    }

    /// Whether this is the only handle left on the store (dropping it then
    /// closes the database and releases the directory's lock).
    pub fn is_last_handle(&self) -> bool {
        Arc::strong_count(&self.backend) == 1
    }

    /// Flushes everything and stops the flusher thread (at shutdown).
    pub fn close(&self) -> Result<(), StorageError> {
        self.flusher.stop();
        self.backend.checkpoint()
    }
}

fn encode_write(w: &Write) -> (Vec<u8>, Option<Vec<u8>>) {
    match w {
        Write::Ticket(t) => (key(Prefix::Ticket, t.id.0), Some(encode(t))),
        Write::DeleteTicket(id) => (key(Prefix::Ticket, id.0), None),
        Write::Order(o) => (key(Prefix::Order, o.id.0), Some(encode(o))),
        Write::Payment(p) => (key(Prefix::Payment, p.id.0), Some(encode(p))),
        Write::User(u) => (key(Prefix::User, u.id.0), Some(encode(u))),
        Write::RevokeSession(sid, exp) => (key(Prefix::Session, sid.0), Some(encode(exp))),
        Write::ForgetSession(sid) => (key(Prefix::Session, sid.0), None),
    }
}
