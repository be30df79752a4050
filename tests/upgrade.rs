//! Opening a data directory of an older schema (version 1 or 2) upgrades it
//! in place. The fixtures `tests/fixtures/v1/data` and `tests/fixtures/v2/data`
//! were written by the last build of each schema (their `make.sh`: three
//! users, one signed out, five tickets of which one edited and one deleted,
//! a held order, a paid one and a cancelled one); `expected.json` is what
//! that build served. Here the new binary runs on a copy and must serve all
//! of it, with the new fields filled (a ticket's event and seat null, an
//! order's `tickets` its one ticket, its `total`, `createdAt`, no
//! `cancelReason`, the paid one's payment), mark the directory as version
//! 3, read it again after a restart, and let `check` and `export` read it;
//! a directory holding a record of another version is refused untouched.

#[path = "support/child.rs"]
mod child;
#[path = "api/client.rs"]
mod client;
#[path = "support/sled.rs"]
mod sled_dir;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use child::{spawn_server, tail};
use client::*;
use sled_dir::{close_sled, open_sled};
use ticketing::domain::{OrderId, Payment, Timestamp};

/// The fixture of schema `version`.
fn fixture(version: u8) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/v{version}"))
}

/// A fresh copy of the data directory of the fixture of schema `version`.
fn copy_of_fixture(version: u8) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture(version).join("data")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    dir
}

