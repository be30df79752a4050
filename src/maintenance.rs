//! Offline maintenance of a data directory (the server must be stopped; the
//! storage lock makes sure): `export` writes a consistent JSON-lines backup,
//! `import` loads one into an empty directory, and `check` verifies the
//! invariants the server promises (no ticket with two live orders, every
//! sale paid, references intact).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::domain::{
    Order, OrderStatus, Payment, SessionId, Ticket, TicketStatus, Timestamp, User,
};
use crate::storage::{SledStore, Snapshot, StorageError, Store as _, Write as Change};

/// The first line of an export.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    exported_at: String,
}

/// One record per line after the header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "lowercase")]
enum Line {
    User(User),
    Ticket(Ticket),
    Order(Order),
    Payment(Payment),
    Revoked((SessionId, Timestamp)),
}

const FORMAT: &str = "ticketing-export";
/// The export format this build writes: version 2 has the tickets' (and the
/// order snapshots') `event_id` and `seat`.
const VERSION: u32 = 2;
/// The oldest export format `import` still reads: a version 1 file lacks
/// those two fields, which then read as none.
const OLDEST_VERSION: u32 = 1;

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
    #[error("the data directory already holds data; import needs an empty one")]
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
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users, {} tickets, {} orders, {} payments",
            self.users, self.tickets, self.orders, self.payments
        )
    }
}

/// Opens an existing data directory (never creating one: a mistyped path
/// must not export or check an empty database and report success).
fn open_existing(data: &Path) -> Result<SledStore, MaintenanceError> {
    if !data.join("db").is_file() {
        return Err(MaintenanceError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a data directory", data.display()),
        )));
    }
    Ok(SledStore::open(data)?)
}

/// Writes every record of the data directory at `data` to the file at
/// `file`, which is only created (or replaced) once the directory is open,
/// so a refused export leaves an older backup in place.
pub fn export_to(data: &Path, file: &Path) -> Result<Counts, MaintenanceError> {
    let storage = open_existing(data)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    export_open(storage, &mut out)
}

fn export_open(storage: SledStore, out: &mut impl Write) -> Result<Counts, MaintenanceError> {
    let snap = storage.load_blocking()?;
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
        .chain(snap.tickets.iter().cloned().map(Line::Ticket))
        .chain(snap.orders.iter().cloned().map(Line::Order))
        .chain(snap.payments.iter().cloned().map(Line::Payment))
        .chain(snap.revoked.iter().copied().map(Line::Revoked));
    for line in lines {
        writeln!(out, "{}", serde_json::to_string(&line).map_err(io)?)?;
    }
    out.flush()?;
    storage.close()?;
    Ok(counts(&snap))
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
    }
}

/// Loads an export into the empty data directory at `data`, checking the
/// result before it is flushed.
pub fn import(data: &Path, input: impl BufRead) -> Result<Counts, MaintenanceError> {
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
    for (n, line) in lines {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Line>(&line).map_err(|e| bad(n, e.to_string()))? {
            Line::User(u) => snap.users.push(u),
            Line::Ticket(t) => snap.tickets.push(t),
            Line::Order(o) => snap.orders.push(o),
            Line::Payment(p) => snap.payments.push(p),
            Line::Revoked(r) => snap.revoked.push(r),
        }
    }
    let problems = check(&snap);
    if let Some(first) = problems.first() {
        return Err(bad(
            0,
            format!("{} invariant violations, first: {first}", problems.len()),
        ));
    }
    std::fs::create_dir_all(data)?;
    let storage = SledStore::open(data)?;
    let existing = storage.load_blocking()?;
    if counts(&existing) != Counts::default() || !existing.revoked.is_empty() {
        return Err(MaintenanceError::NotEmpty);
    }
    let writes: Vec<Change> = snap
        .users
        .iter()
        .cloned()
        .map(Change::User)
        .chain(snap.tickets.iter().cloned().map(Change::Ticket))
        .chain(snap.orders.iter().cloned().map(Change::Order))
        .chain(snap.payments.iter().cloned().map(Change::Payment))
        .chain(
            snap.revoked
                .iter()
                .map(|(s, e)| Change::RevokeSession(*s, *e)),
        )
        .collect();
    for chunk in writes.chunks(10_000) {
        storage.import(chunk)?;
    }
    storage.close()?;
    Ok(counts(&snap))
}

