//! Opening a data directory of the previous schema (version 1) upgrades it
//! in place. The fixture `tests/fixtures/v1/data` was written by the build
//! before schema 2 (`tests/fixtures/v1/make.sh`: three users, one signed
//! out, five tickets of which one edited and one deleted, a held order, a
//! paid one and a cancelled one); `expected.json` is what that build served.
//! Here the new binary runs on a copy and must serve all of it, with the
//! new fields null, mark the directory as version 2, read it again after a
//! restart, and let `check` and `export` read it; a directory holding a
//! record of a newer version is refused untouched.

#[path = "support/child.rs"]
mod child;
#[path = "api/client.rs"]
mod client;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use child::{spawn_server, tail};
use client::*;

/// The fixture's directory.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1")
}

/// A fresh copy of the fixture's data directory.
fn copy_of_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture().join("data")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    dir
}

/// Every key and value in the directory, read with sled itself.
fn raw_pairs(dir: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    let db = sled::open(dir).unwrap();
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

fn expected() -> Value {
    serde_json::from_slice(&std::fs::read(fixture().join("expected.json")).unwrap()).unwrap()
}

/// `ticket` as schema 2 shows it: the same, plus `eventId` and `seat` null.
fn with_null_seat(ticket: &Value) -> Value {
    let mut t = ticket.clone();
    t["eventId"] = Value::Null;
    t["seat"] = Value::Null;
    t
}

/// `order` as schema 2 shows it: its ticket gains the null fields.
fn order_with_null_seat(order: &Value) -> Value {
    let mut o = order.clone();
    o["ticket"] = with_null_seat(&order["ticket"]);
    o
}

/// Checks through the HTTP API that everything the old build served is
/// served again, with the new fields null; returns the buyer.
async fn serves_the_fixture(api: &Api) -> User {
    let want = expected();
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
    let orders: Vec<Value> = want["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(order_with_null_seat)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_1_directory_is_upgraded_in_place_and_serves_everything_it_held() {
    let data = copy_of_fixture();
    let logs = tempfile::tempdir().unwrap();
    assert_eq!(marker(data.path()), "ticketing/1");

    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    serves_the_fixture(&s.api).await;
    s.signal("-TERM");
    assert!(s.wait_exit(Duration::from_secs(30)).await.success());
    let log = plain(&tail(&s.stderr_path));
    assert!(
        log.contains("upgraded the data directory") && log.contains("tickets=4"),
        "the upgrade is logged with what it rewrote:\n{log}"
    );
    assert_eq!(marker(data.path()), "ticketing/2");

    // A restart reads the upgraded directory (and does not upgrade again);
    // it takes new writes: the held order can be paid.
    let mut s = spawn_server(data.path(), logs.path(), 600, &[]);
    let buyer = serves_the_fixture(&s.api).await;
    assert!(!tail(&s.stderr_path).contains("upgraded the data directory"));
    let held = expected()["orders"]
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
    s.signal("-TERM");
    assert!(s.wait_exit(Duration::from_secs(30)).await.success());

    let (ok, out, err) = ticketing(data.path(), &["check"]);
    assert!(ok, "check: {out}{err}");
    assert!(
        out.contains("3 users, 4 tickets, 3 orders, 2 payments"),
        "{out}"
    );
}

#[test]
fn export_and_check_open_a_schema_1_directory_by_upgrading_it() {
    let data = copy_of_fixture();
    let file = data.path().join("backup.jsonl");
    let (ok, out, err) = ticketing(data.path(), &["export", file.to_str().unwrap()]);
    assert!(ok, "export: {out}{err}");
    assert!(err.contains("upgraded the data directory"), "{err}");
    assert_eq!(marker(data.path()), "ticketing/2");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["version"], 2);
    let kinds = |kind: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["kind"] == kind)
            .map(|l| &l["record"])
            .collect()
    };
    assert_eq!(kinds("user").len(), 3);
    assert_eq!(kinds("payment").len(), 1);
    assert_eq!(kinds("revoked").len(), 1);
    let tickets = kinds("ticket");
    assert_eq!(tickets.len(), 4);
    let orders = kinds("order");
    assert_eq!(orders.len(), 3);
    for t in tickets
        .iter()
        .copied()
        .chain(orders.iter().map(|o| &o["ticket"]))
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
fn a_schema_1_directory_holding_a_newer_record_is_refused_untouched() {
    let data = copy_of_fixture();
    {
        let db = sled::open(data.path()).unwrap();
        let (k, v) = db.scan_prefix(b"t/").next().unwrap().unwrap();
        let mut newer = v.to_vec();
        newer[0] = 3;
        db.insert(k, newer).unwrap();
        db.flush().unwrap();
    }
    let before = raw_pairs(data.path());
    let (ok, _, err) = ticketing(data.path(), &["serve"]);
    assert!(!ok, "the server started on it");
    assert!(err.contains("schema version 3"), "{err}");
    assert_eq!(raw_pairs(data.path()), before, "nothing was rewritten");
    assert_eq!(marker(data.path()), "ticketing/1");
}
