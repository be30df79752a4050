//! Offline maintenance of the store of record, sled or PostgreSQL (the
//! server must be stopped; on sled its lock makes sure): `export` writes a
//! consistent JSON-lines backup, `import` loads one into an empty store (so
//! an export of one backend imported into the other moves everything), and
//! `check` verifies the invariants the server promises (`check.rs`).

mod check;

use std::io::{BufRead, Write};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::{StorageSettings, StoreBackend};
use crate::domain::line::{Draw, Entry};
use crate::domain::{Event, Order, Payment, SessionId, Ticket, Timestamp, User};
use crate::storage::{
    self, payments_by_order, OrderV2, Snapshot, Storage, StorageError, Write as Change,
};

pub use check::check;

/// The first line of an export.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    exported_at: String,
}

/// One record per line after the header. An order is `O`: this build's
/// [`Order`], or [`OrderV2`] in a file of a version before 3.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "lowercase")]
enum Line<O = Order> {
    User(User),
    Event(Event),
    Ticket(Ticket),
    Order(O),
    Payment(Payment),
    Revoked((SessionId, Timestamp)),
    Entry(Entry),
    Draw(Draw),
}

const FORMAT: &str = "ticketing-export";
/// The export format this build writes: version 2 has the tickets' (and the
/// order snapshots') `event_id` and `seat`; version 3 has events and orders
/// of several `tickets` with their creation time, cancel reason and payment;
/// version 4 has the waiting rooms' entries and draws.
const VERSION: u32 = 4;
/// The oldest export format `import` still reads: a version 1 file lacks
/// `event_id` and `seat`, which then read as none; the one-ticket orders of
/// versions 1 and 2 are upgraded as a data directory's are.
const OLDEST_VERSION: u32 = 1;
/// Records per batch an import commits.
const IMPORT_CHUNK: usize = 10_000;

/// Why maintenance failed.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    /// The data directory could not be used.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Reading or writing the backup file failed.
    #[error("backup file: {0}")]
    Io(#[from] std::io::Error),
    /// The backup file is not one of ours, or is damaged.
    #[error("backup file line {line}: {reason}")]
    Format {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Import only goes into an empty data directory.
    #[error("the store already holds data; import needs an empty one")]
    NotEmpty,
}

/// Counts of what was exported or imported.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Users.
    pub users: usize,
    /// Tickets.
    pub tickets: usize,
    /// Orders.
    pub orders: usize,
    /// Payments.
    pub payments: usize,
    /// Events.
    pub events: usize,
    /// Waiting-room entries.
    pub entries: usize,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users, {} tickets, {} orders, {} payments, {} events, {} queue entries",
            self.users, self.tickets, self.orders, self.payments, self.events, self.entries
        )
    }
}

/// Opens the store of `settings` and reads it, never creating a sled
/// directory: a mistyped path must not export or check an empty database
/// and report success.
async fn open_existing(
    settings: &StorageSettings,
) -> Result<(Storage, Snapshot), MaintenanceError> {
    if settings.backend == StoreBackend::Sled && !settings.path.join("db").is_file() {
        return Err(MaintenanceError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a data directory", settings.path.display()),
        )));
    }
    Ok(storage::open(settings).await?)
}

/// Closes `storage` off the async threads (sled's close flushes).
async fn close(storage: Storage) -> Result<(), MaintenanceError> {
    tokio::task::spawn_blocking(move || storage.close())
        .await
        .map_err(|e| StorageError::Unavailable(format!("closing the store: {e}")))??;
    Ok(())
}

/// Writes every record of the store of `settings` (a stopped server's sled
/// directory, or a PostgreSQL database) to the file at `file`, which is
/// only created (or replaced) once the store is open, so a refused export
/// leaves an older backup in place.
pub async fn export_to(
    settings: &StorageSettings,
    file: &Path,
) -> Result<Counts, MaintenanceError> {
    let (storage, snap) = open_existing(settings).await?;
    close(storage).await?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    write_export(&snap, &mut out)?;
    Ok(counts(&snap))
}

fn write_export(snap: &Snapshot, out: &mut impl Write) -> Result<(), MaintenanceError> {
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: Timestamp::now().to_rfc3339(),
    };
    writeln!(out, "{}", serde_json::to_string(&header).map_err(io)?)?;
    let lines = snap
        .users
        .iter()
        .cloned()
        .map(Line::User)
        .chain(snap.events.iter().cloned().map(Line::Event))
        .chain(snap.tickets.iter().cloned().map(Line::Ticket))
        .chain(snap.orders.iter().cloned().map(Line::Order))
        .chain(snap.payments.iter().cloned().map(Line::Payment))
        .chain(snap.revoked.iter().copied().map(Line::Revoked))
        .chain(snap.entries.iter().cloned().map(Line::Entry))
        .chain(snap.draws.iter().cloned().map(Line::Draw));
    for line in lines {
        writeln!(out, "{}", serde_json::to_string(&line).map_err(io)?)?;
    }
    out.flush()?;
    Ok(())
}

