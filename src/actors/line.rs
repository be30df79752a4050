//! `LineActor`: one per queued event, the only place that changes its line:
//! it places joiners, runs the draw at the on-sale, admits the next in line
//! while fewer than `active_buyers` shop and a seat is free, lets unused
//! passes lapse, hears when a pass's order ends, and turns the line sold
//! out. Every change is stored before it is applied and anyone is told.
//!
//! Readers (the queue routes, watchers) read the line through a shared
//! lock and wake on a `watch` counter bumped after each applied change: one
//! shared signal of how far the line moved, from which each watcher
//! computes its own entry. [`Lines`] starts and finds the actors.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actix::prelude::*;

use super::passes::Passes;
use super::{CommandError, Core};
use crate::domain::line::{Draw, Entry, EntryStatus, Line, Seats};
use crate::domain::{EventId, OrderId, Timestamp, UserId};
use crate::storage::Write;

/// How often a line looks for admissions and lapsed passes.
const TICK: Duration = Duration::from_millis(200);

/// A line as readers see it, and the signal that it changed.
pub struct Shared {
    /// The line as last stored.
    pub line: RwLock<Line>,
    /// Bumped after every change of the line.
    pub changed: tokio::sync::watch::Sender<u64>,
    /// Set when the event is deleted: the line is gone.
    pub closed: std::sync::atomic::AtomicBool,
}

/// The actor owning one event's line.
pub struct LineActor {
    shared: Arc<Shared>,
    core: Arc<Core>,
    active_buyers: usize,
    pass: Duration,
    /// A write in flight: the tick waits.
    busy: bool,
}

impl LineActor {
    /// Stores `entries` (and `draw`) as one batch, then applies them.
    fn store(
        &mut self,
        entries: Vec<Entry>,
        draw: Option<Draw>,
    ) -> ResponseActFuture<Self, Result<(), CommandError>> {
        if entries.is_empty() && draw.is_none() {
            return Box::pin(fut::ready(Ok(())));
        }
        let mut writes: Vec<Write> = entries.iter().cloned().map(Write::Entry).collect();
        writes.extend(draw.clone().map(Write::Draw));
        let durable = self.core.storage.commit(writes);
        self.busy = true;
        Box::pin(durable.into_actor(self).map(move |res, act, _| {
            act.busy = false;
            res?;
            let now = act.core.clock.now();
            act.shared
                .line
                .write()
                .expect("line lock")
                .apply(&entries, draw.as_ref(), now);
            act.shared.changed.send_modify(|n| *n += 1);
            Ok(())
        }))
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
        if self.busy {
            return;
        }
        let now = self.core.clock.now();
        let (entries, draw) = {
            let line = self.shared.line.read().expect("line lock");
            if let Some((placed, draw)) = draw_if_due(&line, now) {
                (placed, Some(draw))
            } else {
                let mut changes = line.lapsed_passes(now);
                if changes.is_empty() {
                    let seats = self.seats(line.event());
                    changes = line.admissions(now, self.active_buyers, self.pass, seats);
                }
                (changes, None)
            }
        };
        if entries.is_empty() && draw.is_none() {
            return;
        }
        let admitted = entries
            .iter()
            .filter(|e| e.status == EntryStatus::Admitted)
            .count();
        ctx.wait(self.store(entries, draw).map(move |res, _, _| match res {
            Ok(()) => metrics::counter!("queue_admissions_total").increment(admitted as u64),
            Err(e) => {
                tracing::warn!(error = %e, "waiting-room change not stored; next tick retries")
            }
        }));
    }

    /// Fixes what a crash between an order's write and the line's left
    /// behind: an admitted entry whose order exists but was not recorded,
    /// or whose order ended.
    fn reconcile(&self) -> Vec<Entry> {
        let line = self.shared.line.read().expect("line lock");
        let model = &self.core.read_model;
        line.entries()
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
        ctx.wait(self.store(fixes, None).map(|res, _, _| {
            if let Err(e) = res {
                tracing::warn!(error = %e, "waiting-room repair not stored");
            }
        }));
        ctx.run_interval(TICK, |act, ctx| act.tick(ctx));
    }
}