/// Every key and value in the directory, read with sled itself.
fn raw_pairs(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let db = open_sled(dir);
    db.iter()
        .map(|r| {
            let (k, v) = r.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

/// The directory's `meta/format` marker.
fn marker(dir: &Path) -> String {
    let pairs = raw_pairs(dir);
    let (_, v) = pairs
        .iter()
        .find(|(k, _)| k == b"meta/format")
        .expect("a format marker");
    String::from_utf8(v.clone()).unwrap()
}

/// The payments the old build stored in the fixture of schema `version`,
/// read with sled and postcard (payments kept their shape since schema 1),
/// not with the code under test.
fn stored_payments(version: u8) -> Vec<Payment> {
    let dir = copy_of_fixture(version);
    raw_pairs(dir.path())
        .into_iter()
        .filter(|(k, _)| k.starts_with(b"p/"))
        .map(|(_, v)| {
            assert_eq!(v[0], version);
            postcard::from_bytes(&v[1..]).unwrap()
        })
        .collect()
}

/// Runs `ticketing ARGS` on `data`: (success, stdout, stderr).
fn ticketing(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketing"))
        .args(args)
        .env("TICKETING_STORAGE__PATH", data)
        .env("TICKETING_SERVER__ADDR", "127.0.0.1:0")
        .env("TICKETING_AUTH__BCRYPT_COST", "4")
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run ticketing");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `log` without its colour codes (the log colours even a file).
fn plain(log: &str) -> String {
    let mut out = String::new();
    let mut rest = log;
    while let Some(start) = rest.find('\x1b') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        rest = rest.find('m').map_or("", |end| &rest[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// What the build of schema `version` served.
fn expected(version: u8) -> Value {
    serde_json::from_slice(&std::fs::read(fixture(version).join("expected.json")).unwrap()).unwrap()
}

/// `ticket` as schema 3 shows it: the same, plus `eventId` and `seat` null
/// (schema 1 did not show them; schema 2 showed them null).
fn with_null_seat(ticket: &Value) -> Value {
    let mut t = ticket.clone();
    t["eventId"] = Value::Null;
    t["seat"] = Value::Null;
    t
}

/// The hold the fixtures were made with (ten years), in milliseconds.
const HOLD_MS: i64 = 315_360_000_000;

/// `order` as schema 3 shows it: its ticket gains the null seat fields and
/// is its one `tickets`; its `total` is its ticket's price; `createdAt` is
/// the time in its id; no `cancelReason` (the old records do not say); a
/// paid order shows the payment stored for it.
fn upgraded_order(order: &Value, payments: &[Payment]) -> Value {
    let mut o = order.clone();
    let ticket = with_null_seat(&order["ticket"]);
    let id: OrderId = order["id"].as_str().unwrap().parse().unwrap();
    let created = Timestamp((id.0 >> 20) as i64);
    let expires = Timestamp::parse_rfc3339(order["expiresAt"].as_str().unwrap()).unwrap();
    assert!(
        (expires.0 - HOLD_MS - created.0).abs() < 1000,
        "the id's time is when the order was placed"
    );
    let payment = payments.iter().find(|p| p.order_id == id);
    assert_eq!(payment.is_some(), order["status"] == "complete");
    o["ticket"] = ticket.clone();
    o["tickets"] = json!([ticket]);
    o["total"] = order["ticket"]["price"].clone();
    o["createdAt"] = json!(created.to_rfc3339());
    o["cancelReason"] = Value::Null;
    o["paymentId"] = json!(payment.map(|p| p.id.to_string()));
    o["paidAt"] = json!(payment.map(|p| p.created_at.to_rfc3339()));
    o
}

/// Checks through the HTTP API that everything the build of schema
/// `version` served is served again, with the new fields; returns the buyer.
async fn serves_the_fixture(api: &Api, version: u8) -> User {
    let want = expected(version);
    let mut signed_in = Vec::new();
    for u in want["users"].as_array().unwrap() {
        let (email, password) = (
            u["email"].as_str().unwrap(),
            u["password"].as_str().unwrap(),
        );
        let user = api.signin(email, password).await;
        assert_eq!(user.email, email);
        signed_in.push(user);
    }
    let revoked = want["revokedToken"].as_str().unwrap();
    assert_eq!(
        api.current_user(Auth::Token(revoked)).await,
        Value::Null,
        "the signed-out session stays signed out"
    );
    let tickets: Vec<Value> = want["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(with_null_seat)
        .collect();
    assert_eq!(api.all_tickets().await, tickets);
    for t in &tickets {
        assert_eq!(&api.ticket(t["id"].as_str().unwrap()).await, t);
    }
    let deleted = want["deletedTicket"].as_str().unwrap();
    api.get(&format!("/api/tickets/{deleted}"), Auth::None)
        .await
        .expect(404);
    let buyer = signed_in
        .into_iter()
        .find(|u| u.email == "bob@example.com")
        .unwrap();
    let payments = stored_payments(version);
    let orders: Vec<Value> = want["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| upgraded_order(o, &payments))
        .collect();
    assert_eq!(
        api.get("/api/orders", Auth::Bearer(&buyer)).await.json(200),
        Value::Array(orders.clone())
    );
    for o in &orders {
        assert_eq!(&api.order(&buyer, o["id"].as_str().unwrap()).await, o);
    }
    buyer
}

/// Runs the server on a copy of the fixture of schema `version`: it
/// upgrades it (logged once), serves it, serves it again after a restart,
/// takes new writes, and `check` passes afterwards.
async fn upgrades_in_place_and_serves_everything_it_held(version: u8) {
    let data = copy_of_fixture(version);
    let logs = tempfile::tempdir().unwrap();
    assert_eq!(marker(data.path()), format!("ticketing/{version}"));

    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    serves_the_fixture(&s.api, version).await;
    s.signal("-TERM");
    assert!(s.wait_exit(Duration::from_secs(30)).await.success());
    let log = plain(&tail(&s.stderr_path));
    assert!(
        log.contains("upgraded the data directory")
            && log.contains(&format!("from={version}"))
            && log.contains("tickets=4 orders=3"),
        "the upgrade is logged with what it rewrote:\n{log}"
    );
    assert_eq!(marker(data.path()), "ticketing/3");

    // A restart reads the upgraded directory (and does not upgrade again);
    // it takes new writes: the held order can be paid.
    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    let buyer = serves_the_fixture(&s.api, version).await;
    assert!(!tail(&s.stderr_path).contains("upgraded the data directory"));
    let held = expected(version)["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["status"] == "created")
        .unwrap()
        .clone();
    s.api.pay(&buyer, held["id"].as_str().unwrap()).await;
    let ticket = s.api.ticket(held["ticket"]["id"].as_str().unwrap()).await;
    assert_eq!(
        (ticket["status"].clone(), ticket["version"].clone()),
        (json!("sold"), json!(2))
    );
    let paid = s.api.order(&buyer, held["id"].as_str().unwrap()).await;
    assert!(paid["paymentId"].is_string(), "{paid}");
    s.signal("-TERM");
    assert!(s.wait_exit(Duration::from_secs(30)).await.success());

    let (ok, out, err) = ticketing(data.path(), &["check"]);
    assert!(ok, "check: {out}{err}");
    assert!(
        out.contains("3 users, 4 tickets, 3 orders, 2 payments, 0 events"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_1_directory_is_upgraded_in_place_and_serves_everything_it_held() {
    upgrades_in_place_and_serves_everything_it_held(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_2_directory_is_upgraded_in_place_and_serves_everything_it_held() {
    upgrades_in_place_and_serves_everything_it_held(2).await;
}

/// `export` on a copy of the fixture of schema `version` upgrades it and
/// writes this build's export: orders of one-ticket `tickets`, the paid
/// one with its payment; `check` then passes.
fn export_and_check_open_it_by_upgrading_it(version: u8) {
    let data = copy_of_fixture(version);
    let file = data.path().join("backup.jsonl");
    let (ok, out, err) = ticketing(data.path(), &["export", file.to_str().unwrap()]);
    assert!(ok, "export: {out}{err}");
    assert!(err.contains("upgraded the data directory"), "{err}");
    assert_eq!(marker(data.path()), "ticketing/3");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["version"], 4, "the export format of this build");
    let kinds = |kind: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["kind"] == kind)
            .map(|l| &l["record"])
            .collect()
    };
    assert_eq!(kinds("user").len(), 3);
    assert_eq!(kinds("revoked").len(), 1);
    assert_eq!(kinds("event").len(), 0);
    let payments = kinds("payment");
    assert_eq!(payments.len(), 1);
    let tickets = kinds("ticket");
    assert_eq!(tickets.len(), 4);
    let orders = kinds("order");
    assert_eq!(orders.len(), 3);
    for o in &orders {
        assert_eq!(o["tickets"].as_array().unwrap().len(), 1, "{o}");
        assert_eq!(o["cancel_reason"], Value::Null, "{o}");
        let paid = json!({"id": payments[0]["id"], "paid_at": payments[0]["created_at"]});
        let want = if o["id"] == payments[0]["order_id"] {
            paid
        } else {
            Value::Null
        };
        assert_eq!(o["payment"], want, "{o}");
    }
    for t in tickets
        .iter()
        .copied()
        .chain(orders.iter().map(|o| &o["tickets"][0]))
    {
        assert_eq!(
            (&t["event_id"], &t["seat"]),
            (&Value::Null, &Value::Null),
            "{t}"
        );
    }
    let (ok, out, err) = ticketing(data.path(), &["check"]);
    assert!(ok, "check: {out}{err}");
    assert!(out.contains("every invariant holds"), "{out}");
}

#[test]
fn export_and_check_open_a_schema_1_directory_by_upgrading_it() {
    export_and_check_open_it_by_upgrading_it(1);
}

#[test]
fn export_and_check_open_a_schema_2_directory_by_upgrading_it() {
    export_and_check_open_it_by_upgrading_it(2);
}

/// A copy of the fixture of schema `version` with one ticket record of
/// version `record_version` is refused by the server, and left untouched.
fn a_directory_holding_a_record_of_another_version_is_refused_untouched(
    version: u8,
    record_version: u8,
) {
    let data = copy_of_fixture(version);
    {
        let db = open_sled(data.path());
        let (k, v) = db.scan_prefix(b"t/").next().unwrap().unwrap();
        let mut other = v.to_vec();
        other[0] = record_version;
        db.insert(k, other).unwrap();
        close_sled(data.path(), db);
    }
    let before = raw_pairs(data.path());
    let (ok, _, err) = ticketing(data.path(), &["serve"]);
    assert!(!ok, "the server started on it");
    assert!(
        err.contains(&format!(
            "schema version {record_version}; expected {version}"
        )),
        "{err}"
    );
    assert_eq!(raw_pairs(data.path()), before, "nothing was rewritten");
    assert_eq!(marker(data.path()), format!("ticketing/{version}"));
}

#[test]
fn a_schema_1_directory_holding_a_newer_record_is_refused_untouched() {
    a_directory_holding_a_record_of_another_version_is_refused_untouched(1, 4);
}

#[test]
fn a_schema_2_directory_holding_a_record_of_another_version_is_refused_untouched() {
    a_directory_holding_a_record_of_another_version_is_refused_untouched(2, 3);
    a_directory_holding_a_record_of_another_version_is_refused_untouched(2, 1);
}

#[test]
fn a_directory_of_a_newer_schema_is_refused_untouched() {
    let data = copy_of_fixture(2);
    {
        let db = open_sled(data.path());
        db.insert(b"meta/format", b"ticketing/4".to_vec()).unwrap();
        close_sled(data.path(), db);
    }
    let before = raw_pairs(data.path());
    let (ok, _, err) = ticketing(data.path(), &["serve"]);
    assert!(!ok, "the server started on it");
    assert!(
        err.contains("written by schema version 4; this build reads version 3"),
        "{err}"
    );
    assert_eq!(raw_pairs(data.path()), before, "nothing was rewritten");
}
