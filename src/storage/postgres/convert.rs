//! How domain values map to column values and back: ids as `bigint` (the
//! same 64 bits), instants as `timestamptz` (milliseconds, exactly), the
//! statuses in their contract spelling, and the validated strings read
//! back as they were stored.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use crate::domain::line::EntryStatus;
use crate::domain::{CancelReason, OrderStatus, Price, TicketStatus, Timestamp};
use crate::storage::StorageError;

/// An id as PostgreSQL's `bigint` (ids stay below 2^63, so this is their
/// value; any other keeps its bits).
pub fn id(raw: u64) -> i64 {
    raw as i64
}

/// An id read back from a `bigint`.
pub fn from_id(col: i64) -> u64 {
    col as u64
}

/// An instant as `timestamptz`.
pub fn time(t: Timestamp) -> SystemTime {
    if t.0 >= 0 {
        UNIX_EPOCH + Duration::from_millis(t.0 as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(t.0.unsigned_abs())
    }
}

/// An instant read back from `timestamptz` (whole milliseconds, as stored).
pub fn from_time(col: SystemTime) -> Timestamp {
    match col.duration_since(UNIX_EPOCH) {
        Ok(after) => Timestamp(after.as_millis() as i64),
        Err(before) => Timestamp(-(before.duration().as_millis() as i64)),
    }
}

/// A price (or total) as integer cents.
pub fn cents(p: Price) -> i64 {
    p.cents() as i64
}

/// Cents read back (the column's CHECK keeps them at or above zero).
pub fn from_cents(col: i64) -> Price {
    Price::from_total_cents(col as u64)
}

/// A validated string newtype (`Title`, `Email`) read back exactly as it
/// was stored, without re-running the rules it passed when it was made.
pub fn stored<T: DeserializeOwned>(what: &str, col: String) -> Result<T, StorageError> {
    serde_json::from_value(serde_json::Value::String(col)).map_err(|e| corrupt(what, e))
}

/// A record that does not read back as its domain type.
pub fn corrupt(what: &str, reason: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        key: what.to_owned(),
        reason: reason.to_string(),
    }
}

/// Reads one of `choices`' spellings back into its value.
fn spelled<T: Copy>(
    what: &str,
    col: &str,
    choices: &[T],
    spell: fn(T) -> &'static str,
) -> Result<T, StorageError> {
    choices
        .iter()
        .copied()
        .find(|c| spell(*c) == col)
        .ok_or_else(|| corrupt(what, format!("unknown status {col:?}")))
}

/// A ticket's status from its column.
pub fn ticket_status(col: &str) -> Result<TicketStatus, StorageError> {
    use TicketStatus::*;
    spelled("tickets.status", col, &[Available, Reserved, Sold], |s| {
        s.as_str()
    })
}

/// An order's status from its column.
pub fn order_status(col: &str) -> Result<OrderStatus, StorageError> {
    use OrderStatus::*;
    spelled(
        "orders.status",
        col,
        &[Created, Cancelled, AwaitingPayment, Complete],
        |s| s.as_str(),
    )
}

/// Why an order was cancelled, from its column.
pub fn cancel_reason(col: &str) -> Result<CancelReason, StorageError> {
    use CancelReason::*;
    spelled("orders.cancel_reason", col, &[Buyer, Expired], |s| {
        s.as_str()
    })
}

/// A waiting-room entry's status from its column.
pub fn entry_status(col: &str) -> Result<EntryStatus, StorageError> {
    use EntryStatus::*;
    spelled(
        "queue_entries.status",
        col,
        &[Waiting, Admitted, Done, Expired, Soldout],
        |s| s.as_str(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_ids_round_trip_exactly() {
        for ms in [0, 1, -1, 1_767_225_600_123, -62_135_596_800_000] {
            assert_eq!(from_time(time(Timestamp(ms))), Timestamp(ms));
        }
        for raw in [0, 1, u64::MAX >> 1, u64::MAX] {
            assert_eq!(from_id(id(raw)), raw);
        }
        assert_eq!(
            order_status("awaiting:payment").unwrap(),
            OrderStatus::AwaitingPayment
        );
        assert!(ticket_status("lost").is_err());
    }
}
