//! How records are laid out: keys are a type prefix and the big-endian id
//! (so scans come back in creation order); values are a schema-version byte
//! followed by the record in postcard, a compact serde format.

use serde::{de::DeserializeOwned, Serialize};

use super::StorageError;

/// The record layout this build writes and reads. Version 2 gave tickets
/// (and the ticket snapshot in orders) an event and a seat; version 3 gave
/// orders several tickets, their creation time, cancel reason and payment,
/// and added events. A directory of version 1 or 2 is upgraded when it is
/// opened (`upgrade.rs`).
pub const SCHEMA_VERSION: u8 = 3;

/// The key of the format marker: which program and schema wrote the
/// directory.
pub const META_FORMAT: &[u8] = b"meta/format";

/// The value of `meta/format`: which program and schema wrote the directory.
pub fn format_marker() -> Vec<u8> {
    marker_of(SCHEMA_VERSION)
}

/// The `meta/format` value of schema `version`.
pub fn marker_of(version: u8) -> Vec<u8> {
    format!("ticketing/{version}").into_bytes()
}

/// The kinds of record, each under its own key prefix.
#[derive(Debug, Clone, Copy)]
pub enum Prefix {
    /// `t/`: tickets.
    Ticket,
    /// `o/`: orders.
    Order,
    /// `p/`: payments.
    Payment,
    /// `u/`: users.
    User,
    /// `s/`: revoked sessions.
    Session,
    /// `e/`: events (their seats are tickets, with consecutive ids).
    Event,
}

impl Prefix {
    /// The key prefix.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Prefix::Ticket => b"t/",
            Prefix::Order => b"o/",
            Prefix::Payment => b"p/",
            Prefix::User => b"u/",
            Prefix::Session => b"s/",
            Prefix::Event => b"e/",
        }
    }
}

/// `prefix` followed by the id's big-endian bytes.
pub fn key(prefix: Prefix, id: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(10);
    k.extend_from_slice(prefix.bytes());
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The id at the end of a record key.
pub fn id_of(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(2..10)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// The version byte and the postcard body.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![SCHEMA_VERSION];
    // Serialising plain structs into a Vec cannot fail.
    out.extend(postcard::to_allocvec(value).expect("postcard encodes plain structs"));
    out
}

/// Decodes a value written by [`encode`], refusing other schema versions.
pub fn decode<T: DeserializeOwned>(key: &[u8], value: &[u8]) -> Result<T, StorageError> {
    decode_version(key, value, SCHEMA_VERSION)
}

/// Decodes a value written as schema `version` (the upgrade reads older
/// records as their own structs), refusing any other version.
pub fn decode_version<T: DeserializeOwned>(
    key: &[u8],
    value: &[u8],
    version: u8,
) -> Result<T, StorageError> {
    let printable = || String::from_utf8_lossy(key).into_owned();
    match value.split_first() {
        Some((&v, body)) if v == version => {
            postcard::from_bytes(body).map_err(|e| StorageError::Corrupt {
                key: printable(),
                reason: e.to_string(),
            })
        }
        Some((v, _)) => Err(StorageError::Incompatible(format!(
            "record {} has schema version {v}; expected {version}",
            printable()
        ))),
        None => Err(StorageError::Corrupt {
            key: printable(),
            reason: "empty value".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Event, EventDate, EventId, Layout, Price, Row, SeatPosition, Section, Ticket, TicketId,
        Timestamp, Title, UserId,
    };

    #[test]
    fn records_round_trip_and_refuse_other_versions() {
        let mut t = Ticket::new(
            TicketId(7),
            UserId(1),
            Title::parse("Gig").unwrap(),
            Price::from_cents(1250).unwrap(),
            EventDate(None),
        );
        t.event_id = Some(EventId(3));
        t.seat = Some(SeatPosition {
            section: "Stalls".into(),
            row: Some("A".into()),
            number: Some(12),
        });
        let k = key(Prefix::Ticket, 7);
        assert_eq!(id_of(&k), Some(7));
        let bytes = encode(&t);
        assert_eq!(decode::<Ticket>(&k, &bytes).unwrap(), t);
        let mut newer = bytes.clone();
        newer[0] = SCHEMA_VERSION + 1;
        assert!(matches!(
            decode::<Ticket>(&k, &newer),
            Err(StorageError::Incompatible(_))
        ));
        assert!(matches!(
            decode::<Ticket>(&k, &bytes[..3]),
            Err(StorageError::Corrupt { .. })
        ));
    }

    #[test]
    fn an_event_round_trips_under_its_own_prefix() {
        let event = Event {
            id: EventId(40),
            name: Title::parse("Gala").unwrap(),
            venue: Some("Hall".into()),
            starts_at: Timestamp(1_900_000_000_000),
            on_sale_at: None,
            organizer: UserId(1),
            queue: true,
            sections: vec![
                Section {
                    name: "Stalls".into(),
                    price: Price::from_cents(2500).unwrap(),
                    layout: Layout::Rows(vec![Row {
                        label: "A".into(),
                        seats: 12,
                    }]),
                },
                Section {
                    name: "Floor".into(),
                    price: Price::from_cents(1000).unwrap(),
                    layout: Layout::Standing(300),
                },
            ],
            first_seat: TicketId(41),
            created_at: Timestamp(1_800_000_000_000),
        };
        let k = key(Prefix::Event, 40);
        assert!(k.starts_with(b"e/"));
        assert_eq!(id_of(&k), Some(40));
        let bytes = encode(&event);
        assert_eq!(bytes[0], SCHEMA_VERSION);
        assert_eq!(decode::<Event>(&k, &bytes).unwrap(), event);
    }
}
