//! [`SledStore`]: the embedded store of record. Batches go through the
//! write-ahead log (`wal/`) into sled; the flusher thread (`flusher.rs`)
//! makes concurrent batches durable with one `fdatasync` (group commit);
//! the free-space guard (`space.rs`) refuses writes before the disk fills.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::flusher::Flusher;
use super::records::{self, decode, encode, key, Prefix, META_FORMAT};
use super::sled_backend::SledBackend;
use super::space::SpaceGuard;
use super::upgrade::{self, OLDEST_VERSION};
use super::wal::WalBackend;
use super::{
    Answer, Backend, CommitStats, Committing, Snapshot, StorageError, Store, Write, SCHEMA_VERSION,
};
use crate::domain::SessionId;

/// The embedded store: sled behind a write-ahead log, with group commit.
/// Cheap to clone (every part is shared).
#[derive(Clone)]
pub struct SledStore {
    wal: Arc<WalBackend>,
    flusher: Arc<Flusher>,
    space: Arc<SpaceGuard>,
}

/// How big the write-ahead log grows before it is folded into sled.
pub const DEFAULT_CHECKPOINT_BYTES: u64 = 1024 * 1024;
const META_JWT_SECRET: &[u8] = b"meta/jwt_secret";

/// What the format marker of a directory being opened says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marked {
    /// This build's schema (or a new, empty directory, now marked so).
    Current,
    /// An older schema (of this version): to be upgraded before anything
    /// reads it.
    Older(u8),
}

impl SledStore {
    /// Opens (creating if needed) the data directory at `path`, upgrading
    /// one of an older schema in place and refusing one written by
    /// another program or by a newer schema.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        Self::open_with_checkpoint(path, DEFAULT_CHECKPOINT_BYTES)
    }

    /// Like [`SledStore::open`], folding the write-ahead log into sled each
    /// time it passes `checkpoint_bytes`.
    pub fn open_with_checkpoint(path: &Path, checkpoint_bytes: u64) -> Result<Self, StorageError> {
        let sled: Arc<dyn Backend> = Arc::new(SledBackend::open(path)?);
        // Refuse a foreign or newer directory before writing anything to it.
        Self::check_format(&*sled)?;
        // The log's replay may hold an upgrade that sled has not yet folded.
        let wal = Arc::new(WalBackend::open(sled, path, checkpoint_bytes)?);
        if let Marked::Older(version) = Self::check_format(&*wal)? {
            Self::upgrade(&wal, version)?;
        }
        let flusher = Flusher::start(wal.clone());
        Ok(SledStore {
            wal,
            flusher,
            space: Arc::new(SpaceGuard::new(Path::new("/"), 0)),
        })
    }

    /// Accepts a directory this build wrote (or an empty one, marking it as
    /// ours) or an older schema's (to upgrade); refuses another program's
    /// or a newer schema's.
    fn check_format(backend: &dyn Backend) -> Result<Marked, StorageError> {
        let expected = records::format_marker();
        match backend.get(META_FORMAT)? {
            Some(found) if found == expected => Ok(Marked::Current),
            Some(found) => {
                if let Some(older) =
                    (OLDEST_VERSION..SCHEMA_VERSION).find(|&v| found == records::marker_of(v))
                {
                    return Ok(Marked::Older(older));
                }
                let found = String::from_utf8_lossy(&found).into_owned();
                let reason = match found.strip_prefix("ticketing/") {
                    Some(v) => format!(
                        "written by schema version {v}; this build reads version {SCHEMA_VERSION}"
                    ),
                    None => format!("unknown format marker {found:?}"),
                };
                Err(StorageError::Incompatible(reason))
            }
            None if backend.is_empty()? => {
                backend.apply(vec![(META_FORMAT.to_vec(), Some(expected))])?;
                backend.flush()?;
                Ok(Marked::Current)
            }
            None => Err(StorageError::Incompatible(
                "the directory holds data that is not a ticketing database".into(),
            )),
        }
    }

    /// Rewrites a directory of schema `version` to this build's: every
    /// record and the new marker in one batch of the log, made durable and
    /// folded into sled before anything reads (see `upgrade.rs`).
    fn upgrade(wal: &WalBackend, version: u8) -> Result<(), StorageError> {
        let started = Instant::now();
        let (batch, upgraded) = upgrade::from_previous(wal, version)?;
        wal.apply(batch)?;
        wal.checkpoint()?;
        tracing::info!(
            from = version,
            to = SCHEMA_VERSION,
            tickets = upgraded.tickets,
            orders = upgraded.orders,
            other_records = upgraded.others,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "upgraded the data directory to the new schema"
        );
        Ok(())
    }

    /// Refuses writes while the file system under `path` has less than
    /// `min_free` bytes free or is read-only, so they resume by themselves
    /// once space comes back (see `space.rs`).
    pub fn with_free_space_reserve(mut self, path: &Path, min_free: u64) -> Self {
        self.space = Arc::new(SpaceGuard::new(path, min_free));
        self
    }

    /// Reads every record, checking each decodes (blocking: at start-up,
    /// and by the offline export and check).
    pub fn load_blocking(&self) -> Result<Snapshot, StorageError> {
        let mut max_id = 0u64;
        let mut snap = Snapshot {
            users: self.decode_all(Prefix::User, &mut max_id)?,
            events: self.decode_all(Prefix::Event, &mut max_id)?,
            tickets: self.decode_all(Prefix::Ticket, &mut max_id)?,
            orders: self.decode_all(Prefix::Order, &mut max_id)?,
            payments: self.decode_all(Prefix::Payment, &mut max_id)?,
            ..Snapshot::default()
        };
        for (k, v) in self.wal.scan(Prefix::Session.bytes())? {
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
        self.wal
            .scan(prefix.bytes())?
            .into_iter()
            .map(|(k, v)| {
                *max_id = (*max_id).max(records::id_of(&k).unwrap_or_default());
                decode(&k, &v)
            })
            .collect()
    }

    /// Puts `writes` into the store without waiting for them to be durable
    /// (the offline import: [`Store::close`] makes everything durable).
    pub fn import(&self, writes: &[Write]) -> Result<(), StorageError> {
        self.space.check()?;
        self.wal.apply(encode_writes(writes))
    }

    /// Queues an encoded batch for the next group commit (its place in the
    /// log's order is taken here) and waits for that flush's outcome.
    fn commit_encoded(&self, batch: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Committing {
        if let Err(e) = self.space.check() {
            return Box::pin(std::future::ready(Err(e)));
        }
        let outcome = self.wal.enqueue(batch);
        self.flusher.queued();
        Box::pin(async move {
            outcome
                .await
                .unwrap_or_else(|_| Err(StorageError::Unavailable("storage is closed".into())))
        })
    }
}

impl Store for SledStore {
    fn commit(&self, writes: Vec<Write>) -> Committing {
        self.commit_encoded(encode_writes(&writes))
    }

    fn load(&self) -> Answer<Snapshot> {
        let store = self.clone();
        Box::pin(off_thread(move || store.load_blocking()))
    }

    fn jwt_secret(&self) -> Answer<Vec<u8>> {
        let store = self.clone();
        Box::pin(async move {
            let wal = store.wal.clone();
            if let Some(secret) = off_thread(move || wal.get(META_JWT_SECRET)).await? {
                return Ok(secret);
            }
            let mut secret = vec![0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| StorageError::Unavailable(format!("no randomness: {e}")))?;
            store
                .commit_encoded(vec![(META_JWT_SECRET.to_vec(), Some(secret.clone()))])
                .await?;
            Ok(secret)
        })
    }

    fn is_writable(&self) -> bool {
        self.flusher.is_healthy() && self.space.check().is_ok()
    }

    fn stats(&self) -> CommitStats {
        self.flusher.stats()
    }

    fn close(&self) -> Result<(), StorageError> {
        self.flusher.stop();
        self.wal.checkpoint()
    }
}

/// Runs `read` (sled's reads may touch the disk) on the blocking pool, not
/// on the async thread that awaits it.
async fn off_thread<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, StorageError> + Send + 'static,
) -> Result<T, StorageError> {
    tokio::task::spawn_blocking(read)
        .await
        .map_err(|e| StorageError::Unavailable(format!("a storage read was cancelled: {e}")))?
}

