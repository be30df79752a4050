//! The event bodies the event scenario sends, and the reading of an event's
//! seats back through the API in map order.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::load::client::{id_of, Conn};

/// Seats per row of a generated layout.
const ROW: usize = 100;
/// Rows per section of a generated layout (at most 1,000 by the contract).
const ROWS_PER_SECTION: usize = 50;
/// A page of a seat list (the contract's largest).
const PAGE: usize = 1000;

/// The body of `POST /api/events` for `seats` seats: sections of 50 rows of
/// 100 seats (the last row shorter), rows given as counts. `name` tells
/// events apart.
pub fn event_body(name: &str, seats: usize) -> Value {
    let mut rows: Vec<usize> = vec![ROW; seats / ROW];
    if !seats.is_multiple_of(ROW) {
        rows.push(seats % ROW);
    }
    section_body(name, &rows, ROWS_PER_SECTION)
}

/// The body of an event of `rows` rows of `per_row` seats each, in
/// sections of at most 1,000 rows: one row per worker of a measurement.
pub fn rows_body(name: &str, rows: usize, per_row: usize) -> Value {
    section_body(name, &vec![per_row; rows], 1000)
}

fn section_body(name: &str, rows: &[usize], per_section: usize) -> Value {
    let sections: Vec<Value> = rows
        .chunks(per_section)
        .enumerate()
        .map(|(s, chunk)| {
            let rows: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(r, n)| json!({"label": format!("R{}", r + 1), "seats": n}))
                .collect();
            json!({"name": format!("S{}", s + 1), "price": "25.00", "rows": rows})
        })
        .collect();
    json!({
        "name": name,
        "venue": "Load test hall",
        "startsAt": "2030-06-01T20:00:00Z",
        "sections": sections,
    })
}

/// One seat as the seat list gives it.
#[derive(Debug, Clone, Deserialize)]
pub struct SeatRow {
    /// The seat's ticket id.
    pub id: String,
    /// `available`, `reserved` or `sold`.
    pub status: String,
    /// The order holding or owning it.
    #[serde(rename = "orderId")]
    pub order_id: Option<String>,
}

/// Creates an event as `token`'s user; returns its id.
pub async fn create_event(conn: &mut Conn, token: &str, body: &Value) -> Result<String, String> {
    let out = conn
        .post("/api/events", Some(token), body.to_string())
        .await;
    match (out.status, id_of(&out.body)) {
        (201, Some(id)) => Ok(id),
        (status, _) => Err(format!(
            "creating an event: status {status}: {}",
            String::from_utf8_lossy(&out.body)
        )),
    }
}

/// Every seat of `event` in map order, page by page (an error past `max`
/// seats).
pub async fn all_seats(conn: &mut Conn, event: &str, max: usize) -> Result<Vec<SeatRow>, String> {
    let mut seats: Vec<SeatRow> = Vec::new();
    for _ in 0..=max / PAGE + 1 {
        let path = match seats.last() {
            Some(last) => format!("/api/events/{event}/seats?limit={PAGE}&after={}", last.id),
            None => format!("/api/events/{event}/seats?limit={PAGE}"),
        };
        let out = conn.get(&path, None).await;
        if out.status != 200 {
            return Err(format!("listing seats: status {}", out.status));
        }
        let page: Vec<SeatRow> = serde_json::from_slice(&out.body).map_err(|e| e.to_string())?;
        let done = page.len() < PAGE;
        seats.extend(page);
        if done {
            return Ok(seats);
        }
    }
    Err(format!(
        "the seat list of {event} has more than {max} seats"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_has_exactly_the_seats_asked_in_legal_rows() {
        for n in [1, 99, 100, 2_000, 50_000, 100_000] {
            let body = event_body("x", n);
            let sections = body["sections"].as_array().unwrap();
            assert!(sections.len() <= 100);
            let mut total = 0;
            for s in sections {
                let rows = s["rows"].as_array().unwrap();
                assert!(!rows.is_empty() && rows.len() <= 1000);
                for r in rows {
                    let k = r["seats"].as_u64().unwrap();
                    assert!((1..=1000).contains(&k));
                    total += k as usize;
                }
            }
            assert_eq!(total, n);
        }
        let rows = rows_body("y", 1500, 4);
        assert_eq!(rows["sections"].as_array().unwrap().len(), 2);
    }
}
