//! What an organiser asks for when putting an event on sale, once its
//! input has been checked: a name, times and a map, everything the core
//! needs to create the event and its seats in one write.
//!
//! The rules of a plan live here, one function per value, each refusing
//! with the field it names (`name`, `seats`, ...): the HTTP edge reads the
//! body, calls these, and puts a refused value's path in front of the field
//! (`sections[0].rows[3].seats`). The rules that span the map (how many
//! sections, rows and seats in all) are [`check_sections`] and
//! [`check_size`].

use serde_json::Value;

use super::event::{MAX_ROWS, MAX_SEATS};
use super::invisible::{is_invisible, modifies_previous};
use super::{DomainError, Section, Timestamp, Title};

/// The most sections one event may have.
pub const MAX_SECTIONS: usize = 100;
/// The most rows one seated section may have.
pub const MAX_ROWS_PER_SECTION: usize = 1000;
/// The most seats one row may have.
pub const MAX_SEATS_PER_ROW: u32 = 1000;
/// The most characters of a section's name.
pub const MAX_SECTION_NAME: usize = 100;
/// The most characters of a row's label.
pub const MAX_ROW_LABEL: usize = 20;
/// The most characters of a venue.
pub const MAX_VENUE: usize = 200;

/// A new event, valid: at most `MAX_SEATS` seats and `MAX_ROWS` rows, names
/// unique, `on_sale_at` before `starts_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Its name.
    pub name: Title,
    /// Where it takes place, if said.
    pub venue: Option<String>,
    /// When it starts.
    pub starts_at: Timestamp,
    /// When it goes on sale; `None`: at once.
    pub on_sale_at: Option<Timestamp>,
    /// Whether buyers are admitted through the waiting room.
    pub queue: bool,
    /// Its map.
    pub sections: Vec<Section>,
}

/// A refusal of `field`.
const fn bad(field: &'static str, message: &'static str) -> DomainError {
    DomainError::Invalid { field, message }
}

/// `raw` without the whitespace and invisible characters at its ends (as a
/// ticket's title is trimmed), when it has 1 to `max` characters and no
/// control character.
fn trimmed_text(raw: &str, max: usize) -> Option<&str> {
    let t = raw
        .trim_start_matches(is_invisible)
        .trim_end_matches(|c| is_invisible(c) && !modifies_previous(c));
    let n = t.chars().count();
    (n > 0 && n <= max && !t.chars().any(char::is_control)).then_some(t)
}

/// The event's name: a ticket's title rules (1 to 200 characters after
/// trimming), refused on `name`.
pub fn name(raw: &str) -> Result<Title, DomainError> {
    Title::parse(raw).map_err(|_| bad("name", "Name must be 1 to 200 characters"))
}

/// Where it takes place: absent, null or blank for none, else text of at
/// most 200 characters.
pub fn venue(raw: Option<&Value>) -> Result<Option<String>, DomainError> {
    const BAD: DomainError = bad("venue", "Venue must be text of at most 200 characters");
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => trimmed_text(s, MAX_VENUE)
            .map(|t| Some(t.to_owned()))
            .ok_or(BAD),
        Some(_) => Err(BAD),
    }
}

/// A required RFC 3339 instant of `field`.
fn instant(
    raw: Option<&Value>,
    field: &'static str,
    missing: &'static str,
    malformed: &'static str,
) -> Result<Option<Timestamp>, DomainError> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Err(bad(field, missing)),
        Some(Value::String(s)) => Timestamp::parse_rfc3339(s.trim())
            .map(Some)
            .ok_or(bad(field, malformed)),
        Some(_) => Err(bad(field, malformed)),
    }
}

/// When it starts: required, RFC 3339.
pub fn starts_at(raw: Option<&Value>) -> Result<Timestamp, DomainError> {
    const MISSING: &str = "StartsAt is required";
    instant(
        raw,
        "startsAt",
        MISSING,
        "StartsAt must be an RFC 3339 date-time",
    )?
    .ok_or(bad("startsAt", MISSING))
}

/// When it goes on sale: absent or null for at once, else RFC 3339 and
/// strictly before `starts_at` (when that is known).
pub fn on_sale_at(
    raw: Option<&Value>,
    starts_at: Option<Timestamp>,
) -> Result<Option<Timestamp>, DomainError> {
    const MALFORMED: &str = "OnSaleAt must be an RFC 3339 date-time";
    let at = instant(raw, "onSaleAt", MALFORMED, MALFORMED)?;
    match (at, starts_at) {
        (Some(at), Some(start)) if at >= start => {
            Err(bad("onSaleAt", "OnSaleAt must be before startsAt"))
        }
        _ => Ok(at),
    }
}

/// Whether buyers queue: absent or null for no, else `true` or `false`.
pub fn queue(raw: Option<&Value>) -> Result<bool, DomainError> {
    match raw {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(bad("queue", "Queue must be true or false")),
    }
}

/// A section's name: 1 to 100 characters after trimming.
pub fn section_name(raw: &str) -> Result<String, DomainError> {
    trimmed_text(raw, MAX_SECTION_NAME)
        .map(str::to_owned)
        .ok_or(bad("name", "Section name must be 1 to 100 characters"))
}