/// The key-value changes of `writes`, in order.
fn encode_writes(writes: &[Write]) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut out = Vec::with_capacity(writes.len());
    for w in writes {
        match w {
            Write::DeleteEvent {
                id,
                first_seat,
                seats,
            } => {
                out.push((key(Prefix::Event, id.0), None));
                out.extend(
                    (first_seat.0..first_seat.0 + u64::from(*seats))
                        .map(|t| (key(Prefix::Ticket, t), None)),
                );
            }
            other => out.push(encode_write(other)),
        }
    }
    out
}

fn encode_write(w: &Write) -> (Vec<u8>, Option<Vec<u8>>) {
    match w {
        Write::Event(e) => (key(Prefix::Event, e.id.0), Some(encode(e))),
        Write::DeleteEvent { id, .. } => (key(Prefix::Event, id.0), None),
        Write::Ticket(t) => (key(Prefix::Ticket, t.id.0), Some(encode(t))),
        Write::DeleteTicket(id) => (key(Prefix::Ticket, id.0), None),
        Write::Order(o) => (key(Prefix::Order, o.id.0), Some(encode(o))),
        Write::Payment(p) => (key(Prefix::Payment, p.id.0), Some(encode(p))),
        Write::User(u) => (key(Prefix::User, u.id.0), Some(encode(u))),
        Write::RevokeSession(sid, exp) => (key(Prefix::Session, sid.0), Some(encode(exp))),
        Write::ForgetSession(sid) => (key(Prefix::Session, sid.0), None),
    }
}
