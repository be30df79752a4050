//! `ticketing export`, `import` and `check`, through the binary: backup
//! round trips, damaged backups and old formats (`backup`); events, seats and
//! waiting-room entries through export and import (`events`); `check` on
//! records of events, seats and orders of several seats that do not agree
//! (`check`); and data moving from sled to PostgreSQL and back (`moves`).
//! This file holds the helpers they share: running the binary, calling the
//! HTTP API, reading an export's records.

#[path = "maintenance/backup.rs"]
mod backup;
#[path = "maintenance/check.rs"]
mod check;
#[path = "support/child.rs"]
mod child;
#[path = "api/client.rs"]
mod client;
#[path = "maintenance/events.rs"]
mod events;
#[path = "maintenance/moves.rs"]
mod moves;
#[path = "support/postgres.rs"]
mod postgres;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `ticketing <args>` on the data directory `data`: success, stdout, stderr.
fn ticketing(data: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketing"))
        .args(args)
        .env("TICKETING_STORAGE__PATH", data)
        .output()
        .expect("run ticketing");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One API request as `token` (if any): the status and the JSON body (null
/// when there is none).
async fn call(
    c: &reqwest::Client,
    method: &str,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = c.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let res = rb.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Writes `lines` (a header, then records) to the backup `dir/<name>`,
/// imports it into the data directory `dir/data` and exports that again:
/// the records of the new export.
fn import_then_export<'a>(
    dir: &Path,
    name: &str,
    lines: impl IntoIterator<Item = &'a Value>,
) -> Vec<Value> {
    let text: String = lines.into_iter().map(|l| format!("{l}\n")).collect();
    let backup = dir.join(name);
    std::fs::write(&backup, text).unwrap();
    let data = dir.join("data");
    let (ok, _, err) = ticketing(&data, &["import", backup.to_str().unwrap()]);
    assert!(ok, "{err}");
    let again = dir.join("again.jsonl");
    let (ok, _, err) = ticketing(&data, &["export", again.to_str().unwrap()]);
    assert!(ok, "{err}");
    records(&again)
}

/// The lines of an export after its header.
fn records(file: &Path) -> Vec<Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
