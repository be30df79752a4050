//! `LineActor`: one per queued event, the only place that changes its line:
//! it places joiners, runs the draw at the on-sale, admits the next in line
//! while fewer than `active_buyers` shop and a seat is free, lets unused
//! passes lapse, hears when a pass's order ends, and turns the line sold
//! out. Every change is stored before it is applied and anyone is told.
//! The event's deletion freezes the line first: nothing more is decided,
//! and once every decided change has landed the deletion gets everyone in
//! the line to forget with it; no write of the line can follow it.
//!
//! Readers (the queue routes, watchers) read the line through a shared
//! lock ([`Shared`], `shared.rs`). Watchers wake on one shared signal that
//! the line moved, sent at most once per [`MOVED_EVERY`], from which each
//! computes its own entry, and on a signal of their own entry's changes,
//! sent at once. [`Lines`] (`registry.rs`) starts and finds the actors.

mod registry;
mod shared;

pub use registry::Lines;
pub use shared::{Shared, Signals, MOVED_EVERY};

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::oneshot;

use super::{CommandError, Core};
use crate::domain::line::{Drawn, Entry, EntryStatus, Line, Seats};
use crate::domain::{EventId, OrderId, Timestamp, UserId};
use crate::storage::Write;

/// How often a line looks for admissions and lapsed passes.
const TICK: Duration = Duration::from_millis(200);

/// A joiner waiting for its entry to be durable.
type Waiter = (UserId, oneshot::Sender<Result<Entry, CommandError>>);

/// What a frozen line puts off until it thaws (or forgets with the event).
enum PutOff {
    /// A join to decide.
    Join(UserId),
    /// News of a pass's order.
    News(OrderNews),
}

/// The actor owning one event's line.
///
/// Changes are decided on `line`, the line with every change decided so
/// far, and stored in batches, one at a time: whatever is decided while a
/// batch is being stored (a crowd of joins) goes into the next one, so the
/// line takes thousands of joins per durable write instead of one. Readers
/// and joiners see a change only once its batch is durable; a refused batch
/// drops everything decided after the last stored one.
pub struct LineActor {
    shared: Arc<Shared>,
    core: Arc<Core>,
    active_buyers: usize,
    pass: Duration,
    line: Line,
    queued: Vec<Entry>,
    queued_draw: Option<Drawn>,
    waiters: Vec<Waiter>,
    storing: bool,
    /// Set while the event's deletion runs: nothing is decided.
    frozen: bool,
    /// The deletion waiting for every decided change to land.
    still: Option<oneshot::Sender<Vec<UserId>>>,
    /// What came while frozen, in order.
    put_off: Vec<PutOff>,
    /// When watchers were last told that the line moved.
    moved_at: Option<Instant>,
    /// Whether telling them again is scheduled.
    moved_due: bool,
}

impl LineActor {
    /// Decides `entries` (and `draw`): applied to the deciding line at
    /// once, stored with the next batch.
    fn decide(&mut self, entries: Vec<Entry>, draw: Option<Drawn>, ctx: &mut Context<Self>) {
        self.note(entries, draw);
        self.flush(ctx);
    }

    /// Applies `entries` (and `draw`) to the deciding line and queues them
    /// for the next batch, without starting it.
    fn note(&mut self, entries: Vec<Entry>, draw: Option<Drawn>) {
        if entries.is_empty() && draw.is_none() {
            return;
        }
        self.line
            .apply(&entries, draw.as_ref(), self.core.clock.now());
        self.queued.extend(entries);
        if draw.is_some() {
            self.queued_draw = draw;
        }
    }

    /// Stores what is queued as one batch, unless a batch is in flight
    /// (then it goes when that one is done).
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.storing || (self.queued.is_empty() && self.queued_draw.is_none()) {
            return;
        }
        let entries = std::mem::take(&mut self.queued);
        let draw = self.queued_draw.take();
        let mut writes: Vec<Write> = entries.iter().cloned().map(Write::Entry).collect();
        writes.extend(draw.as_ref().map(|d| Write::Draw(d.record.clone())));
        metrics::histogram!("queue_batch_writes").record(writes.len() as f64);
        let durable = self.core.storage.commit(writes);
        self.storing = true;
        let started = Instant::now();
        ctx.spawn(durable.into_actor(self).map(move |res, act, ctx| {
            metrics::histogram!("queue_batch_seconds").record(started.elapsed().as_secs_f64());
            act.storing = false;
            match res {
                Ok(()) => {
                    let durable_ms = started.elapsed().as_secs_f64() * 1e3;
                    act.stored(&entries, draw.as_ref(), ctx);
                    if let Some(draw) = draw.as_ref().map(|d| &d.record) {
                        tracing::info!(
                            event = %draw.event,
                            seed = draw.seed,
                            placed = draw.placed,
                            durable_ms,
                            applied_ms = started.elapsed().as_secs_f64() * 1e3 - durable_ms,
                            "waiting room drawn"
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "waiting-room changes not stored");
                    act.queued.clear();
                    act.queued_draw = None;
                    act.line = act.shared.line.read().expect("line lock").clone();
                    for (_, tx) in act.waiters.drain(..) {
                        let _ = tx.send(Err(e.clone().into()));
                    }
                }
            }
            act.flush(ctx);
            act.answer_still();
        }));
    }

