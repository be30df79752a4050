//! The store itself: records round-trip and deletes delete, concurrent
//! batches share transactions, a refused batch leaves its group alone, the
//! store refuses writes while the database is down and takes them again by
//! itself, and a database of a newer schema is refused.

use std::time::Duration;

use ticketing::domain::{
    EventDate, EventId, Layout, Order, OrderId, Section, SessionId, Ticket, TicketId, Timestamp,
    UserId,
};
use ticketing::storage::{PgStore, StorageError, Store, Write};

use crate::postgres::{connect, PgCluster};
use crate::records::{
    assert_same, commit_all, event, every_kind, expected, price, spare, title, user, user_ids,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_kind_round_trips_and_deletes_delete() {
    let url = PgCluster::shared().fresh_database().await;
    let store = PgStore::open(&url).await.unwrap();
    let batches = every_kind();
    for outcome in commit_all(&store, batches.clone()).await {
        outcome.unwrap();
    }
    let want = expected(&batches);
    let loaded = store.load().await.unwrap();
    assert_same(&loaded, &want);
    assert_eq!(loaded.max_id, 60, "the revoked session's id is the largest");
    let secret = store.jwt_secret().await.unwrap();
    assert_eq!(secret.len(), 32);
    store.close().unwrap();
    drop(store);

    // Reopened: the same records and secret; then the deletes.
    let store = PgStore::open(&url).await.unwrap();
    assert_same(&store.load().await.unwrap(), &want);
    assert_eq!(store.jwt_secret().await.unwrap(), secret);
    store
        .commit(vec![
            Write::DeleteTicket(TicketId(31)),
            Write::ForgetSession(SessionId(60)),
            Write::ForgetLine {
                event: EventId(20),
                users: vec![UserId(10), UserId(11)],
            },
            Write::DeleteEvent {
                id: EventId(20),
                first_seat: TicketId(21),
                seats: 5,
            },
        ])
        .await
        .unwrap();
    let after = store.load().await.unwrap();
    assert!(after.events.is_empty() && after.entries.is_empty() && after.draws.is_empty());
    assert!(after.revoked.is_empty());
    let ids: Vec<u64> = after.tickets.iter().map(|t| t.id.0).collect();
    assert_eq!(ids, vec![30]);
    assert_eq!(after.orders, want.orders, "orders outlive their tickets");
    store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_batches_share_transactions() {
    let url = PgCluster::shared().fresh_database().await;
    let store = PgStore::open(&url).await.unwrap();
    let batches: Vec<Vec<Write>> = (0..300)
        .map(|i| vec![Write::User(user(1000 + i, &format!("u{i}@example.com")))])
        .collect();
    for outcome in commit_all(&store, batches).await {
        outcome.unwrap();
    }
    let stats = store.stats();
    assert_eq!(stats.batches, 300);
    assert!(
        stats.groups <= 30,
        "300 concurrent batches took {} transactions",
        stats.groups
    );
    assert_eq!(store.load().await.unwrap().users.len(), 300);
    store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_batch_does_not_take_its_group_down_and_a_big_event_fits_one_batch() {
    let url = PgCluster::shared().fresh_database().await;
    let store = PgStore::open(&url).await.unwrap();
    let (small, seats) = event();
    let spare = spare();
    let mut setup = vec![Write::Event(small), Write::Ticket(spare)];
    setup.extend(seats.iter().cloned().map(Write::Ticket));
    let users = every_kind().swap_remove(0);
    for outcome in commit_all(&store, vec![users, setup]).await {
        outcome.unwrap();
    }
    // A 100,000-seat event as one batch keeps the committer busy while
    // three more batches queue behind it, so they make one group.
    let (mut big, seats) = event();
    big.id = EventId(100_000);
    big.first_seat = TicketId(100_001);
    big.sections = vec![Section {
        name: "Floor".into(),
        price: price(500),
        layout: Layout::Standing(100_000),
    }];
    let mut seat_writes = vec![Write::Event(big)];
    seat_writes.extend((0..100_000u64).map(|i| {
        let mut t = seats[3].clone();
        t.id = TicketId(100_001 + i);
        t.event_id = Some(EventId(100_000));
        Write::Ticket(t)
    }));
    let ticket_31 = |order: u64| {
        let mut t = crate::records::spare();
        t.version = 1;
        Order::hold(
            OrderId(order),
            UserId(10),
            vec![t.snapshot()],
            Timestamp(0),
            Duration::from_secs(60),
        )
    };
    let outcomes = commit_all(
        &store,
        vec![
            seat_writes,
            vec![Write::User(user(12, "carol@example.com"))],
            // Two live orders of one ticket: the partial unique index refuses it.
            vec![Write::Order(ticket_31(70)), Write::Order(ticket_31(71))],
            vec![Write::User(user(13, "dan@example.com"))],
        ],
    )
    .await;
    outcomes[0].as_ref().unwrap();
    outcomes[1].as_ref().unwrap();
    assert!(
        matches!(outcomes[2], Err(StorageError::Unavailable(_))),
        "{:?}",
        outcomes[2]
    );
    outcomes[3].as_ref().unwrap();
    assert!(store.is_writable());
    let loaded = store.load().await.unwrap();
    let users: Vec<u64> = loaded.users.iter().map(|u| u.id.0).collect();
    assert_eq!(users, vec![10, 11, 12, 13]);
    assert!(loaded.orders.is_empty(), "nothing of the refused batch");
    assert_eq!(loaded.tickets.len(), 5 + 1 + 100_000);
    assert_eq!(loaded.events.len(), 2);
    store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_are_refused_while_the_database_is_down_and_resume_by_themselves() {
    let pg = PgCluster::private();
    let store = PgStore::open(&pg.fresh_database().await).await.unwrap();
    store
        .commit(vec![Write::User(user(1, "a@example.com"))])
        .await
        .unwrap();
    pg.stop();
    let refused = store
        .commit(vec![Write::User(user(2, "b@example.com"))])
        .await;
    assert!(
        matches!(refused, Err(StorageError::Unavailable(_))),
        "{refused:?}"
    );
    assert!(!store.is_writable());
    let early = store
        .commit(vec![Write::User(user(3, "c@example.com"))])
        .await;
    assert!(
        matches!(early, Err(StorageError::Unavailable(_))),
        "{early:?}"
    );
    pg.start();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !store.is_writable() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not writable 10 s after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store
        .commit(vec![Write::User(user(4, "d@example.com"))])
        .await
        .unwrap();
    let users = user_ids(&store).await;
    assert_eq!(users, vec![1, 4]);
    store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_a_newer_schema_is_refused() {
    let url = PgCluster::shared().fresh_database().await;
    PgStore::open(&url).await.unwrap().close().unwrap();
    connect(&url)
        .await
        .batch_execute(
            "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
         VALUES (99, 'future', '2030-01-01T00:00:00Z', '0')",
        )
        .await
        .unwrap();
    match PgStore::open(&url).await {
        Err(StorageError::Incompatible(why)) => assert!(why.contains("99"), "{why}"),
        Err(other) => panic!("not Incompatible: {other}"),
        Ok(_) => panic!("a newer database was opened"),
    }
}

/// One writer per database: while a store holds it, a second one opening
/// the same database waits for the writer lock and is refused; once the
/// first closes, the lock is free again. (This lock is also what makes a
/// server restarted after kill -9 wait for the old session, and a COMMIT
/// it may still finish, before it reads anything.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_store_on_the_same_database_is_refused_until_the_first_closes() {
    let url = PgCluster::shared().fresh_database().await;
    let first = PgStore::open(&url).await.unwrap();
    let started = std::time::Instant::now();
    let second = PgStore::open(&url).await;
    match second {
        Err(StorageError::Unavailable(why)) => {
            assert!(why.contains("another server"), "{why}");
            assert!(
                started.elapsed() >= Duration::from_secs(5),
                "{:?}",
                started.elapsed()
            );
        }
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a second writer opened the database"),
    }
    first.close().unwrap();
    drop(first);
    let again = PgStore::open(&url).await.unwrap();
    again.close().unwrap();
}

/// A batch that releases tickets from lapsed orders and gives them to new
/// ones (the next reservation of an expired hold) commits: the rows that
/// stop being live are written before the new live ones, whatever order
/// the batch's records come in. With 24 tickets in one batch, writing the
/// rows in any other order meets the one-live-order index (a CI run was
/// refused so, once in a while).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_hands_tickets_from_lapsed_orders_to_new_ones_commits() {
    use ticketing::domain::{CancelReason, OrderStatus, TicketStatus};
    let url = PgCluster::shared().fresh_database().await;
    let store = PgStore::open(&url).await.unwrap();
    let users = vec![
        Write::User(user(10, "buyer@example.com")),
        Write::User(user(11, "seller@example.com")),
    ];
    store.commit(users).await.unwrap();
    let held_by = |ticket: u64, order: u64, version: u64| {
        let mut t = Ticket::new(
            TicketId(ticket),
            UserId(11),
            title("Held"),
            price(100),
            EventDate(None),
        );
        t.version = version;
        t.status = TicketStatus::Reserved;
        t.order_id = Some(OrderId(order));
        let o = Order::hold(
            OrderId(order),
            UserId(10),
            vec![t.snapshot()],
            Timestamp(1_767_225_000_000 + order as i64),
            Duration::from_secs(60),
        );
        (t, o)
    };
    let tickets = 1..=24u64;
    let first: Vec<Write> = tickets
        .clone()
        .flat_map(|n| {
            let (t, o) = held_by(n, 100 + n, 1);
            [Write::Ticket(t), Write::Order(o)]
        })
        .collect();
    store.commit(first).await.unwrap();
    let handover: Vec<Write> = tickets
        .flat_map(|n| {
            let (_, old) = held_by(n, 100 + n, 1);
            let lapsed = Order {
                status: OrderStatus::Cancelled,
                cancel_reason: Some(CancelReason::Expired),
                version: 1,
                ..old
            };
            let (t, new) = held_by(n, 200 + n, 3);
            [Write::Order(lapsed), Write::Order(new), Write::Ticket(t)]
        })
        .collect();
    store.commit(handover).await.unwrap();
    let loaded = store.load().await.unwrap();
    let live: Vec<u64> = (loaded.orders.iter())
        .filter(|o| o.status.is_live())
        .map(|o| o.id.0)
        .collect();
    assert_eq!(live, (201..=224).collect::<Vec<_>>());
    store.close().unwrap();
}
