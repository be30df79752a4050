//! Proves the load generator and its flash-sale audit end to end: a tiny
//! flash sale against an embedded server must sell every seat exactly once,
//! and say so on the JSON line.

use std::process::Command;

#[test]
fn a_tiny_flash_sale_sells_every_ticket_once() {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketing"))
        .args([
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
        ])
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
    let last = stdout.lines().last().expect("a JSON line");
    let v: serde_json::Value = serde_json::from_str(last).expect("the last line is JSON");
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
