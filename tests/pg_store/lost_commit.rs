//! A commit whose answer the network lost is settled by asking the
//! database for its transaction's fate, through a proxy that cuts the
//! connection right after forwarding a COMMIT.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use ticketing::storage::{PgStore, Store, Write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::postgres::{PgCluster, USER};
use crate::records::{user, user_ids};

/// A TCP proxy to the cluster's socket that, once armed, forwards the next
/// COMMIT to the server but cuts the client off before any answer, as a
/// network failure at the worst moment would. Returns its port.
async fn cutting_proxy(upstream: PathBuf, armed: Arc<AtomicBool>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::UnixStream::connect(&upstream).await else {
                continue;
            };
            let armed = armed.clone();
            tokio::spawn(async move {
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                let cut = Arc::new(AtomicBool::new(false));
                let cut_down = cut.clone();
                let down = tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n @ 1..) = from_server.read(&mut buf).await {
                        if cut_down.load(SeqCst) || to_client.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
                let mut buf = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                    let commit = buf[..n].windows(6).any(|w| w == b"COMMIT");
                    if commit && armed.swap(false, SeqCst) {
                        cut.store(true, SeqCst);
                        let _ = to_server.write_all(&buf[..n]).await;
                        down.abort();
                        // The server reads the COMMIT before it sees the end.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        return;
                    }
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                down.abort();
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_was_lost_is_settled_by_its_transaction_id() {
    let pg = PgCluster::shared();
    let direct = pg.fresh_database().await;
    let dbname = direct
        .rsplit("dbname=")
        .next()
        .expect("a dbname in the URL");
    let armed = Arc::new(AtomicBool::new(false));
    let port = cutting_proxy(pg.socket(), armed.clone()).await;
    let url = format!("host=127.0.0.1 port={port} user={USER} dbname={dbname}");
    let store = PgStore::open(&url).await.unwrap();
    store
        .commit(vec![Write::User(user(1, "a@example.com"))])
        .await
        .unwrap();
    armed.store(true, SeqCst);
    let outcome = store
        .commit(vec![Write::User(user(2, "b@example.com"))])
        .await;
    assert!(!armed.load(SeqCst), "the proxy cut a COMMIT");
    assert!(
        outcome.is_ok(),
        "committed, though its answer was lost: {outcome:?}"
    );
    let users = user_ids(&store).await;
    assert_eq!(users, vec![1, 2]);
    store
        .commit(vec![Write::User(user(3, "c@example.com"))])
        .await
        .unwrap();
    store.close().unwrap();
}