    /// Answers a deletion waiting for a frozen line once nothing decided is
    /// still to be stored: everyone in the stored line, which no later
    /// write can add to.
    fn answer_still(&mut self) {
        if self.storing || !self.queued.is_empty() || self.queued_draw.is_some() {
            return;
        }
        if let Some(tx) = self.still.take() {
            let line = self.shared.line.read().expect("line lock");
            let _ = tx.send(line.entries().map(|e| e.user).collect());
        }
    }

    /// `user` joins: placed in the deciding line unless already in it.
    fn join(&mut self, user: UserId, ctx: &mut Context<Self>) {
        if self.line.entry(user).is_some() {
            return;
        }
        let now = self.core.clock.now();
        let (entry, _) = self.line.join(user, now);
        // A draw due is stored with the join, which is placed after it.
        self.draw_if_due(now);
        self.decide(vec![entry], None, ctx);
    }

    /// The draw, if due, and the first admissions after it, on the
    /// deciding line (the first in the draw are admitted in the draw's
    /// batch, not a tick later); whether it was due.
    fn draw_if_due(&mut self, now: Timestamp) -> bool {
        let Some(draw) = draw_if_due(&self.line, now) else {
            return false;
        };
        self.note(Vec::new(), Some(draw));
        self.admit_next(now);
        true
    }

    /// Admits the next in line while there is room, on the deciding line.
    fn admit_next(&mut self, now: Timestamp) {
        let seats = self.seats(self.line.event());
        let next = self
            .line
            .admissions(now, self.active_buyers, self.pass, seats);
        self.note(next, None);
    }

    /// The entry of a pass's order records it, or is done; a buyer done
    /// frees a place among the shoppers, which the next in line takes at
    /// once, in the same batch, not at the next tick (the tick's wait was
    /// a fifth of a buyer's half-second think time, each time).
    fn news(&mut self, msg: OrderNews, ctx: &mut Context<Self>) {
        let change = if msg.ended {
            self.line.order_ended(msg.user, msg.order)
        } else {
            self.line.ordered(msg.user, msg.order)
        };
        let Some(change) = change else { return };
        self.note(vec![change], None);
        if msg.ended {
            self.admit_next(self.core.clock.now());
        }
        self.flush(ctx);
    }

    /// A batch is durable: readers see it, its joiners get their entries,
    /// the watchers of its entries hear at once, the others within
    /// [`MOVED_EVERY`].
    fn stored(&mut self, entries: &[Entry], draw: Option<&Drawn>, ctx: &mut Context<Self>) {
        let now = self.core.clock.now();
        let admitted = entries
            .iter()
            .filter(|e| e.status == EntryStatus::Admitted && e.order.is_none())
            .count();
        metrics::counter!("queue_admissions_total").increment(admitted as u64);
        let placed = self
            .shared
            .line
            .write()
            .expect("line lock")
            .apply(entries, draw, now);
        self.answer_durable();
        self.shared
            .changed(entries.iter().map(|e| e.user).chain(placed));
        self.moved(ctx);
    }

    /// Tells every watcher that the line moved: at once after a quiet
    /// [`MOVED_EVERY`], else once that much has passed since the last time
    /// (everything moved meanwhile goes with it).
    fn moved(&mut self, ctx: &mut Context<Self>) {
        if self.moved_due {
            return;
        }
        let wait = self.moved_at.map_or(Duration::ZERO, |at| {
            MOVED_EVERY.saturating_sub(at.elapsed())
        });
        if wait.is_zero() {
            self.moved_at = Some(Instant::now());
            self.shared.moved();
            return;
        }
        self.moved_due = true;
        ctx.run_later(wait, |act, _| {
            act.moved_due = false;
            act.moved_at = Some(Instant::now());
            act.shared.moved();
        });
    }

    /// Answers every joiner whose entry is durable now.
    fn answer_durable(&mut self) {
        let line = self.shared.line.read().expect("line lock");
        let mut waiting = Vec::with_capacity(self.waiters.len());
        for (user, tx) in self.waiters.drain(..) {
            match line.entry(user) {
                Some(entry) => {
                    let _ = tx.send(Ok(entry.clone()));
                }
                None => waiting.push((user, tx)),
            }
        }
        self.waiters = waiting;
    }

