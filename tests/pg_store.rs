//! The PostgreSQL store against a real PostgreSQL: a throwaway cluster per
//! test (initdb into a temp dir, a private socket, run as `nobody` when
//! root, since PostgreSQL refuses to run as root). Every record kind
//! round-trips; concurrent batches share transactions; a refused batch does
//! not take its group down; the store refuses writes while the database is
//! down and recovers by itself; a newer schema is refused; and the server
//! on PostgreSQL keeps a sale across a restart, or exits 2 on a bad URL.

#[path = "support/child.rs"]
mod child;
#[path = "api/client.rs"]
mod client;
#[path = "pg_store/mixed_load.rs"]
mod mixed_load;
#[path = "pg_store/outage.rs"]
mod outage;
#[path = "support/postgres.rs"]
mod postgres;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use ticketing::domain::line::{Draw, Entry, EntryStatus};
use ticketing::domain::{
    CancelReason, Email, Event, EventDate, EventId, Layout, Order, OrderId, OrderStatus,
    OrderTicket, Payment, PaymentId, PaymentRef, Price, Row, SeatPosition, Section, SessionId,
    Ticket, TicketId, TicketStatus, Timestamp, Title, User, UserId,
};
use ticketing::storage::{PgStore, Snapshot, StorageError, Store, Write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A PostgreSQL cluster of its own, stopped and removed when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl Cluster {
    fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                let mut found: Vec<PathBuf> = versions
                    .flatten()
                    .map(|v| v.path().join("bin"))
                    .filter(|b| b.join("initdb").exists())
                    .collect();
                found.sort();
                found.pop()
            })
            .expect("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sock")).unwrap();
        if is_root() {
            run(Command::new("chown").args(["-R", "nobody"]).arg(dir.path()));
        }
        let c = Cluster { dir, bin };
        c.pg(
            "initdb",
            &[
                "-D",
                &c.path("data"),
                "-U",
                "ticketing",
                "--auth=trust",
                "-N",
            ],
        );
        c.up();
        c
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// One of PostgreSQL's programs, to be run as `nobody` when root.
    fn program(&self, name: &str) -> Command {
        let exe = self.bin.join(name);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn pg(&self, name: &str, args: &[&str]) {
        run(self.program(name).args(args));
    }

    fn up(&self) {
        let opts = format!("-k {} -p 5432 -c listen_addresses=''", self.path("sock"));
        let (data, log) = (self.path("data"), self.path("log"));
        self.pg(
            "pg_ctl",
            &["-D", &data, "-o", &opts, "-l", &log, "-w", "start"],
        );
    }

    fn down(&self) {
        self.pg(
            "pg_ctl",
            &["-D", &self.path("data"), "-m", "fast", "-w", "stop"],
        );
    }

    fn url(&self, db: &str) -> String {
        format!(
            "host={} port=5432 user=ticketing dbname={db}",
            self.path("sock")
        )
    }

    /// A new, empty database; its URL.
    async fn database(&self, name: &str) -> String {
        sql(&self.url("postgres"), &format!("CREATE DATABASE {name}")).await;
        self.url(name)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.path("data");
        let _ = (self.program("pg_ctl"))
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run a PostgreSQL program");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `statement` on its own connection.
async fn sql(url: &str, statement: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client.batch_execute(statement).await.unwrap();
}

fn title(s: &str) -> Title {
    Title::parse(s).unwrap()
}

fn price(cents: u64) -> Price {
    Price::from_cents(cents).unwrap()
}

fn user(id: u64, email: &str) -> User {
    User {
        id: UserId(id),
        email: Email::parse(email).unwrap(),
        password_hash: format!("$2b$04$hash-of-{id}"),
        created_at: Timestamp(1_767_225_600_123 + id as i64),
    }
}

fn seat(section: &str, row: Option<&str>, number: Option<u32>) -> Option<SeatPosition> {
    Some(SeatPosition {
        section: section.into(),
        row: row.map(Into::into),
        number,
    })
}

/// An event of five seats (ids 21 to 25): two rows and a standing section.
fn event() -> (Event, Vec<Ticket>) {
    let event = Event {
        id: EventId(20),
        name: title("Gala 🎻"),
        venue: Some("Hall".into()),
        starts_at: Timestamp(1_900_000_000_500),
        on_sale_at: Some(Timestamp(1_800_000_000_000)),
        organizer: UserId(10),
        queue: true,
        sections: vec![
            Section {
                name: "Stalls".into(),
                price: price(2500),
                layout: Layout::Rows(vec![
                    Row {
                        label: "A".into(),
                        seats: 2,
                    },
                    Row {
                        label: "B".into(),
                        seats: 1,
                    },
                ]),
            },
            Section {
                name: "Floor".into(),
                price: price(1000),
                layout: Layout::Standing(2),
            },
        ],
        first_seat: TicketId(21),
        created_at: Timestamp(1_767_225_600_000),
    };
    let places = [
        seat("Stalls", Some("A"), Some(1)),
        seat("Stalls", Some("A"), Some(2)),
        seat("Stalls", Some("B"), Some(1)),
        seat("Floor", None, None),
        seat("Floor", None, None),
    ];
    let seats = (places.into_iter().enumerate())
        .map(|(i, place)| {
            let mut t = Ticket::new(
                TicketId(21 + i as u64),
                UserId(10),
                event.name.clone(),
                price(if i < 3 { 2500 } else { 1000 }),
                EventDate(Some(event.starts_at)),
            );
            t.event_id = Some(event.id);
            t.seat = place;
            t
        })
        .collect();
    (event, seats)
}

/// Every kind of record, in batches as the server would commit them.
fn every_kind() -> Vec<Vec<Write>> {
    let (event, mut seats) = event();
    let mut standalone = Ticket::new(
        TicketId(30),
        UserId(10),
        title("Solo"),
        price(1250),
        EventDate(None),
    );
    let spare = Ticket::new(
        TicketId(31),
        UserId(11),
        title("Spare"),
        price(1),
        EventDate(None),
    );
    // Ticket 30: sold by order 40, paid by payment 50.
    standalone.version = 2;
    standalone.status = TicketStatus::Sold;
    standalone.order_id = Some(OrderId(40));
    let paid = Order {
        id: OrderId(40),
        buyer: UserId(11),
        tickets: vec![OrderTicket {
            version: 2,
            ..standalone.snapshot()
        }],
        status: OrderStatus::Complete,
        expires_at: Timestamp(1_767_225_700_000),
        version: 1,
        created_at: Timestamp(1_767_225_640_000),
        cancel_reason: None,
        payment: Some(PaymentRef {
            id: PaymentId(50),
            paid_at: Timestamp(1_767_225_650_001),
        }),
    };
    let payment = Payment {
        id: PaymentId(50),
        order_id: OrderId(40),
        charge_id: "ch_123".into(),
        amount: price(1250),
        created_at: Timestamp(1_767_225_650_001),
    };
    // Seats 21 and 22 held by order 41; seat 23's hold (order 42) lapsed.
    for s in &mut seats[..2] {
        s.version = 1;
        s.status = TicketStatus::Reserved;
        s.order_id = Some(OrderId(41));
    }
    seats[2].version = 2;
    let held = Order::hold(
        OrderId(41),
        UserId(11),
        vec![seats[0].snapshot(), seats[1].snapshot()],
        Timestamp(1_767_225_660_000),
        Duration::from_secs(600),
    );
    let lapsed = Order {
        status: OrderStatus::Cancelled,
        cancel_reason: Some(CancelReason::Expired),
        version: 1,
        ..Order::hold(
            OrderId(42),
            UserId(10),
            vec![seats[2].snapshot()],
            Timestamp(1_767_225_000_000),
            Duration::from_secs(60),
        )
    };
    let entries = [
        Entry {
            event: EventId(20),
            user: UserId(11),
            joined_at: Timestamp(1_767_225_600_500),
            place: Some(1),
            status: EntryStatus::Admitted,
            admitted_at: Some(Timestamp(1_800_000_000_001)),
            pass_expires_at: Some(Timestamp(1_800_000_300_001)),
            order: Some(OrderId(41)),
        },
        Entry {
            event: EventId(20),
            user: UserId(10),
            joined_at: Timestamp(1_767_225_600_600),
            place: None,
            status: EntryStatus::Waiting,
            admitted_at: None,
            pass_expires_at: None,
            order: None,
        },
    ];
    let mut with_event = vec![Write::Event(event)];
    with_event.extend(seats.into_iter().map(Write::Ticket));
    vec![
        vec![
            Write::User(user(10, "Ann@Example.com")),
            Write::User(user(11, "bob@example.org")),
        ],
        with_event,
        vec![Write::Ticket(standalone), Write::Ticket(spare)],
        vec![Write::Order(paid), Write::Payment(payment)],
        vec![Write::Order(held), Write::Order(lapsed)],
        vec![Write::RevokeSession(
            SessionId(60),
            Timestamp(1_767_300_000_000),
        )],
        entries.into_iter().map(Write::Entry).collect(),
        vec![Write::Draw(Draw {
            event: EventId(20),
            seed: u64::MAX - 5,
            at: Timestamp(1_800_000_000_000),
            placed: 1,
        })],
    ]
}

/// What loading should give after `batches`: every put record, by kind,
/// in key order.
fn expected(batches: &[Vec<Write>]) -> Snapshot {
    let mut s = Snapshot::default();
    for w in batches.iter().flatten() {
        match w.clone() {
            Write::User(u) => s.users.push(u),
            Write::Event(e) => s.events.push(e),
            Write::Entry(e) => s.entries.push(e),
            Write::Draw(d) => s.draws.push(d),
            Write::Ticket(t) => s.tickets.push(t),
            Write::Order(o) => s.orders.push(o),
            Write::Payment(p) => s.payments.push(p),
            Write::RevokeSession(id, exp) => s.revoked.push((id, exp)),
            other => panic!("not a put: {other:?}"),
        }
    }
    s.users.sort_by_key(|u| u.id);
    s.tickets.sort_by_key(|t| t.id);
    s.orders.sort_by_key(|o| o.id);
    s.entries.sort_by_key(|e| (e.event, e.user));
    s
}

fn assert_same(loaded: &Snapshot, want: &Snapshot) {
    assert_eq!(loaded.users, want.users);
    assert_eq!(loaded.events, want.events);
    assert_eq!(loaded.entries, want.entries);
    assert_eq!(loaded.draws, want.draws);
    assert_eq!(loaded.tickets, want.tickets);
    assert_eq!(loaded.orders, want.orders);
    assert_eq!(loaded.payments, want.payments);
    assert_eq!(loaded.revoked, want.revoked);
}

/// Commits every batch at once (each takes its place when `commit` is
/// called) and returns each outcome.
async fn commit_all(store: &PgStore, batches: Vec<Vec<Write>>) -> Vec<Result<(), StorageError>> {
    let pending: Vec<_> = batches.into_iter().map(|b| store.commit(b)).collect();
    join_all(pending).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_kind_round_trips_and_deletes_delete() {
    let pg = Cluster::start();
    let url = pg.database("roundtrip").await;
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
    let pg = Cluster::start();
    let store = PgStore::open(&pg.database("groups").await).await.unwrap();
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
    let pg = Cluster::start();
    let store = PgStore::open(&pg.database("refusal").await).await.unwrap();
    let (small, seats) = event();
    let spare = Ticket::new(
        TicketId(31),
        UserId(11),
        title("Spare"),
        price(1),
        EventDate(None),
    );
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
        let mut t = Ticket::new(
            TicketId(31),
            UserId(11),
            title("Spare"),
            price(1),
            EventDate(None),
        );
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
    let pg = Cluster::start();
    let store = PgStore::open(&pg.database("faults").await).await.unwrap();
    store
        .commit(vec![Write::User(user(1, "a@example.com"))])
        .await
        .unwrap();
    pg.down();
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
    pg.up();
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
    let users: Vec<u64> = store
        .load()
        .await
        .unwrap()
        .users
        .iter()
        .map(|u| u.id.0)
        .collect();
    assert_eq!(users, vec![1, 4]);
    store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_a_newer_schema_is_refused() {
    let pg = Cluster::start();
    let url = pg.database("newer").await;
    PgStore::open(&url).await.unwrap().close().unwrap();
    sql(
        &url,
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
         VALUES (99, 'future', '2030-01-01T00:00:00Z', '0')",
    )
    .await;
    match PgStore::open(&url).await {
        Err(StorageError::Incompatible(why)) => assert!(why.contains("99"), "{why}"),
        Err(other) => panic!("not Incompatible: {other}"),
        Ok(_) => panic!("a newer database was opened"),
    }
}

fn postgres_env(url: &str) -> [(&'static str, String); 2] {
    [
        ("TICKETING_STORAGE__BACKEND", "postgres".to_owned()),
        ("TICKETING_STORAGE__POSTGRES_URL", url.to_owned()),
    ]
}

fn spawn_on(url: &str, data: &Path, logs: &Path) -> child::Server {
    let env = postgres_env(url);
    let extra: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    child::spawn_server(data, logs, 600, &extra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_on_postgres_keeps_a_sale_across_a_restart() {
    let pg = Cluster::start();
    let url = pg.database("server").await;
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
    let pg = Cluster::start();
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
    let pg = Cluster::start();
    pg.database("lost").await;
    let armed = Arc::new(AtomicBool::new(false));
    let socket = pg.dir.path().join("sock/.s.PGSQL.5432");
    let port = cutting_proxy(socket, armed.clone()).await;
    let url = format!("host=127.0.0.1 port={port} user=ticketing dbname=lost");
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
    let users: Vec<u64> = store
        .load()
        .await
        .unwrap()
        .users
        .iter()
        .map(|u| u.id.0)
        .collect();
    assert_eq!(users, vec![1, 2]);
    store
        .commit(vec![Write::User(user(3, "c@example.com"))])
        .await
        .unwrap();
    store.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_503_while_postgres_is_down_and_recovers_by_itself() {
    let pg = Cluster::start();
    let url = pg.database("outage").await;
    let (data, logs) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let s = spawn_on(&url, data.path(), logs.path());
    let seller = s.api.signup().await;
    let before = s.api.create_ticket(&seller, "Before", json!(5)).await;
    pg.down();
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
    pg.up();
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
