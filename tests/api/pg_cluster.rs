//! The PostgreSQL harness itself (`tests/support/postgres.rs`): the shared
//! cluster hands out databases of their own, a private one stops and starts
//! on the same socket keeping what was committed, and this target runs the
//! same test modules as the sled one.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::postgres::{connect, PgCluster};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_cluster_gives_each_server_a_database_of_its_own() {
    let started = Instant::now();
    let cluster = PgCluster::shared();
    eprintln!("shared cluster ready after {:?}", started.elapsed());
    let created = Instant::now();
    let first = cluster.fresh_database().await;
    let again = Instant::now();
    let second = cluster.fresh_database().await;
    eprintln!(
        "fresh database in {:?} (the cluster's first: {:?})",
        again.elapsed(),
        again - created
    );
    assert_ne!(first, second);

    let a = connect(&first).await;
    let one: i32 = a.query_one("select 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    a.batch_execute("create table mine (x int); insert into mine values (7)")
        .await
        .unwrap();
    let b = connect(&second).await;
    let err = b.query("select x from mine", &[]).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE),
        "{err}"
    );
    let settings = a
        .query_one(
            "select current_setting('fsync'), current_setting('synchronous_commit')",
            &[],
        )
        .await
        .unwrap();
    let durable: (String, String) = (settings.get(0), settings.get(1));
    assert_eq!(
        durable,
        ("on".into(), "on".into()),
        "tests rely on durability"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_cluster_stops_and_starts_keeping_what_was_committed() {
    let cluster = PgCluster::private();
    let url = cluster.fresh_database().await;
    connect(&url)
        .await
        .batch_execute("create table kept (x int); insert into kept values (42)")
        .await
        .unwrap();

    let stopping = Instant::now();
    cluster.stop();
    eprintln!("fast shutdown in {:?}", stopping.elapsed());
    let refused = tokio_postgres::connect(&url, tokio_postgres::NoTls).await;
    assert!(refused.is_err(), "connected to a stopped cluster");

    let starting = Instant::now();
    cluster.start();
    eprintln!("start again in {:?}", starting.elapsed());
    let x: i32 = connect(&url)
        .await
        .query_one("select x from kept", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(x, 42);
}

/// The `mod` lines of one of the roots, less those of one store alone.
fn test_modules(root: &str, one_store_only: &[&str]) -> BTreeSet<String> {
    let path = format!("{}/tests/api/{root}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    source
        .lines()
        .filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';'))
        .filter(|m| !one_store_only.contains(m))
        .map(str::to_owned)
        .collect()
}

#[test]
fn both_targets_compile_the_same_test_modules() {
    let sled = test_modules("main.rs", &["data_dir"]);
    let postgres = test_modules("on_postgres.rs", &["pg_cluster", "pg_constraints"]);
    assert!(sled.contains("orders"), "no modules read: {sled:?}");
    assert_eq!(
        sled, postgres,
        "tests/api/main.rs and on_postgres.rs must list the same modules \
         (except those about one store)"
    );
}
