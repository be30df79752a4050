//! Moving between stores: data made over HTTP on a sled server (users,
//! tickets sold on their own, an event whose seats are held, paid and
//! cancelled in orders of several seats, a queued event with entries and
//! its draw) is exported, imported into an empty PostgreSQL database and
//! served the same from there; exported again from PostgreSQL, imported
//! into a fresh sled directory and served the same again. Import into a
//! PostgreSQL database that holds data is refused; `check` passes there.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::child::{spawn_server, Server};
use crate::client::{Api, Auth};
use crate::postgres::PgCluster;

/// Every user's password.
const PASSWORD: &str = "password1";

/// `ticketing <args>` on the store `env` names: success, stdout, stderr.
fn ticketing(env: &[(&str, &str)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ticketing"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run ticketing");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sled_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![("TICKETING_STORAGE__PATH", dir.display().to_string())]
}

fn pg_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TICKETING_STORAGE__BACKEND", "postgres".into()),
        ("TICKETING_STORAGE__POSTGRES_URL", url.into()),
    ]
}

fn refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The server on the store `env` names (`data` is its sled directory, or
/// an unused one when the store is PostgreSQL).
fn serve(data: &Path, logs: &Path, env: &[(&'static str, String)]) -> Server {
    spawn_server(data, logs, 600, &refs(env))
}

/// Stops `server` with SIGTERM: it must exit cleanly within 30 s.
async fn stop(mut server: Server) {
    server.signal("-TERM");
    assert!(server
        .wait_exit(std::time::Duration::from_secs(30))
        .await
        .success());
}

/// Exports the sled store in `data` to `file` and imports that into a
/// fresh PostgreSQL database: the database's environment, and what the
/// import said.
async fn sled_into_postgres(data: &Path, file: &str) -> (Vec<(&'static str, String)>, String) {
    let (ok, said, err) = ticketing(&refs(&sled_env(data)), &["export", file]);
    assert!(ok, "export from sled: {said}{err}");
    let url = PgCluster::shared().fresh_database().await;
    let pg = pg_env(&url);
    let (ok, said, err) = ticketing(&refs(&pg), &["import", file]);
    assert!(ok, "import into PostgreSQL: {said}{err}");
    (pg, said)
}

/// Makes the data on a fresh server: the users' emails and what each
/// later view needs (the events' ids).
async fn make_data(api: &Api) -> (Vec<String>, Vec<String>) {
    let users = [
        api.signup_as("organiser@example.com", PASSWORD).await,
        api.signup_as("buyer@example.com", PASSWORD).await,
        api.signup_as("q1@example.com", PASSWORD).await,
        api.signup_as("q2@example.com", PASSWORD).await,
    ];
    let [organiser, buyer, q1, q2] = &users;
    // Tickets on their own: one sold, one held then cancelled, one free.
    let sold = api.create_ticket(organiser, "Sold", json!(12.5)).await;
    let order = api.reserve(buyer, &crate::client::id_of(&sold)).await;
    api.pay(buyer, &crate::client::id_of(&order)).await;
    let dropped = api.create_ticket(organiser, "Dropped", json!(3)).await;
    let order = api.reserve(buyer, &crate::client::id_of(&dropped)).await;
    api.cancel(buyer, &crate::client::id_of(&order)).await;
    api.create_ticket(organiser, "Free", json!("7.00")).await;
    // An event of seats: three seats held, two paid, two cancelled.
    let event = json!({"name": "Gala", "venue": "Hall", "startsAt": "2031-06-01T19:00:00Z",
    "sections": [
        {"name": "Stalls", "price": 25, "rows": [{"label": "A", "seats": 4}, {"label": "B", "seats": 4}]},
        {"name": "Floor", "price": 10, "capacity": 5}
    ]});
    let gala = api
        .post("/api/events", Auth::Bearer(organiser), event)
        .await
        .json(201);
    let gala = crate::client::id_of(&gala);
    let mut orders = Vec::new();
    for (quantity, section) in [(3, "Stalls"), (2, "Stalls"), (2, "Floor")] {
        let body = json!({"eventId": gala, "quantity": quantity, "section": section});
        let o = api
            .post("/api/orders", Auth::Bearer(buyer), body)
            .await
            .json(201);
        orders.push(crate::client::id_of(&o));
    }
    api.pay(buyer, &orders[1]).await;
    api.cancel(buyer, &orders[2]).await;
    // A queued event already on sale: two entries, placed by its draw.
    let queued = json!({"name": "Queue", "startsAt": "2031-01-01T00:00:00Z",
        "onSaleAt": "2026-01-01T00:00:00Z", "queue": true,
        "sections": [{"name": "F", "price": 5, "capacity": 3}]});
    let queued = api
        .post("/api/events", Auth::Bearer(organiser), queued)
        .await
        .json(201);
    let queued = crate::client::id_of(&queued);
    let path = format!("/api/events/{queued}/queue");
    for u in [q1, q2] {
        api.post(&path, Auth::Bearer(u), Value::Null)
            .await
            .expect(200);
    }
    // Both admitted before the stop (the line admits on its next tick):
    // otherwise the next server would admit one, and the stores' exports
    // would differ by that.
    for u in [q1, q2] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let entry = api.get(&path, Auth::Bearer(u)).await.json(200);
            if entry["status"] == json!("admitted") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never admitted: {entry}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    (users.map(|u| u.email).to_vec(), vec![gala, queued])
}

/// Everything the users can see, signed in afresh with their passwords
/// (sessions are each server's own).
async fn view(api: &Api, emails: &[String], events: &[String]) -> Value {
    let mut seen = json!({
        "tickets": api.get("/api/tickets?status=any&limit=1000", Auth::None).await.json(200),
        "events": api.get("/api/events", Auth::None).await.json(200),
    });
    for e in events {
        let seats = api.get(&format!("/api/events/{e}/seats"), Auth::None).await;
        seen[format!("seats {e}")] = seats.json(200);
    }
    for email in emails {
        let user = api.signin(email, PASSWORD).await;
        let me = Auth::Bearer(&user);
        seen[format!("orders of {email}")] = api.get("/api/orders", me).await.json(200);
        let queue = api
            .get(&format!("/api/events/{}/queue", events[1]), me)
            .await;
        let mut entry = queue.body.clone();
        // A pass is signed with the store's own secret, which an export
        // does not carry: the same pass, signed anew after a move.
        if let Some(pass) = entry.get_mut("pass").filter(|p| p.is_string()) {
            *pass = json!("a pass");
        }
        seen[format!("queue of {email}")] = json!([queue.status, entry]);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_moves_from_sled_to_postgres_and_back_served_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (first, logs) = (dir.path().join("first"), dir.path().join("logs"));
    std::fs::create_dir(&logs).unwrap();
    let server = serve(&first, &logs, &sled_env(&first));
    let (emails, events) = make_data(&server.api).await;
    let before = view(&server.api, &emails, &events).await;
    stop(server).await;

    // sled → PostgreSQL.
    let from_sled = dir.path().join("from-sled.jsonl");
    let from_sled = from_sled.to_str().unwrap();
    let (pg, said) = sled_into_postgres(&first, from_sled).await;
    assert!(
        said.contains("4 users") && said.contains("2 queue entries"),
        "{said}"
    );
    let (ok, said, err) = ticketing(&refs(&pg), &["check"]);
    assert!(ok, "check on PostgreSQL: {said}{err}");
    let (ok, _, err) = ticketing(&refs(&pg), &["import", from_sled]);
    assert!(!ok && err.contains("empty"), "a second import: {err}");
    let unused = dir.path().join("unused");
    let server = serve(&unused, &logs, &pg);
    assert_eq!(
        view(&server.api, &emails, &events).await,
        before,
        "on PostgreSQL"
    );
    stop(server).await;
    assert!(
        !unused.exists(),
        "the server on PostgreSQL made a sled directory"
    );

    // PostgreSQL → sled.
    let from_pg = dir.path().join("from-pg.jsonl");
    let from_pg = from_pg.to_str().unwrap();
    let (ok, said, err) = ticketing(&refs(&pg), &["export", from_pg]);
    assert!(ok, "export from PostgreSQL: {said}{err}");
    let body = |f: &str| -> Vec<String> {
        let text = std::fs::read_to_string(f).unwrap();
        text.lines().skip(1).map(str::to_owned).collect()
    };
    assert_eq!(body(from_pg), body(from_sled), "the same records both ways");
    let second = dir.path().join("second");
    let (ok, said, err) = ticketing(&refs(&sled_env(&second)), &["import", from_pg]);
    assert!(ok, "import into sled: {said}{err}");
    let server = serve(&second, &logs, &sled_env(&second));
    assert_eq!(
        view(&server.api, &emails, &events).await,
        before,
        "back on sled"
    );
}

/// An export bigger than one import batch (10,000 records) goes into
/// PostgreSQL whole: a held seat early in a 12,000-seat event, and its
/// order, land in different batches, and each batch must satisfy the
/// foreign keys on its own (orders are imported before tickets).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_many_batches_imports_into_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let (data, logs) = (dir.path().join("data"), dir.path().join("logs"));
    std::fs::create_dir(&logs).unwrap();
    let server = serve(&data, &logs, &sled_env(&data));
    let api = &server.api;
    let organiser = api.signup_as("big-organiser@example.com", PASSWORD).await;
    let buyer = api.signup_as("big-buyer@example.com", PASSWORD).await;
    let event = json!({"name": "Arena", "startsAt": "2031-06-01T19:00:00Z",
        "sections": [{"name": "Floor", "price": 10, "capacity": 12_000}]});
    let arena = api
        .post("/api/events", Auth::Bearer(&organiser), event)
        .await
        .json(201);
    let arena = crate::client::id_of(&arena);
    let body = json!({"eventId": arena, "quantity": 2});
    let held = api
        .post("/api/orders", Auth::Bearer(&buyer), body)
        .await
        .json(201);
    stop(server).await;
    let file = dir.path().join("big.jsonl");
    let file = file.to_str().unwrap();
    let (pg, said) = sled_into_postgres(&data, file).await;
    assert!(said.contains("12000 tickets"), "{said}");
    let unused = dir.path().join("unused");
    let server = serve(&unused, &logs, &pg);
    let order = server
        .api
        .get(
            &format!("/api/orders/{}", crate::client::id_of(&held)),
            Auth::Bearer(&server.api.signin("big-buyer@example.com", PASSWORD).await),
        )
        .await
        .json(200);
    assert_eq!(order["status"], json!("created"), "{order}");
}