/// The draw, with a fresh random seed, if it is due at `now`.
fn draw_if_due(line: &Line, now: Timestamp) -> Option<(Vec<Entry>, Draw)> {
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

/// Join: the caller's entry, new (stored first) or the one it had.
impl Handler<Join> for LineActor {
    type Result = AtomicResponse<Self, Result<Entry, CommandError>>;

    fn handle(&mut self, msg: Join, _: &mut Self::Context) -> Self::Result {
        let now = self.core.clock.now();
        let (mut batch, draw, entry, new) = {
            let line = self.shared.line.read().expect("line lock");
            let (entry, new) = line.join(msg.user, now);
            // A draw due is stored with the join, which is placed after it.
            let (batch, draw) = match draw_if_due(&line, now) {
                Some((placed, draw)) if new => (placed, Some(draw)),
                _ => (Vec::new(), None),
            };
            (batch, draw, entry, new)
        };
        if !new {
            return AtomicResponse::new(Box::pin(fut::ready(Ok(entry))));
        }
        batch.push(entry);
        let user = msg.user;
        AtomicResponse::new(Box::pin(self.store(batch, draw).map(move |res, act, _| {
            res?;
            let line = act.shared.line.read().expect("line lock");
            line.entry(user).cloned().ok_or(CommandError::NotFound)
        })))
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
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: OrderNews, _: &mut Self::Context) -> Self::Result {
        let change = {
            let line = self.shared.line.read().expect("line lock");
            if msg.ended {
                line.order_ended(msg.user, msg.order)
            } else {
                line.ordered(msg.user, msg.order)
            }
        };
        AtomicResponse::new(Box::pin(
            self.store(change.into_iter().collect(), None)
                .map(|res, _, _| {
                    if let Err(e) = res {
                        // Repaired from the orders at the next start.
                        tracing::warn!(error = %e, "waiting-room order news not stored");
                    }
                }),
        ))
    }
}

/// Stop: the event is gone.
#[derive(Message)]
#[rtype(result = "()")]
struct Stop;

impl Handler<Stop> for LineActor {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

/// One running line.
#[derive(Clone)]
struct Running {
    addr: Addr<LineActor>,
    shared: Arc<Shared>,
}

/// The running lines, by event, and the passes they issue.
pub struct Lines {
    core: Arc<Core>,
    passes: Passes,
    active_buyers: usize,
    pass: Duration,
    lines: Mutex<HashMap<EventId, Running>>,
}

impl Lines {
    /// No lines yet; passes signed with `secret`.
    pub fn new(core: Arc<Core>, secret: &[u8], active_buyers: usize, pass: Duration) -> Self {
        Lines {
            core,
            passes: Passes::new(secret),
            active_buyers,
            pass,
            lines: Mutex::default(),
        }
    }

    /// The passes (for the order path).
    pub fn passes(&self) -> &Passes {
        &self.passes
    }

    /// Starts the line of `event` (on sale at `on_sale_at`) on `arbiter`,
    /// from its stored `entries` and `draw`.
    pub fn start(
        &self,
        arbiter: &ArbiterHandle,
        event: EventId,
        on_sale_at: Timestamp,
        entries: Vec<Entry>,
        draw: Option<&Draw>,
    ) {
        let shared = Arc::new(Shared {
            line: RwLock::new(Line::restore(event, on_sale_at, entries, draw)),
            changed: tokio::sync::watch::Sender::new(0),
            closed: Default::default(),
        });
        let actor = LineActor {
            shared: shared.clone(),
            core: self.core.clone(),
            active_buyers: self.active_buyers,
            pass: self.pass,
            busy: false,
        };
        let addr = LineActor::start_in_arbiter(arbiter, move |_| actor);
        self.lines
            .lock()
            .expect("lines lock")
            .insert(event, Running { addr, shared });
    }

    /// Everyone in the line of `event` (to forget them with the event).
    pub fn users(&self, event: EventId) -> Vec<UserId> {
        self.running(event).map_or_else(Vec::new, |r| {
            let line = r.shared.line.read().expect("line lock");
            line.entries().map(|e| e.user).collect()
        })
    }

    /// Stops the line of a deleted event; its watchers see it gone.
    pub fn stop(&self, event: EventId) {
        if let Some(r) = self.lines.lock().expect("lines lock").remove(&event) {
            r.shared
                .closed
                .store(true, std::sync::atomic::Ordering::Release);
            r.shared.changed.send_modify(|n| *n += 1);
            r.addr.do_send(Stop);
        }
    }

    fn running(&self, event: EventId) -> Option<Running> {
        self.lines.lock().expect("lines lock").get(&event).cloned()
    }

    /// The line of `event`, for readers; `None` if it has none.
    pub fn shared(&self, event: EventId) -> Option<Arc<Shared>> {
        self.running(event).map(|r| r.shared)
    }

    /// `user` joins the line of `event`; `None` if it has no line.
    pub async fn join(&self, event: EventId, user: UserId) -> Option<Result<Entry, CommandError>> {
        let addr = self.running(event)?.addr;
        Some(
            addr.send(Join { user })
                .await
                .unwrap_or(Err(CommandError::ShuttingDown)),
        )
    }

    /// Tells the line of `event` that `user`'s order `order` was placed
    /// with its pass, or ended.
    pub fn order_news(&self, event: EventId, user: UserId, order: OrderId, ended: bool) {
        if let Some(r) = self.running(event) {
            r.addr.do_send(OrderNews { user, order, ended });
        }
    }
}
