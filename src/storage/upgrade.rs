//! Upgrading a data directory written by an older schema (version 1 or 2)
//! to this build's, in place, when it is opened.
//!
//! postcard is not self-describing: a record of an older version cannot be
//! read as this build's struct. So the older shapes of the records that
//! changed are kept here, read, and converted:
//!
//! - version 2 gave tickets `event_id` and `seat` (a version 1 ticket gets
//!   `None`), and orders, through their ticket snapshot, the same two;
//! - version 3 gave orders several `tickets` (an older order's one ticket),
//!   `created_at` (the time embedded in the order's id), `cancel_reason`
//!   (`None`: the old records do not say) and `payment` (the payment record
//!   of the order, if any), and added events (`e/`; older directories have
//!   none).
//!
//! Users, payments and revoked sessions kept their shape; they are decoded
//! (so damage is found before anything is written) and re-encoded under the
//! new version byte. Every record and the new `meta/format` marker go into
//! ONE batch of the write-ahead log, so a crash leaves either the whole old
//! or the whole new directory; a record of any other version than the
//! directory's refuses the upgrade before anything is written.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::records::{decode_version, encode, format_marker, Prefix, META_FORMAT};
use super::{Backend, StorageError};
use crate::domain::{
    EventDate, Order, OrderId, OrderStatus, OrderTicket, Payment, PaymentRef, Price, Ticket,
    TicketId, TicketStatus, Timestamp, Title, User, UserId,
};

/// The oldest schema version this build upgrades from; every version from
/// it up to the current one is upgraded.
pub const OLDEST_VERSION: u8 = 1;

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

impl From<OrderV1> for OrderV2 {
    fn from(o: OrderV1) -> Self {
        OrderV2 {
            id: o.id,
            buyer: o.buyer,
            ticket: OrderTicket {
                id: o.ticket.id,
                title: o.ticket.title,
                price: o.ticket.price,
                date: o.ticket.date,
                version: o.ticket.version,
                event_id: None,
                seat: None,
            },
            status: o.status,
            expires_at: o.expires_at,
            version: o.version,
        }
    }
}

/// An order of one ticket, as schema version 2 stored it and as exports of
/// versions 1 and 2 wrote it (their ticket's `event_id` and `seat` read as
/// none when absent).
#[derive(Debug, Deserialize)]
pub struct OrderV2 {
    id: OrderId,
    buyer: UserId,
    ticket: OrderTicket,
    status: OrderStatus,
    expires_at: Timestamp,
    version: u64,
}

impl OrderV2 {
    /// This build's order: its one ticket, created when its id says, no
    /// known cancel reason, and the payment `paid` holds for it (the
    /// payments by order, see [`payments_by_order`]).
    pub fn upgrade(self, paid: &HashMap<OrderId, PaymentRef>) -> Order {
        Order {
            id: self.id,
            buyer: self.buyer,
            tickets: vec![self.ticket],
            status: self.status,
            expires_at: self.expires_at,
            version: self.version,
            // Ids embed their creation time: milliseconds since the epoch,
            // shifted left 20 bits.
            created_at: Timestamp((self.id.0 >> 20) as i64),
            cancel_reason: None,
            payment: paid.get(&self.id).copied(),
        }
    }
}

/// Each paid order's payment, for [`OrderV2::upgrade`].
pub fn payments_by_order<'a>(
    payments: impl IntoIterator<Item = &'a Payment>,
) -> HashMap<OrderId, PaymentRef> {
    payments
        .into_iter()
        .map(|p| {
            let paid = PaymentRef {
                id: p.id,
                paid_at: p.created_at,
            };
            (p.order_id, paid)
        })
        .collect()
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

/// Every record of `backend` (a directory of schema `version`, from
/// [`OLDEST_VERSION`] to the one before this build's) in this build's
/// schema, and the new format marker, as one batch; nothing is written
/// here. Refuses a record that is not of `version` or does not decode.
pub fn from_previous(
    backend: &dyn Backend,
    version: u8,
) -> Result<(Batch, Upgraded), StorageError> {
    let mut batch = Batch::new();
    let payments: Vec<Payment> = read(backend, Prefix::Payment, version)?
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let paid = payments_by_order(&payments);
    let order = |o: OrderV2| o.upgrade(&paid);
    let (tickets, orders) = if version == 1 {
        (
            convert(
                backend,
                Prefix::Ticket,
                version,
                &mut batch,
                |t: TicketV1| Ticket::from(t),
            )?,
            convert(backend, Prefix::Order, version, &mut batch, |o: OrderV1| {
                order(o.into())
            })?,
        )
    } else {
        (
            convert(backend, Prefix::Ticket, version, &mut batch, |t: Ticket| t)?,
            convert(backend, Prefix::Order, version, &mut batch, order)?,
        )
    };
    let counts = Upgraded {
        tickets,
        orders,
        others: convert(backend, Prefix::User, version, &mut batch, |u: User| u)?
            + convert(
                backend,
                Prefix::Payment,
                version,
                &mut batch,
                |p: Payment| p,
            )?
            + convert(
                backend,
                Prefix::Session,
                version,
                &mut batch,
                |s: Timestamp| s,
            )?,
    };
    batch.push((META_FORMAT.to_vec(), Some(format_marker())));
    Ok((batch, counts))
}

/// Every record under `prefix`, decoded as `Old` of schema `version`.
fn read<Old: DeserializeOwned>(
    backend: &dyn Backend,
    prefix: Prefix,
    version: u8,
) -> Result<Vec<(Vec<u8>, Old)>, StorageError> {
    backend
        .scan(prefix.bytes())?
        .into_iter()
        .map(|(k, v)| {
            let old = decode_version::<Old>(&k, &v, version)?;
            Ok((k, old))
        })
        .collect()
}

/// Reads every record under `prefix` as `Old` of schema `version`, turns
/// it into this build's record with `upgrade` and adds it to `batch`;
/// returns how many there were.
fn convert<Old: DeserializeOwned, New: Serialize>(
    backend: &dyn Backend,
    prefix: Prefix,
    version: u8,
    batch: &mut Batch,
    upgrade: impl Fn(Old) -> New,
) -> Result<usize, StorageError> {
    let records = read::<Old>(backend, prefix, version)?;
    let n = records.len();
    batch.extend(
        records
            .into_iter()
            .map(|(k, old)| (k, Some(encode(&upgrade(old))))),
    );
    Ok(n)
}
