//! Micro-benchmarks of the server's hot paths, below HTTP: a ticket actor's
//! reserve/cancel round trip (with its durable commits), a storage group
//! commit at several numbers of concurrent writers, the read model's list,
//! the JSON encoding of a ticket view, and the waiting room's line (a join,
//! and the draw at the on-sale). Each is kept short (small samples,
//! two-second measurements) so `cargo bench` finishes in well under a minute
//! on two cores; the HTTP scenarios live in `ticketing load`.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use futures_util::future::join_all;
use ticketing::actors::{ReadModel, TicketFilter};
use ticketing::config::Settings;
use ticketing::domain::line::Line;
use ticketing::domain::time::Timestamp;
use ticketing::domain::{
    EventDate, EventId, OrderId, Price, Ticket, TicketId, TicketStatus, Title, UserId,
};
use ticketing::storage::{SledStore, Store as _, Write};
use ticketing::App;

fn ticket(id: u64) -> Ticket {
    Ticket::new(
        TicketId(id),
        UserId(1),
        Title::parse("Night concert").expect("title"),
        Price::from_cents(2550).expect("price"),
        EventDate(None),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Reserve then cancel through the `Orders` handle and the ticket's actor:
/// two durable commits per iteration.
fn actor_round_trip(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = rt
        .block_on(App::start(Settings::for_tests(dir.path(), 900)))
        .expect("start");
    let state = app.state().clone();
    let buyer = UserId(42);
    let id = rt
        .block_on(state.tickets.create(
            UserId(1),
            Title::parse("Bench seat").expect("title"),
            Price::from_cents(1000).expect("price"),
            EventDate(None),
        ))
        .expect("create")
        .id;
    c.bench_function("actor/reserve_cancel", |b| {
        b.to_async(&rt).iter(|| async {
            let order = state.orders.reserve(id, buyer).await.expect("reserve");
            state.orders.cancel(order.id, buyer).await.expect("cancel");
        })
    });
    rt.block_on(app.shutdown());
}

/// `writers` concurrent commits of one ticket each: how much one flush
/// shares as the batch grows.
fn group_commit(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = std::sync::Arc::new(SledStore::open(dir.path()).expect("open"));
    let mut group = c.benchmark_group("storage/group_commit");
    for writers in [1u64, 8, 64] {
        group.throughput(Throughput::Elements(writers));
        group.bench_with_input(BenchmarkId::from_parameter(writers), &writers, |b, &n| {
            let mut next = 1u64;
            b.to_async(&rt).iter(|| {
                let batch: Vec<_> = (0..n)
                    .map(|_| {
                        next += 1;
                        let storage = storage.clone();
                        let t = ticket(next);
                        tokio::spawn(async move { storage.commit(vec![Write::Ticket(t)]).await })
                    })
                    .collect();
                async move {
                    for r in join_all(batch).await {
                        r.expect("join").expect("commit");
                    }
                }
            })
        });
    }
    group.finish();
    let stats = storage.stats();
    eprintln!(
        "group commit: {} batches in {} flushes ({:.1} per flush)",
        stats.batches,
        stats.groups,
        stats.batches as f64 / stats.groups.max(1) as f64
    );
    storage.close().expect("close");
}

/// The read model's list (a page of available tickets, and of all tickets)
/// over 10,000 tickets, a tenth of them reserved.
fn read_model_list(c: &mut Criterion) {
    let tickets: Vec<Ticket> = (1..=10_000u64)
        .map(|i| {
            let mut t = ticket(i);
            if i % 10 == 0 {
                t.status = TicketStatus::Reserved;
                t.order_id = Some(OrderId(1_000_000 + i));
            }
            t
        })
        .collect();
    let model = Arc::new(ReadModel::new(Vec::new(), tickets, Vec::new()));
    let mut group = c.benchmark_group("read_model");
    group.bench_function("list_available_100", |b| {
        b.iter(|| model.tickets(TicketFilter::Available, None, 100))
    });
    group.bench_function("list_any_1000", |b| {
        b.iter(|| model.tickets(TicketFilter::Any, Some(TicketId(5_000)), 1000))
    });
    group.bench_function("get_by_id", |b| b.iter(|| model.ticket(TicketId(4_321))));
    group.finish();
}

/// A ticket view as JSON: what every GET and every live change pays.
fn ticket_json(c: &mut Criterion) {
    let mut t = ticket(0x1234_5678_9abc);
    t.date = EventDate::from_json(Some(&serde_json::json!("2026-12-31T20:00:00Z"))).expect("date");
    let mut group = c.benchmark_group("views");
    group.bench_function("ticket_to_json", |b| {
        b.iter(|| serde_json::to_vec(&ticketing::views::ticket(&t)).expect("json"))
    });
    group.bench_function("live_ticket_event", |b| {
        b.iter(|| ticketing::actors::LiveHub::ticket_event(&t))
    });
    group.finish();
}

/// Early joiners in the on-sale scenario's line: a third of 100,000.
const EARLY: u64 = 33_334;

/// A line with [`EARLY`] entries waiting for the draw at `on_sale`.
fn early_line(on_sale: Timestamp) -> Line {
    let mut line = Line::new(EventId(1), on_sale);
    for u in 0..EARLY {
        let at = Timestamp(on_sale.0 - 8_000 + (u as i64 % 8_000));
        let (entry, _) = line.join(UserId(1_000 + u), at);
        line.apply(&[entry], None, at);
    }
    line
}

/// The waiting room's line, as its actor changes it: the draw at the
/// on-sale (decided on the deciding line, then applied to the readers':
/// every join of that moment waits for both), and a thousand joins after
/// it, each decided and then applied to the readers' line.
fn line(c: &mut Criterion) {
    let on_sale = Timestamp(1_800_000_000_000);
    let early = early_line(on_sale);
    let mut group = c.benchmark_group("line");
    group.bench_function("draw_33334", |b| {
        b.iter_batched(
            || (early.clone(), early.clone()),
            |(mut deciding, mut readers)| {
                let drawn = deciding.draw(7, on_sale);
                deciding.apply(&[], Some(&drawn), on_sale);
                let placed = readers.apply(&[], Some(&drawn), on_sale);
                (deciding, readers, placed)
            },
            BatchSize::PerIteration,
        )
    });
    let mut drawn = early.clone();
    let draw = drawn.draw(7, on_sale);
    drawn.apply(&[], Some(&draw), on_sale);
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("join_1000", |b| {
        b.iter_batched(
            || (drawn.clone(), drawn.clone()),
            |(mut deciding, mut readers)| {
                for u in 0..1_000 {
                    let (entry, _) = deciding.join(UserId(1_000_000 + u), on_sale);
                    let entry = [entry];
                    deciding.apply(&entry, None, on_sale);
                    readers.apply(&entry, None, on_sale);
                }
                (deciding, readers)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn short() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = short();
    targets = actor_round_trip, group_commit, read_model_list, ticket_json, line
}
criterion_main!(benches);