/// A row's label: 1 to 20 characters after trimming.
pub fn row_label(raw: &str) -> Result<String, DomainError> {
    trimmed_text(raw, MAX_ROW_LABEL)
        .map(str::to_owned)
        .ok_or(bad("label", "Row label must be 1 to 20 characters"))
}

/// A JSON whole number from 1 to `max` (`3.0` and `"3"` are not).
fn count(raw: Option<&Value>, max: u32) -> Option<u32> {
    raw.and_then(Value::as_u64)
        .filter(|n| (1..=u64::from(max)).contains(n))
        .map(|n| n as u32)
}

/// A row's seats: a whole number from 1 to 1000.
pub fn row_seats(raw: Option<&Value>) -> Result<u32, DomainError> {
    count(raw, MAX_SEATS_PER_ROW).ok_or(bad("seats", "Seats must be a whole number from 1 to 1000"))
}

/// A standing section's places: a whole number from 1 to 100,000.
pub fn capacity(raw: Option<&Value>) -> Result<u32, DomainError> {
    count(raw, MAX_SEATS).ok_or(bad(
        "capacity",
        "Capacity must be a whole number from 1 to 100,000",
    ))
}

/// How many sections: 1 to 100 (`None`: they are missing, or not a list).
pub fn check_sections(count: Option<usize>) -> Result<(), DomainError> {
    match count {
        Some(n) if (1..=MAX_SECTIONS).contains(&n) => Ok(()),
        _ => Err(bad(
            "sections",
            "Sections must be a list of 1 to 100 sections",
        )),
    }
}

/// How many rows a seated section has: 1 to 1000 (`None`: not a list).
pub fn check_rows(count: Option<usize>) -> Result<(), DomainError> {
    match count {
        Some(n) if (1..=MAX_ROWS_PER_SECTION).contains(&n) => Ok(()),
        _ => Err(bad("rows", "Rows must be a list of 1 to 1000 rows")),
    }
}

/// The whole map's size: at most 10,000 rows and 100,000 seats in all.
pub fn check_size(rows: usize, seats: u64) -> Result<(), DomainError> {
    if rows > MAX_ROWS {
        Err(bad("sections", "An event has at most 10,000 rows in all"))
    } else if seats > u64::from(MAX_SEATS) {
        Err(bad("sections", "Too many seats"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(e: DomainError) -> &'static str {
        match e {
            DomainError::Invalid { field, .. } => field,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(section_name("  Stalls \u{200b}").unwrap(), "Stalls");
        assert_eq!(field(section_name(" ").unwrap_err()), "name");
        assert!(section_name(&"a".repeat(100)).is_ok());
        assert!(section_name(&"a".repeat(101)).is_err());
        assert_eq!(row_label(" A ").unwrap(), "A");
        assert!(row_label(&"a".repeat(21)).is_err());
        assert!(row_label("a\u{7}b").is_err());
        assert_eq!(venue(Some(&json!("  "))).unwrap(), None);
        assert_eq!(venue(None).unwrap(), None);
        assert!(venue(Some(&json!("v".repeat(201)))).is_err());
        assert!(venue(Some(&json!(5))).is_err());
        assert_eq!(field(name("").unwrap_err()), "name");
    }

    #[test]
    fn counts_are_whole_numbers_in_range() {
        assert_eq!(row_seats(Some(&json!(1000))).unwrap(), 1000);
        for bad in [
            json!(0),
            json!(1001),
            json!(2.5),
            json!(3.0),
            json!("3"),
            json!(-1),
        ] {
            assert_eq!(field(row_seats(Some(&bad)).unwrap_err()), "seats", "{bad}");
        }
        assert!(row_seats(None).is_err());
        assert_eq!(capacity(Some(&json!(100_000))).unwrap(), 100_000);
        assert!(capacity(Some(&json!(100_001))).is_err());
    }

    #[test]
    fn times_sale_before_start() {
        let start = starts_at(Some(&json!("2030-01-01T20:00:00Z"))).unwrap();
        assert!(starts_at(None).is_err());
        assert!(starts_at(Some(&json!("soon"))).is_err());
        let before = json!("2030-01-01T19:00:00+00:00");
        assert!(on_sale_at(Some(&before), Some(start)).unwrap().is_some());
        let same = json!("2030-01-01T21:00:00+01:00");
        assert_eq!(
            field(on_sale_at(Some(&same), Some(start)).unwrap_err()),
            "onSaleAt"
        );
        assert_eq!(on_sale_at(Some(&Value::Null), Some(start)).unwrap(), None);
        assert!(on_sale_at(Some(&json!(1)), None).is_err());
    }

    #[test]
    fn sizes_of_the_whole_map() {
        assert!(check_sections(None).is_err());
        assert!(check_sections(Some(0)).is_err());
        assert!(check_sections(Some(100)).is_ok());
        assert!(check_sections(Some(101)).is_err());
        assert!(check_rows(Some(0)).is_err());
        assert!(check_rows(Some(1000)).is_ok());
        assert!(check_rows(Some(1001)).is_err());
        assert!(check_size(10_000, 100_000).is_ok());
        assert!(check_size(10_001, 1).is_err());
        assert_eq!(
            check_size(1, 100_001).unwrap_err().to_string(),
            "Too many seats"
        );
        assert!(queue(Some(&json!("yes"))).is_err());
        assert!(queue(None).is_ok_and(|q| !q));
    }
}