    /// The seats of the event now (none if it is gone).
    fn seats(&self, event: EventId) -> Seats {
        let counts = self.core.read_model.event_counts(event);
        Seats {
            available: counts.map_or(0, |c| c.available),
            reserved: counts.map_or(0, |c| c.reserved),
        }
    }

    /// The draw if due, else lapsed passes and admissions.
    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.frozen {
            return;
        }
        let now = self.core.clock.now();
        if !self.draw_if_due(now) {
            let lapsed = self.line.lapsed_passes(now);
            if lapsed.is_empty() {
                self.admit_next(now);
            } else {
                self.note(lapsed, None);
            }
        }
        self.flush(ctx);
    }

    /// Fixes what a crash between an order's write and the line's left
    /// behind: an admitted entry whose order exists but was not recorded,
    /// or whose order ended.
    fn reconcile(&self) -> Vec<Entry> {
        let model = &self.core.read_model;
        self.line
            .entries()
            .filter(|e| e.status == EntryStatus::Admitted)
            .filter_map(|e| {
                let admitted = e.admitted_at?;
                let order = match e.order {
                    Some(id) => model.order(id),
                    None => model
                        .orders_of(e.user)
                        .into_iter()
                        .find(|o| o.event_id() == Some(e.event) && o.created_at >= admitted),
                }?;
                let ended = !order.is_held();
                (ended || e.order.is_none()).then(|| Entry {
                    order: Some(order.id),
                    status: if ended { EntryStatus::Done } else { e.status },
                    ..e.clone()
                })
            })
            .collect()
    }
}

impl Actor for LineActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let fixes = self.reconcile();
        self.decide(fixes, None, ctx);
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }
}

/// The draw, with a fresh random seed, if it is due at `now`.
fn draw_if_due(line: &Line, now: Timestamp) -> Option<Drawn> {
    if !line.draw_due(now) {
        return None;
    }
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).ok()?;
    Some(line.draw(u64::from_le_bytes(seed), now))
}

/// `user` joins the line.
#[derive(Message)]
#[rtype(result = "Result<Entry, CommandError>")]
struct Join {
    user: UserId,
}

/// Join: the caller's entry, once durable (new, or the one it had).
impl Handler<Join> for LineActor {
    type Result = ResponseFuture<Result<Entry, CommandError>>;

    fn handle(&mut self, msg: Join, ctx: &mut Self::Context) -> Self::Result {
        let user = msg.user;
        if let Some(entry) = self.shared.line.read().expect("line lock").entry(user) {
            let entry = entry.clone();
            return Box::pin(async move { Ok(entry) });
        }
        if self.frozen {
            self.put_off.push(PutOff::Join(user));
        } else {
            self.join(user, ctx);
        }
        let (tx, rx) = oneshot::channel();
        self.waiters.push((user, tx));
        Box::pin(async move { rx.await.unwrap_or(Err(CommandError::ShuttingDown)) })
    }
}

/// The order `order` of `user` was placed with its pass, or (`ended`) was
/// paid, cancelled or lapsed.
#[derive(Message)]
#[rtype(result = "()")]
struct OrderNews {
    user: UserId,
    order: OrderId,
    ended: bool,
}

/// OrderNews: the entry records its order, or is done.
impl Handler<OrderNews> for LineActor {
    type Result = ();

    fn handle(&mut self, msg: OrderNews, ctx: &mut Self::Context) {
        if self.frozen {
            self.put_off.push(PutOff::News(msg));
        } else {
            self.news(msg, ctx);
        }
    }
}

/// Freeze: the event is being deleted. Answered with everyone in the line
/// once every change decided before is stored.
#[derive(Message)]
#[rtype(result = "Vec<UserId>")]
struct Freeze;

impl Handler<Freeze> for LineActor {
    type Result = ResponseFuture<Vec<UserId>>;

    fn handle(&mut self, _: Freeze, _: &mut Self::Context) -> Self::Result {
        self.frozen = true;
        let (tx, rx) = oneshot::channel();
        self.still = Some(tx);
        self.answer_still();
        Box::pin(async move { rx.await.unwrap_or_default() })
    }
}

/// Thaw: the deletion did not happen; what was put off is decided now.
#[derive(Message)]
#[rtype(result = "()")]
struct Thaw;

impl Handler<Thaw> for LineActor {
    type Result = ();

    fn handle(&mut self, _: Thaw, ctx: &mut Self::Context) {
        self.frozen = false;
        for put_off in std::mem::take(&mut self.put_off) {
            match put_off {
                PutOff::Join(user) => self.join(user, ctx),
                PutOff::News(news) => self.news(news, ctx),
            }
        }
    }
}

/// Stop: the event is gone; joiners still waiting learn it.
#[derive(Message)]
#[rtype(result = "()")]
struct Stop;

impl Handler<Stop> for LineActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        for (_, tx) in self.waiters.drain(..) {
            let _ = tx.send(Err(CommandError::NotFound));
        }
        ctx.stop();
    }
}
