//! Reading values out of answers: an id, a version, an RFC 3339 timestamp,
//! each failing the test with the body when it is missing or malformed.

use serde_json::Value;

/// `s["id"]` as a `String`.
#[track_caller]
pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no string id in {v}"))
        .to_string()
}

/// `v["version"]` as an integer.
#[track_caller]
pub fn version_of(v: &Value) -> u64 {
    v["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer version in {v}"))
}

/// Parses an RFC 3339 timestamp.
#[track_caller]
pub fn parse_time(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not RFC 3339: {s:?}: {e}"))
}
