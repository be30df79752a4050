//! Wall-clock instants as milliseconds since the Unix epoch, shown as RFC 3339
//! in UTC. Holds keep their absolute expiry in this form so it survives
//! restarts.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The OS clock's current time. The core reads time through
    /// `crate::clock::Clock` instead, so tests can move it; this is the
    /// system clock's source, and serves what does not decide by time (ids,
    /// export stamps).
    pub fn now() -> Self {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Timestamp((nanos / 1_000_000) as i64)
    }

    /// This instant plus `d`.
    pub fn plus(self, d: std::time::Duration) -> Self {
        Timestamp(
            self.0
                .saturating_add(d.as_millis().min(i64::MAX as u128) as i64),
        )
    }

    /// Time from `self` until `later`, zero when `later` has passed.
    pub fn until(self, later: Timestamp) -> std::time::Duration {
        std::time::Duration::from_millis(later.0.saturating_sub(self.0).max(0) as u64)
    }

    /// RFC 3339 in UTC, e.g. `2026-11-24T18:30:00Z` (milliseconds when not zero).
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_default()
    }

    /// Parses RFC 3339 with any offset; `None` when malformed, or when the
    /// instant falls outside the years 0001 to 9999 in UTC (RFC 3339 cannot
    /// show it).
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        let utc = t.checked_to_offset(time::UtcOffset::UTC)?;
        if !(1..=9999).contains(&utc.year()) {
            return None;
        }
        let millis = t.unix_timestamp_nanos() / 1_000_000;
        i64::try_from(millis).ok().map(Timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_in_utc() {
        let t = Timestamp::parse_rfc3339("2026-11-24T19:30:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-24T18:30:00Z");
        let t = Timestamp::parse_rfc3339("2026-11-24T18:30:00.250Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-24T18:30:00.25Z");
        assert!(Timestamp::parse_rfc3339("yesterday").is_none());
        assert!(Timestamp::parse_rfc3339("2026-13-01T00:00:00Z").is_none());
        assert!(Timestamp::parse_rfc3339("0000-01-01T00:30:00+01:00").is_none());
        assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59-01:00").is_none());
        let t = Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").unwrap();
        assert_eq!(t.to_rfc3339(), "9999-12-31T23:59:59Z");
    }
}
