//! The server on PostgreSQL: a sale kept across a kill -9, exit 2 with a
//! clear message on a bad URL, and 503 (with the contract's body) while the
//! database is down, reads served from memory, writes taken again by itself.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::postgres::PgCluster;
use crate::{client, postgres_env, spawn_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_on_postgres_keeps_a_sale_across_a_restart() {
    let url = PgCluster::shared().fresh_database().await;
    let (data, logs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut s = spawn_on(&url, data.path(), logs.path());
    let seller = s.api.signup().await;
    let buyer = s.api.signup().await;
    let ticket = s
        .api
        .create_ticket(&seller, "On PostgreSQL", json!(12.5))
        .await;
    let tid = client::id_of(&ticket);
    let order = s.api.reserve(&buyer, &tid).await;
    let oid = client::id_of(&order);
    s.api.pay(&buyer, &oid).await;
    s.kill9();

    let s = spawn_on(&url, data.path(), logs.path());
    let t = s.api.ticket(&tid).await;
    assert_eq!(t["status"], "sold", "{t}");
    let o = s.api.order(&buyer, &oid).await;
    assert_eq!(o["status"], "complete", "{o}");
    s.api.signin(&buyer.email, &buyer.password).await;
    assert!(
        std::fs::read_dir(data.path()).unwrap().next().is_none(),
        "nothing written to the sled directory"
    );
}

#[test]
fn a_wrong_url_exits_2_with_a_clear_message() {
    let pg = PgCluster::shared();
    for (url, says) in [
        (pg.url("nosuch"), "database \"nosuch\" does not exist"),
        (
            "host=/nonexistent port=5432 user=x dbname=y".to_owned(),
            "cannot connect to PostgreSQL",
        ),
        (
            "postgres://[not a url".to_owned(),
            "not a connection string",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ticketing"))
            .env("TICKETING_SERVER__ADDR", "127.0.0.1:0")
            .envs(postgres_env(&url))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {stderr}");
        assert!(stderr.contains(says), "{url}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_503_while_postgres_is_down_and_recovers_by_itself() {
    let pg = PgCluster::private();
    let url = pg.fresh_database().await;
    let (data, logs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s = spawn_on(&url, data.path(), logs.path());
    let seller = s.api.signup().await;
    let before = s.api.create_ticket(&seller, "Before", json!(5)).await;
    pg.stop();
    let (status, body) = unchecked(
        s.api
            .request(
                reqwest::Method::POST,
                "/api/tickets",
                client::Auth::Bearer(&seller),
            )
            .json(&json!({"title": "During", "price": 5})),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(body["errors"][0]["message"].as_str().is_some(), "{body}");
    let (status, _) = unchecked(s.api.request(
        reqwest::Method::GET,
        "/healthz",
        client::Auth::None,
    ))
    .await;
    assert_eq!(status, 503);
    // Reads go on from memory.
    assert_eq!(
        s.api.ticket(&client::id_of(&before)).await["title"],
        "Before"
    );
    pg.start();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while unchecked(
        s.api
            .request(reqwest::Method::GET, "/healthz", client::Auth::None),
    )
    .await
    .0 != 200
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz not 200 within 10 s of PostgreSQL's return"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.api.create_ticket(&seller, "After", json!(5)).await;
}

/// Sends a request whose answer may be a 5xx: its status and JSON body.
async fn unchecked(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    let resp = request.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}
