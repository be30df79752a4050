//! Upgrading a data directory written by the previous schema (version 1)
//! to this build's, in place, when it is opened.
//!
//! postcard is not self-describing: a record of version 1 cannot be read as
//! the struct of version 2. So the version 1 shapes of the records that
//! changed are kept here, read, and converted (every new field `None`):
//!
//! - tickets gained `event_id` and `seat`;
//! - orders, through their ticket snapshot, gained the same two.
//!
//! Users, payments and revoked sessions kept their shape; they are decoded
//! (so damage is found before anything is written) and re-encoded under the
//! new version byte. Every record and the new `meta/format` marker go into
//! ONE batch of the write-ahead log, so a crash leaves either the whole old
//! or the whole new directory; a record of any other version refuses the
//! upgrade before anything is written.

use serde::Deserialize;

use super::records::{decode_version, encode, format_marker, Prefix, META_FORMAT};
use super::{Backend, StorageError};
use crate::domain::{
    EventDate, Order, OrderId, OrderStatus, OrderTicket, Payment, Price, Ticket, TicketId,
    TicketStatus, Timestamp, Title, User, UserId,
};

/// The schema version this build upgrades from.
pub const PREVIOUS_VERSION: u8 = 1;

/// The writes of one upgrade: key and new value.
type Batch = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// A ticket as schema version 1 stored it.
#[derive(Deserialize)]
struct TicketV1 {
    id: TicketId,
    title: Title,
    price: Price,
    date: EventDate,
    seller: UserId,
    version: u64,
    status: TicketStatus,
    order_id: Option<OrderId>,
}

impl From<TicketV1> for Ticket {
    fn from(t: TicketV1) -> Self {
        Ticket {
            order_id: t.order_id,
            version: t.version,
            status: t.status,
            ..Ticket::new(t.id, t.seller, t.title, t.price, t.date)
        }
    }
}

/// An order's ticket snapshot as schema version 1 stored it.
#[derive(Deserialize)]
struct OrderTicketV1 {
    id: TicketId,
    title: Title,
    price: Price,
    date: EventDate,
    version: u64,
}

/// An order as schema version 1 stored it.
#[derive(Deserialize)]
struct OrderV1 {
    id: OrderId,
    buyer: UserId,
    ticket: OrderTicketV1,
    status: OrderStatus,
    expires_at: Timestamp,
    version: u64,
}

impl From<OrderV1> for Order {
    fn from(o: OrderV1) -> Self {
        Order {
            id: o.id,
            buyer: o.buyer,
            tickets: vec![OrderTicket {
                id: o.ticket.id,
                title: o.ticket.title,
                price: o.ticket.price,
                date: o.ticket.date,
                version: o.ticket.version,
                event_id: None,
                seat: None,
            }],
            status: o.status,
            expires_at: o.expires_at,
            version: o.version,
            // Ids embed their creation time in milliseconds.
            created_at: Timestamp((o.id.0 >> 20) as i64),
            cancel_reason: None,
            payment: None,
        }
    }
}

/// How many records an upgrade rewrote, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Upgraded {
    /// Tickets.
    pub tickets: usize,
    /// Orders.
    pub orders: usize,
    /// Users, payments and revoked sessions (same shape, new version byte).
    pub others: usize,
}

/// Every record of `backend` (a directory of [`PREVIOUS_VERSION`]) in this
/// build's schema, and the new format marker, as one batch; nothing is
/// written here. Refuses a record that is not of the previous version or
/// does not decode.
pub fn from_previous(backend: &dyn Backend) -> Result<(Batch, Upgraded), StorageError> {
    let mut batch = Batch::new();
    let counts = Upgraded {
        tickets: convert::<TicketV1, Ticket>(backend, Prefix::Ticket, &mut batch)?,
        orders: convert::<OrderV1, Order>(backend, Prefix::Order, &mut batch)?,
        others: convert::<User, User>(backend, Prefix::User, &mut batch)?
            + convert::<Payment, Payment>(backend, Prefix::Payment, &mut batch)?
            + convert::<Timestamp, Timestamp>(backend, Prefix::Session, &mut batch)?,
    };
    batch.push((META_FORMAT.to_vec(), Some(format_marker())));
    Ok((batch, counts))
}

/// Reads every record under `prefix` as `Old`, converts it to `New` and
/// adds it to `batch`; returns how many there were.
fn convert<Old, New>(
    backend: &dyn Backend,
    prefix: Prefix,
    batch: &mut Batch,
) -> Result<usize, StorageError>
where
    Old: serde::de::DeserializeOwned + Into<New>,
    New: serde::Serialize,
{
    let records = backend.scan(prefix.bytes())?;
    let n = records.len();
    batch.reserve(n);
    for (k, v) in records {
        let new: New = decode_version::<Old>(&k, &v, PREVIOUS_VERSION)?.into();
        let value = encode(&new);
        batch.push((k, Some(value)));
    }
    Ok(n)
}