fn io(e: serde_json::Error) -> std::io::Error {
    std::io::Error::other(e)
}

fn counts(snap: &Snapshot) -> Counts {
    Counts {
        users: snap.users.len(),
        tickets: snap.tickets.len(),
        orders: snap.orders.len(),
        payments: snap.payments.len(),
        events: snap.events.len(),
        entries: snap.entries.len(),
    }
}

/// Loads an export into the empty store of `settings` (a sled directory,
/// created when missing, or a PostgreSQL database), checking the records
/// before anything is written.
pub async fn import(
    settings: &StorageSettings,
    input: impl BufRead,
) -> Result<Counts, MaintenanceError> {
    let mut lines = input.lines().enumerate();
    let bad = |line: usize, reason: String| MaintenanceError::Format {
        line: line + 1,
        reason,
    };
    let (n, first) = lines.next().ok_or_else(|| bad(0, "empty file".into()))?;
    let header: Header = serde_json::from_str(&first?).map_err(|e| bad(n, e.to_string()))?;
    if header.format != FORMAT || !(OLDEST_VERSION..=VERSION).contains(&header.version) {
        return Err(bad(
            n,
            format!(
                "not a {FORMAT} file of version {OLDEST_VERSION} to {VERSION} ({} {})",
                header.format, header.version
            ),
        ));
    }
    let mut snap = Snapshot::default();
    if header.version < 3 {
        let older: Vec<OrderV2> = read_records(lines, &mut snap)?;
        // An older order's payment may come later in the file than the order.
        let paid = payments_by_order(&snap.payments);
        snap.orders = older.into_iter().map(|o| o.upgrade(&paid)).collect();
    } else {
        snap.orders = read_records(lines, &mut snap)?;
    }
    let problems = check(&snap);
    if let Some(first) = problems.first() {
        return Err(bad(
            0,
            format!("{} invariant violations, first: {first}", problems.len()),
        ));
    }
    let (storage, existing) = storage::open(settings).await?;
    if counts(&existing) != Counts::default()
        || !existing.revoked.is_empty()
        || !existing.draws.is_empty()
    {
        close(storage).await?;
        return Err(MaintenanceError::NotEmpty);
    }
    let writes: Vec<Change> = snap
        .users
        .iter()
        .cloned()
        .map(Change::User)
        .chain(snap.events.iter().cloned().map(Change::Event))
        .chain(snap.orders.iter().cloned().map(Change::Order))
        .chain(snap.tickets.iter().cloned().map(Change::Ticket))
        .chain(snap.payments.iter().cloned().map(Change::Payment))
        .chain(
            snap.revoked
                .iter()
                .map(|(s, e)| Change::RevokeSession(*s, *e)),
        )
        .chain(snap.entries.iter().cloned().map(Change::Entry))
        .chain(snap.draws.iter().cloned().map(Change::Draw))
        .collect();
    // A chunk at a time, each whole on its own for PostgreSQL's foreign
    // keys: what a record names comes in an earlier chunk or its own
    // (users, events, orders, then tickets, which name their order, ...).
    for chunk in writes.chunks(IMPORT_CHUNK) {
        if let Err(e) = storage.commit(chunk.to_vec()).await {
            close(storage).await?;
            return Err(e.into());
        }
    }
    close(storage).await?;
    Ok(counts(&snap))
}

/// Reads the record lines of an export into `snap`, but for its orders (of
/// type `O`, which depends on the file's version), which it returns.
fn read_records<O: DeserializeOwned>(
    lines: impl Iterator<Item = (usize, std::io::Result<String>)>,
    snap: &mut Snapshot,
) -> Result<Vec<O>, MaintenanceError> {
    let mut orders = Vec::new();
    for (n, line) in lines {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let line =
            serde_json::from_str::<Line<O>>(&line).map_err(|e| MaintenanceError::Format {
                line: n + 1,
                reason: e.to_string(),
            })?;
        match line {
            Line::User(u) => snap.users.push(u),
            Line::Event(e) => snap.events.push(e),
            Line::Ticket(t) => snap.tickets.push(t),
            Line::Order(o) => orders.push(o),
            Line::Payment(p) => snap.payments.push(p),
            Line::Revoked(r) => snap.revoked.push(r),
            Line::Entry(e) => snap.entries.push(e),
            Line::Draw(d) => snap.draws.push(d),
        }
    }
    Ok(orders)
}

/// Opens the store of `settings` and checks its invariants.
pub async fn check_store(
    settings: &StorageSettings,
) -> Result<(Counts, Vec<String>), MaintenanceError> {
    let (storage, snap) = open_existing(settings).await?;
    close(storage).await?;
    Ok((counts(&snap), check(&snap)))
}
