//! Backups through the binary: a round trip of `ticketing export` and
//! `import` into a fresh directory serves the same data and `check` passes
//! on it; import refuses a backup that breaks an invariant, a damaged one
//! and a non-empty directory; an export of format version 2 imports.

use serde_json::{json, Value};
use ticketing::config::Settings;
use ticketing::App;

use crate::{call, import_then_export, ticketing};

/// Everything a client can see of the data, for comparison.
async fn view(base: &str, tokens: &[String]) -> Value {
    let c = reqwest::Client::new();
    let (_, tickets) = call(
        &c,
        "GET",
        format!("{base}/api/tickets?status=any&limit=1000"),
        None,
        None,
    )
    .await;
    let mut orders = Vec::new();
    for t in tokens {
        let (_, o) = call(&c, "GET", format!("{base}/api/orders"), Some(t), None).await;
        orders.push(o);
    }
    json!({"tickets": tickets, "orders": orders})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_round_trip_serves_the_same_data_and_checks_clean() {
    let original = tempfile::tempdir().unwrap();
    let app = App::start(Settings::for_tests(original.path(), 600))
        .await
        .unwrap();
    let base = format!("http://{}", app.addr());
    let c = reqwest::Client::new();
    let mut tokens = Vec::new();
    for email in ["seller@example.com", "buyer@example.com"] {
        let (s, v) = call(
            &c,
            "POST",
            format!("{base}/api/users/signup"),
            None,
            Some(json!({"email": email, "password": "password1"})),
        )
        .await;
        assert_eq!(s, 201);
        tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    let (seller, buyer) = (tokens[0].clone(), tokens[1].clone());
    let mut ids = Vec::new();
    for (i, title) in ["Sold", "Held", "Released", "Deleted", "Edited"]
        .iter()
        .enumerate()
    {
        let (s, v) = call(
            &c,
            "POST",
            format!("{base}/api/tickets"),
            Some(&seller),
            Some(json!({"title": title, "price": 10 + i, "date": "2027-01-01T20:00:00Z"})),
        )
        .await;
        assert_eq!(s, 201);
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let (_, sold) = call(
        &c,
        "POST",
        format!("{base}/api/orders"),
        Some(&buyer),
        Some(json!({"ticketId": ids[0]})),
    )
    .await;
    let (s, _) = call(
        &c,
        "POST",
        format!("{base}/api/payments"),
        Some(&buyer),
        Some(json!({"orderId": sold["id"], "token": "tok_visa"})),
    )
    .await;
    assert_eq!(s, 201);
    call(
        &c,
        "POST",
        format!("{base}/api/orders"),
        Some(&buyer),
        Some(json!({"ticketId": ids[1]})),
    )
    .await;
    let (_, released) = call(
        &c,
        "POST",
        format!("{base}/api/orders"),
        Some(&buyer),
        Some(json!({"ticketId": ids[2]})),
    )
    .await;
    call(
        &c,
        "DELETE",
        format!("{base}/api/orders/{}", released["id"].as_str().unwrap()),
        Some(&buyer),
        None,
    )
    .await;
    call(
        &c,
        "DELETE",
        format!("{base}/api/tickets/{}", ids[3]),
        Some(&seller),
        None,
    )
    .await;
    call(
        &c,
        "PUT",
        format!("{base}/api/tickets/{}", ids[4]),
        Some(&seller),
        Some(json!({"title": "Edited twice", "price": "99.99"})),
    )
    .await;
    let before = view(&base, &tokens).await;
    app.shutdown().await;

    let backup = original.path().join("../backup.jsonl");
    let backup = backup.to_str().unwrap().to_owned();
    let (ok, stdout, stderr) = ticketing(original.path(), &["export", &backup]);
    assert!(ok, "export failed: {stderr}");
    assert!(
        stdout.contains("2 users, 4 tickets, 3 orders, 1 payments"),
        "{stdout}"
    );

    let restored = tempfile::tempdir().unwrap();
    let target = restored.path().join("data");
    let (ok, _, stderr) = ticketing(&target, &["import", &backup]);
    assert!(ok, "import failed: {stderr}");
    let (ok, stdout, stderr) = ticketing(&target, &["check"]);
    assert!(ok, "check failed: {stdout}{stderr}");
    // A mistyped directory is an error, not an empty success; a refused
    // export leaves the existing backup alone.
    let nowhere = restored.path().join("no-such-dir");
    let (ok, _, stderr) = ticketing(&nowhere, &["check"]);
    assert!(!ok && stderr.contains("not a data directory"), "{stderr}");
    let (ok, _, _) = ticketing(&nowhere, &["export", &backup]);
    assert!(!ok);
    assert!(
        std::fs::metadata(&backup).unwrap().len() > 0,
        "the old backup was emptied"
    );
    assert!(!nowhere.exists(), "export created a data directory");
    // Importing twice into the same directory is refused.
    let (ok, _, stderr) = ticketing(&target, &["import", &backup]);
    assert!(!ok && stderr.contains("empty"), "{stderr}");

    let app = App::start(Settings::for_tests(&target, 600)).await.unwrap();
    let base = format!("http://{}", app.addr());
    // Sessions are not part of a backup: sign in again (the password hash is).
    let mut new_tokens = Vec::new();
    for email in ["seller@example.com", "buyer@example.com"] {
        let (s, v) = call(
            &c,
            "POST",
            format!("{base}/api/users/signin"),
            None,
            Some(json!({"email": email, "password": "password1"})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        new_tokens.push(v["token"].as_str().unwrap().to_owned());
    }
    assert_eq!(view(&base, &new_tokens).await, before);
    // New records do not collide with imported ids.
    let (s, _) = call(
        &c,
        "POST",
        format!("{base}/api/tickets"),
        Some(&new_tokens[0]),
        Some(json!({"title": "After", "price": 1})),
    )
    .await;
    assert_eq!(s, 201);
    app.shutdown().await;
}

#[test]
fn import_refuses_a_backup_that_breaks_an_invariant_and_check_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    let user = json!({"kind": "user", "record": {"id": 1, "email": "a@example.com", "password_hash": "x", "created_at": 0}});
    let ticket = json!({"kind": "ticket", "record": {"id": 2, "title": "T", "price": 100, "date": null, "seller": 1, "version": 1, "status": "Reserved", "order_id": 3}});
    let order = |id: u64| json!({"kind": "order", "record": {"id": id, "buyer": 1, "ticket": {"id": 2, "title": "T", "price": 100, "date": null, "version": 1}, "status": "Created", "expires_at": 0, "version": 0}});
    let lines = [
        json!({"format": "ticketing-export", "version": 1, "exported_at": "2026-01-01T00:00:00Z"}),
        user,
        ticket,
        order(3),
        order(4),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&file, text).unwrap();
    let target = dir.path().join("data");
    let (ok, _, stderr) = ticketing(&target, &["import", file.to_str().unwrap()]);
    assert!(
        !ok,
        "a backup with two live orders for one ticket was imported"
    );
    assert!(stderr.contains("2 live orders"), "{stderr}");
    std::fs::write(&file, "{\"format\": \"something else\"}\n").unwrap();
    let (ok, _, stderr) = ticketing(&target, &["import", file.to_str().unwrap()]);
    assert!(!ok && stderr.contains("line 1"), "{stderr}");
}

#[test]
fn an_export_of_version_2_imports_its_orders_as_orders_of_one_ticket_with_their_payment() {
    let dir = tempfile::tempdir().unwrap();
    let order_id: u64 = (1_700_000_000_000 << 20) + 5;
    let seller = json!({"kind": "user", "record": {"id": 1, "email": "a@example.com", "password_hash": "x", "created_at": 0}});
    let ticket = json!({"kind": "ticket", "record": {"id": 2, "title": "T", "price": 100, "date": null, "seller": 1, "version": 2, "status": "Sold", "order_id": order_id, "event_id": null, "seat": null}});
    let snapshot = json!({"id": 2, "title": "T", "price": 100, "date": null, "version": 2, "event_id": null, "seat": null});
    let order = json!({"kind": "order", "record": {"id": order_id, "buyer": 1, "ticket": snapshot, "status": "Complete", "expires_at": 0, "version": 1}});
    // The payment comes after its order, as exports write them.
    let payment = json!({"kind": "payment", "record": {"id": order_id + 1, "order_id": order_id, "charge_id": "ch_1", "amount": 100, "created_at": 1_700_000_000_500i64}});
    let header =
        json!({"format": "ticketing-export", "version": 2, "exported_at": "2026-01-01T00:00:00Z"});
    let lines = import_then_export(
        dir.path(),
        "v2.jsonl",
        [&header, &seller, &ticket, &order, &payment],
    );
    let orders: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "order").collect();
    assert_eq!(
        orders,
        [
            &json!({"kind": "order", "record": {"id": order_id, "buyer": 1, "tickets": [snapshot], "status": "Complete", "expires_at": 0, "version": 1, "created_at": 1_700_000_000_000i64, "cancel_reason": null, "payment": {"id": order_id + 1, "paid_at": 1_700_000_000_500i64}}})
        ]
    );
}