/// Opens the data directory at `data` and checks its invariants.
pub fn check_directory(data: &Path) -> Result<(Counts, Vec<String>), MaintenanceError> {
    let storage = open_existing(data)?;
    let snap = storage.load_blocking()?;
    storage.close()?;
    Ok((counts(&snap), check(&snap)))
}

/// Every broken invariant in `snap`, one sentence each.
pub fn check(snap: &Snapshot) -> Vec<String> {
    let mut problems = Vec::new();
    let tickets: HashMap<_, _> = snap.tickets.iter().map(|t| (t.id, t)).collect();
    let orders: HashMap<_, _> = snap.orders.iter().map(|o| (o.id, o)).collect();
    let users: HashSet<_> = snap.users.iter().map(|u| u.id).collect();
    let mut emails = HashSet::new();
    for u in &snap.users {
        if !emails.insert(u.email.as_str()) {
            problems.push(format!("email {} belongs to two users", u.email.as_str()));
        }
    }
    let mut live_by_ticket: HashMap<_, Vec<_>> = HashMap::new();
    for o in &snap.orders {
        if !users.contains(&o.buyer) {
            problems.push(format!("order {} has an unknown buyer {}", o.id, o.buyer));
        }
        if o.status.is_live() {
            live_by_ticket.entry(o.ticket().id).or_default().push(o.id);
        }
    }
    for (ticket, live) in &live_by_ticket {
        if live.len() > 1 {
            problems.push(format!("ticket {ticket} has {} live orders", live.len()));
        }
        match tickets.get(ticket) {
            None => problems.push(format!(
                "live order {} holds a missing ticket {ticket}",
                live[0]
            )),
            Some(t) if t.order_id != Some(live[0]) && live.len() == 1 => problems.push(format!(
                "ticket {ticket} does not point at its live order {}",
                live[0]
            )),
            _ => {}
        }
    }
    for t in &snap.tickets {
        if !users.contains(&t.seller) {
            problems.push(format!(
                "ticket {} has an unknown seller {}",
                t.id, t.seller
            ));
        }
        let order = t.order_id.and_then(|id| orders.get(&id));
        let consistent = match (t.status, order.map(|o| o.status)) {
            (TicketStatus::Available, None) => t.order_id.is_none(),
            (TicketStatus::Reserved, Some(OrderStatus::Created | OrderStatus::AwaitingPayment)) => {
                true
            }
            (TicketStatus::Sold, Some(OrderStatus::Complete)) => true,
            _ => false,
        };
        if !consistent {
            problems.push(format!(
                "ticket {} is {} but its order is {:?}",
                t.id,
                t.status.as_str(),
                order.map(|o| o.status.as_str())
            ));
        }
        if let Some(o) = order {
            if o.ticket().id != t.id {
                problems.push(format!(
                    "ticket {} points at order {} of ticket {}",
                    t.id,
                    o.id,
                    o.ticket().id
                ));
            }
            if o.ticket().version > t.version {
                problems.push(format!(
                    "order {} saw ticket {} at a version above its own",
                    o.id, t.id
                ));
            }
        }
    }
    let paid: HashSet<_> = snap.payments.iter().map(|p| p.order_id).collect();
    for p in &snap.payments {
        match orders.get(&p.order_id) {
            Some(o) if o.status == OrderStatus::Complete => {}
            Some(o) => problems.push(format!(
                "payment {} is for order {} which is {}",
                p.id,
                o.id,
                o.status.as_str()
            )),
            None => problems.push(format!(
                "payment {} is for a missing order {}",
                p.id, p.order_id
            )),
        }
    }
    for o in snap
        .orders
        .iter()
        .filter(|o| o.status == OrderStatus::Complete)
    {
        if !paid.contains(&o.id) {
            problems.push(format!("complete order {} has no payment", o.id));
        }
    }
    problems
}
