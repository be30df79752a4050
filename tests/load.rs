//! Proves the load generator and its audits end to end: a tiny flash sale
//! against an embedded server must sell every seat exactly once, a small
//! on-sale of a seated event must oversell nothing and leave no order in
//! part, and each must say so on the JSON line.

use std::process::Command;

#[test]
fn a_tiny_flash_sale_sells_every_ticket_once() {
    let (v, last) = load_report(&[
        "load",
        "--embedded",
        "--scenario",
        "flash-sale",
        "--tickets",
        "20",
        "--buyers",
        "100",
        "--concurrency",
        "16",
        "--bcrypt-cost",
        "4",
        "--duration",
        "60",
        "--json",
    ]);
    let last = last.as_str();
    assert_eq!(v["scenario"], "flash-sale");
    assert_eq!(v["oversold"], 0, "{last}");
    assert_eq!(v["sold"], 20, "{last}");
    assert_eq!(v["unsold"], 0, "{last}");
    assert_eq!(v["payments"], 20, "{last}");
    assert_eq!(v["double_live_orders"], 0, "{last}");
    assert_eq!(v["errors"], 0, "{last}");
    for key in [
        "requests",
        "rps",
        "p50_ms",
        "p99_ms",
        "baseline_rps",
        "ratio",
    ] {
        assert!(v.get(key).is_some(), "{key} missing from {last}");
    }
}

/// A small on-sale of a seated event: buyers race for 1 to 4 seats each
/// (map ids and best available), pay, cancel or let holds lapse, and the
/// audit through the API finds no seat oversold and no order in part.
#[test]
fn a_small_event_on_sale_oversells_nothing_and_leaves_no_order_in_part() {
    let (v, last) = load_report(&[
        "load",
        "--embedded",
        "--scenario",
        "event",
        "--seats",
        "2000",
        "--create-seats",
        "5000",
        "--buyers",
        "200",
        "--attempts",
        "3",
        "--concurrency",
        "16",
        "--hold-secs",
        "3",
        "--duration",
        "3",
        "--baseline",
        "--json",
    ]);
    let last = last.as_str();
    assert_eq!(v["scenario"], "event");
    assert_eq!(v["oversold"], 0, "{last}");
    assert_eq!(v["partial_orders"], 0, "{last}");
    assert_eq!(v["fate_mismatches"], 0, "{last}");
    assert_eq!(v["counts_mismatch"], false, "{last}");
    assert_eq!(v["audit_errors"], 0, "{last}");
    assert!(v["orders_placed"].as_u64().unwrap() > 0, "{last}");
    assert!(v["orders_paid"].as_u64().unwrap() > 0, "{last}");
    assert!(v["sold"].as_u64().unwrap() > 0, "{last}");
    // Every seat of every paid order is sold, and nothing else is.
    assert!(
        v["sold"].as_u64().unwrap() <= v["seats_in_orders"].as_u64().unwrap(),
        "{last}"
    );
    for key in [
        "create_s",
        "cycles_per_s",
        "get_event_rps",
        "get_event_p99_ms",
        "live_snapshot_rps",
        "live_snapshot_p99_ms",
        "ratio",
        "get_event_ratio",
        "live_snapshot_ratio",
    ] {
        assert!(v[key].as_f64().is_some(), "{key} missing from {last}");
    }
    for key in ["race_errors", "get_event_errors", "live_snapshot_errors"] {
        assert_eq!(v[key], 0, "{key} in {last}");
    }
    assert_eq!(v["errors"], 0, "{last}");
}

/// A small on-sale through the waiting room: buyers join (a third before
/// `onSaleAt`), wait for admission (some on the WebSocket), buy and pay;
/// the audit finds no seat oversold, no admission out of the contract's
/// order and nobody admitted twice, and every seat sold.
#[test]
fn a_small_queued_on_sale_is_fair_and_oversells_nothing() {
    let (v, last) = load_report(&[
        "load",
        "--embedded",
        "--scenario",
        "onsale",
        "--seats",
        "200",
        "--buyers",
        "300",
        "--concurrency",
        "16",
        "--active-buyers",
        "10",
        "--think-ms",
        "20",
        "--lead-secs",
        "2",
        "--watchers",
        "30",
        "--duration",
        "40",
        "--json",
    ]);
    let last = last.as_str();
    assert_eq!(v["scenario"], "onsale");
    assert_eq!(v["oversold"], 0, "{last}");
    assert_eq!(v["order_violations"], 0, "{last}");
    assert_eq!(v["admitted_twice"], 0, "{last}");
    assert_eq!(v["partial_orders"], 0, "{last}");
    assert_eq!(v["sold"], 200, "{last}");
    assert_eq!(v["joins"], 300, "{last}");
    assert!(v["early_joiners"].as_u64().unwrap() > 0, "{last}");
    assert!(v["pushes"].as_u64().unwrap() > 0, "{last}");
    assert!(v["sellout_s"].as_f64().is_some(), "{last}");
    assert_eq!(v["errors"], 0, "{last}");
    assert_eq!(v["order_errors"], "-", "{last}");
}

/// Runs `ticketing load` with `args`; it must succeed. Its report: the JSON
/// of its last line, and that line (for failure messages).
fn load_report(args: &[&str]) -> (serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketing"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run ticketing load");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().expect("a JSON line").to_owned();
    let v = serde_json::from_str(&last).expect("the last line is JSON");
    (v, last)
}
