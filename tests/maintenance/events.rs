//! Events through export and import: an event's seats and an order of
//! seats round-trip and are served by the restored server, and so do a
//! queued event's waiting-room entries and draw; import refuses entries
//! that do not fit their event.

use serde_json::{json, Value};
use ticketing::config::Settings;
use ticketing::App;

use crate::{call, import_then_export, records, ticketing};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_and_events_survive_import_and_export_and_are_served() {
    let dir = tempfile::tempdir().unwrap();
    // A user with a real password hash: made by a server, taken from its export.
    let first = dir.path().join("first");
    let app = App::start(Settings::for_tests(&first, 600)).await.unwrap();
    let c = reqwest::Client::new();
    let base = format!("http://{}", app.addr());
    let signup = json!({"email": "buyer@example.com", "password": "password1"});
    let (s, _) = call(
        &c,
        "POST",
        format!("{base}/api/users/signup"),
        None,
        Some(signup.clone()),
    )
    .await;
    assert_eq!(s, 201);
    app.shutdown().await;
    let file = dir.path().join("first.jsonl");
    let (ok, _, err) = ticketing(&first, &["export", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let user = records(&file).remove(0);
    let uid = user["record"]["id"].as_u64().unwrap();

    // Event 7: row A of the stalls has one seat (ticket 100), the floor one
    // standing place (ticket 101).
    let event = json!({"kind": "event", "record": {"id": 7, "name": "Gala", "venue": "Hall", "starts_at": 1_900_000_000_000i64, "on_sale_at": null, "organizer": uid, "queue": false, "sections": [
        {"name": "Stalls", "price": 2500, "layout": {"Rows": [{"label": "A", "seats": 1}]}},
        {"name": "Floor", "price": 2500, "layout": {"Standing": 1}}
    ], "first_seat": 100, "created_at": 0}});
    let seated = json!({"section": "Stalls", "row": "A", "number": 1});
    let standing = json!({"section": "Floor", "row": null, "number": null});
    let ticket = |id: u64, seat: &Value, version: u64| json!({"kind": "ticket", "record": {"id": id, "title": "Gala", "price": 2500, "date": null, "seller": uid, "version": version, "status": "Available", "order_id": null, "event_id": 7, "seat": seat}});
    let order = json!({"kind": "order", "record": {"id": 102, "buyer": uid, "tickets": [{"id": 101, "title": "Gala", "price": 2500, "date": null, "version": 1, "event_id": 7, "seat": standing}], "status": "Cancelled", "expires_at": 0, "version": 1, "created_at": 0, "cancel_reason": "Buyer", "payment": null}});
    let wanted = vec![
        user,
        event,
        ticket(100, &seated, 0),
        ticket(101, &standing, 2),
        order,
    ];
    let header =
        json!({"format": "ticketing-export", "version": 3, "exported_at": "2026-01-01T00:00:00Z"});
    let lines = std::iter::once(&header).chain(&wanted);
    let data = dir.path().join("data");
    assert_eq!(
        import_then_export(dir.path(), "seats.jsonl", lines),
        wanted,
        "the export gives back what was imported"
    );

    let app = App::start(Settings::for_tests(&data, 600)).await.unwrap();
    let base = format!("http://{}", app.addr());
    let (s, t) = call(
        &c,
        "GET",
        format!("{base}/api/tickets/{:016x}", 100),
        None,
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (&t["eventId"], &t["seat"]),
        (&json!("0000000000000007"), &seated)
    );
    let (_, t) = call(
        &c,
        "GET",
        format!("{base}/api/tickets/{:016x}", 101),
        None,
        None,
    )
    .await;
    assert_eq!(
        (&t["eventId"], &t["seat"]),
        (&json!("0000000000000007"), &standing)
    );
    let (s, session) = call(
        &c,
        "POST",
        format!("{base}/api/users/signin"),
        None,
        Some(signup),
    )
    .await;
    assert_eq!(s, 200);
    let token = session["token"].as_str().unwrap();
    let (_, o) = call(
        &c,
        "GET",
        format!("{base}/api/orders/{:016x}", 102),
        Some(token),
        None,
    )
    .await;
    assert_eq!(o["status"], "cancelled");
    assert_eq!(
        (&o["ticket"]["eventId"], &o["ticket"]["seat"]),
        (&json!("0000000000000007"), &standing)
    );
    app.shutdown().await;
}

/// Waiting-room entries and draws round-trip through export and import, a
/// restored server serves the same entries, and import refuses a place
/// given twice or an entry of an event without a queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_entries_and_draws_survive_export_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first");
    let app = App::start(Settings::for_tests(&first, 600)).await.unwrap();
    let c = reqwest::Client::new();
    let base = format!("http://{}", app.addr());
    let mut tokens = Vec::new();
    for i in 0..3 {
        let body = json!({"email": format!("q{i}@example.com"), "password": "password1"});
        let (s, u) = call(
            &c,
            "POST",
            format!("{base}/api/users/signup"),
            None,
            Some(body),
        )
        .await;
        assert_eq!(s, 201);
        tokens.push(u["token"].as_str().unwrap().to_owned());
    }
    let event = json!({"name": "Q", "startsAt": "2031-01-01T00:00:00Z", "onSaleAt": "2026-01-01T00:00:00Z",
        "queue": true, "sections": [{"name": "F", "price": 5, "capacity": 3}]});
    let (s, e) = call(
        &c,
        "POST",
        format!("{base}/api/events"),
        Some(&tokens[0]),
        Some(event),
    )
    .await;
    assert_eq!(s, 201);
    let queue = format!("{base}/api/events/{}/queue", e["id"].as_str().unwrap());
    for t in &tokens[1..] {
        let (s, _) = call(&c, "POST", queue.clone(), Some(t), None).await;
        assert_eq!(s, 200);
    }
    let mut before = Vec::new();
    for t in &tokens[1..] {
        before.push(call(&c, "GET", queue.clone(), Some(t), None).await.1);
    }
    app.shutdown().await;

    let file = dir.path().join("first.jsonl");
    let (ok, _, err) = ticketing(&first, &["export", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    let exported = records(&file);
    let kinds = |kind: &str| exported.iter().filter(|r| r["kind"] == kind).count();
    assert_eq!((kinds("entry"), kinds("draw")), (2, 1));

    let second = dir.path().join("second");
    let (ok, said, err) = ticketing(&second, &["import", file.to_str().unwrap()]);
    assert!(ok && said.contains("2 queue entries"), "{said} {err}");
    let again = dir.path().join("second.jsonl");
    let (ok, _, err) = ticketing(&second, &["export", again.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(records(&again), exported, "the same records");
    let (ok, said, err) = ticketing(&second, &["check"]);
    assert!(ok, "{said} {err}");
    let app = App::start(Settings::for_tests(&second, 600)).await.unwrap();
    let base = format!("http://{}", app.addr());
    let queue = queue.replace(queue.split("/api/").next().unwrap(), &base);
    for (i, want) in (1..3).zip(&before) {
        // Sessions are the server's (its secret): sign in afresh.
        let body = json!({"email": format!("q{i}@example.com"), "password": "password1"});
        let (_, u) = call(
            &c,
            "POST",
            format!("{base}/api/users/signin"),
            None,
            Some(body),
        )
        .await;
        let t = u["token"].as_str().unwrap();
        let (s, got) = call(&c, "GET", queue.clone(), Some(t), None).await;
        assert_eq!((s, &got), (200, want));
    }
    app.shutdown().await;

    // A place given twice, and an entry of an event with no queue.
    let header = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let broken = |edit: &dyn Fn(&mut Vec<Value>)| {
        let mut recs = exported.clone();
        edit(&mut recs);
        let text: Vec<String> = std::iter::once(header.clone())
            .chain(recs.iter().map(Value::to_string))
            .collect();
        let path = dir.path().join("broken.jsonl");
        std::fs::write(&path, text.join("\n")).unwrap();
        let target = tempfile::tempdir().unwrap();
        let (ok, _, err) = ticketing(target.path(), &["import", path.to_str().unwrap()]);
        assert!(!ok, "imported a broken file");
        err
    };
    let err = broken(&|recs| {
        let places: Vec<usize> = (0..recs.len())
            .filter(|&i| recs[i]["kind"] == "entry")
            .collect();
        let p = recs[places[0]]["record"]["place"].clone();
        recs[places[1]]["record"]["place"] = p;
    });
    assert!(err.contains("given twice"), "{err}");
    let err = broken(&|recs| {
        for r in recs.iter_mut().filter(|r| r["kind"] == "event") {
            r["record"]["queue"] = json!(false);
        }
    });
    assert!(err.contains("has no queue"), "{err}");
}
