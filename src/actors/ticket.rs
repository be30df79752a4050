//! `TicketActor`: one per ticket. It owns the ticket's state (the ticket and
//! the order holding or owning it) and the hold's timer. Reserve, cancel,
//! expire, pay, edit and delete are messages handled one at a time, each
//! committed durably (while the actor takes no other message) before it
//! replies: no ticket is held or sold twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::router::Registry;
use super::{CommandError, Core};
use crate::domain::{
    Changes, EventDate, Order, OrderId, Payment, PaymentId, PaymentRef, Price, Ticket, TicketState,
    Title, UserId,
};
use crate::storage::Write;

/// How long an actor without a hold lives after its last message. Its state
/// is in storage, so it is started again on the ticket's next command; memory
/// then grows with the tickets in play, not with every ticket ever touched.
const IDLE_STOP: Duration = Duration::from_secs(300);

/// A future the actor runs to completion before its next message.
type Step<T> = ResponseActFuture<TicketActor, Result<T, CommandError>>;

/// The actor owning one ticket.
pub struct TicketActor {
    state: TicketState,
    core: Arc<Core>,
    registry: Arc<Registry>,
    timer: Option<SpawnHandle>,
    /// Whether a commit is in flight. Messages wait for it (`AtomicResponse`),
    /// but a timer that was already due may still run once before actix
    /// notices the wait: it must not act on the state being replaced.
    committing: bool,
    /// The order a seat is being placed in (held tentatively: invisible
    /// to readers, and every other hold of the seat is refused meanwhile).
    pending: Option<OrderId>,
    /// When the last command arrived (for the idle stop: not domain time,
    /// so a monotonic `Instant`, not the core's clock).
    last_active: Instant,
}

impl TicketActor {
    /// An actor for `state`, as last committed.
    pub fn new(state: TicketState, core: Arc<Core>, registry: Arc<Registry>) -> Self {
        TicketActor {
            state,
            core,
            registry,
            timer: None,
            committing: false,
            pending: None,
            last_active: Instant::now(),
        }
    }

    /// Checks, every [`IDLE_STOP`], whether the actor has been idle that
    /// long with no hold to time, and stops it if so. Handlers only note the
    /// time of their message: no timer is rescheduled per message.
    fn watch_idle(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(IDLE_STOP, |act, ctx| {
            if !act.committing
                && act.pending.is_none()
                && act.last_active.elapsed() >= IDLE_STOP
                && act.state.hold_deadline().is_none()
            {
                ctx.stop();
            }
        });
    }

    /// (Re)arms the hold's timer for the current state: a wait on the core's
    /// clock until the deadline, kept so the next change can cancel it.
    fn arm(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.timer.take() {
            ctx.cancel_future(handle);
        }
        if self.state.ticket.event_id.is_some() {
            // A seat's hold is its order's: one timer per order releases
            // every seat at once (`actors::seat_orders`).
            return;
        }
        if let Some((order_id, deadline)) = self.state.hold_deadline() {
            let due = self.core.clock.sleep_until(deadline);
            self.timer = Some(ctx.spawn(due.into_actor(self).map(move |(), act, ctx| {
                act.timer = None;
                act.on_deadline(order_id, ctx);
            })));
        }
    }

    /// The hold's timer fired: release the ticket if that hold is still due.
    fn on_deadline(&mut self, order_id: OrderId, ctx: &mut Context<Self>) {
        if self.committing {
            // The commit in flight re-arms the timer once it is decided.
            return;
        }
        let now = self.core.clock.now();
        match self.state.hold_deadline() {
            Some((id, deadline)) if id == order_id => {
                if now < deadline {
                    self.arm(ctx);
                    return;
                }
            }
            _ => return,
        }
        let mut state = self.state.clone();
        let mut changes = Changes::default();
        state.expire_if_due(now, &mut changes);
        let step = self.commit(state, changes, Vec::new());
        ctx.wait(step.map(move |res, act, ctx| match res {
            Ok(()) => metrics::counter!("holds_expired_total").increment(1),
            Err(e) => {
                tracing::warn!(ticket = %act.state.ticket.id, error = %e, "hold expiry not stored; retrying");
                // A retry delay, not a deadline: real time.
                ctx.run_later(Duration::from_secs(1), move |act, ctx| act.on_deadline(order_id, ctx));
            }
        }));
    }

    /// The one way a ticket changes: stores `changes` (plus `extra`
    /// writes) as one batch and, only once it is durable, adopts `state`,
    /// re-arms the hold's timer and publishes the change to the read model
    /// and the live feed. A refused batch changes nothing anyone can see:
    /// the actor keeps its state and the error goes back to the caller.
    /// Messages wait meanwhile (the handlers answer with `AtomicResponse`),
    /// and the hold's timer does not act (see `committing`).
    /// When `extra` deletes the ticket, the read model drops it and the
    /// actor stops.
    fn commit(&mut self, state: TicketState, changes: Changes, mut extra: Vec<Write>) -> Step<()> {
        let deleted = extra.iter().any(|w| matches!(w, Write::DeleteTicket(_)));
        let mut writes = Vec::with_capacity(changes.orders.len() + 1 + extra.len());
        if let Some(ticket) = changes.final_ticket().filter(|_| !deleted) {
            writes.push(Write::Ticket(ticket.clone()));
        }
        writes.extend(changes.orders.iter().cloned().map(Write::Order));
        writes.append(&mut extra);
        if writes.is_empty() {
            self.state = state;
            return Box::pin(fut::ready(Ok(())));
        }
        let durable = self.core.storage.commit(writes);
        self.committing = true;
        Box::pin(durable.into_actor(self).map(move |res, act, ctx| {
            act.committing = false;
            if let Err(e) = res {
                // The old state stands; a deadline skipped meanwhile is
                // armed again.
                act.arm(ctx);
                return Err(e.into());
            }
            act.state = state;
            act.arm(ctx);
            if deleted {
                act.core
                    .read_model
                    .remove_ticket(act.state.ticket.id, &changes);
                ctx.stop();
            } else {
                act.core.read_model.put(&changes.tickets, &changes.orders);
            }
            Ok(())
        }))
    }

    /// Refuses the one-ticket commands for a seat: its orders move all
    /// their seats together (`actors::seat_orders`), and it is changed
    /// only through its event.
    fn seat_guard(&self) -> Result<(), CommandError> {
        if self.state.ticket.event_id.is_some() {
            Err(crate::domain::DomainError::SeatOfEvent.into())
        } else {
            Ok(())
        }
    }

    fn fail<T: 'static>(
        e: impl Into<CommandError>,
    ) -> AtomicResponse<Self, Result<T, CommandError>> {
        AtomicResponse::new(Box::pin(fut::ready(Err(e.into()))))
    }
}

impl Actor for TicketActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(256);
        self.arm(ctx);
        self.watch_idle(ctx);
    }

    fn stopped(&mut self, ctx: &mut Self::Context) {
        self.registry.forget(self.state.ticket.id, &ctx.address());
    }
}

/// Hold the ticket for `buyer` under the new order id `order_id`.
#[derive(Message, Clone)]
#[rtype(result = "Result<Order, CommandError>")]
pub struct Reserve {
    /// The new order's id.
    pub order_id: OrderId,
    /// Who reserves.
    pub buyer: UserId,
}

/// Reserve: hold the ticket, or refuse with `Ticket is already reserved`.
impl Handler<Reserve> for TicketActor {
    type Result = AtomicResponse<Self, Result<Order, CommandError>>;

    fn handle(&mut self, msg: Reserve, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.seat_guard() {
            return Self::fail(e);
        }
        self.last_active = Instant::now();
        let mut state = self.state.clone();
        let window = self.core.reservation_window;
        match state.reserve(msg.order_id, msg.buyer, self.core.clock.now(), window) {
            Err(e) => Self::fail(e),
            Ok(changes) => {
                let order = state.order.clone();
                let step = self.commit(state, changes, Vec::new());
                AtomicResponse::new(Box::pin(
                    step.map(move |res, _, _| res.and(order.ok_or(CommandError::NotFound))),
                ))
            }
        }
    }
}

/// The buyer cancels their order.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), CommandError>")]
pub struct Cancel {
    /// The order.
    pub order_id: OrderId,
    /// Who asks.
    pub by: UserId,
}

/// Cancel: release the ticket (refused once paid).
impl Handler<Cancel> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), CommandError>>;

    fn handle(&mut self, msg: Cancel, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.seat_guard() {
            return Self::fail(e);
        }
        self.last_active = Instant::now();
        let mut state = self.state.clone();
        match state.cancel(msg.order_id, msg.by) {
            Err(e) => Self::fail(e),
            Ok(changes) => AtomicResponse::new(self.commit(state, changes, Vec::new())),
        }
    }
}

/// Pay for the held order with a card token.
#[derive(Message, Clone)]
#[rtype(result = "Result<Payment, CommandError>")]
pub struct Pay {
    /// The order.
    pub order_id: OrderId,
    /// Who pays.
    pub by: UserId,
    /// The card token for the gateway.
    pub token: String,
}

/// Pay: charge, then mark the order complete and the ticket sold. The hold's
/// expiry waits for the charge's outcome (the actor takes no other message).
impl Handler<Pay> for TicketActor {
    type Result = AtomicResponse<Self, Result<Payment, CommandError>>;

    fn handle(&mut self, msg: Pay, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.seat_guard() {
            return Self::fail(e);
        }
        self.last_active = Instant::now();
        let mut state = self.state.clone();
        let (changes, payable) = state.begin_payment(msg.order_id, msg.by, self.core.clock.now());
        let price: Price = match payable {
            Ok(price) => price,
            Err(e) => {
                // A lapsed hold was released on the way: store that first.
                let step = self.commit(state, changes, Vec::new());
                return AtomicResponse::new(Box::pin(
                    step.map(move |res, _, _| res.and(Err(e.into()))),
                ));
            }
        };
        let order_id = msg.order_id;
        let charge = self.core.gateway.charge(&msg.token, price, order_id);
        AtomicResponse::new(Box::pin(charge.into_actor(self).then(
            move |charged, act, _| -> Step<Payment> {
                let charge_id = match charged {
                    Ok(id) => id,
                    Err(e) => {
                        metrics::counter!("payments_total", "outcome" => "refused").increment(1);
                        return Box::pin(fut::ready(Err(e.into())));
                    }
                };
                metrics::counter!("payments_total", "outcome" => "charged").increment(1);
                let payment = Payment {
                    id: PaymentId(act.core.ids.next()),
                    order_id,
                    charge_id,
                    amount: price,
                    created_at: act.core.clock.now(),
                };
                let mut state = act.state.clone();
                let changes = state.complete_payment(
                    order_id,
                    PaymentRef {
                        id: payment.id,
                        paid_at: payment.created_at,
                    },
                );
                let writes = vec![Write::Payment(payment.clone())];
                Box::pin(
                    act.commit(state, changes, writes)
                        .map(move |res, _, _| res.map(|()| payment)),
                )
            },
        )))
    }
}

/// The seller edits the ticket.
#[derive(Message, Clone)]
#[rtype(result = "Result<Ticket, CommandError>")]
pub struct Edit {
    /// Who asks.
    pub by: UserId,
    /// New title.
    pub title: Title,
    /// New price.
    pub price: Price,
    /// New date.
    pub date: EventDate,
}

/// Edit: change title, price and date while the ticket is available.
impl Handler<Edit> for TicketActor {
    type Result = AtomicResponse<Self, Result<Ticket, CommandError>>;

    fn handle(&mut self, msg: Edit, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.seat_guard() {
            return Self::fail(e);
        }
        self.last_active = Instant::now();
        let mut state = self.state.clone();
        match state.edit(
            msg.by,
            msg.title,
            msg.price,
            msg.date,
            self.core.clock.now(),
        ) {
            Err(e) => Self::fail(e),
            Ok(changes) => {
                let step = self.commit(state, changes, Vec::new());
                AtomicResponse::new(Box::pin(
                    step.map(|res, act, _| res.map(|()| act.state.ticket.clone())),
                ))
            }
        }
    }
}

/// The seller deletes the ticket.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), CommandError>")]
pub struct Delete {
    /// Who asks.
    pub by: UserId,
}

/// Delete: remove an available ticket, then stop the actor.
impl Handler<Delete> for TicketActor {
    type Result = AtomicResponse<Self, Result<(), CommandError>>;

    fn handle(&mut self, msg: Delete, _: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.seat_guard() {
            return Self::fail(e);
        }
        let mut state = self.state.clone();
        match state.prepare_delete(msg.by, self.core.clock.now()) {
            Err(e) => Self::fail(e),
            Ok(changes) => {
                let delete = vec![Write::DeleteTicket(state.ticket.id)];
                AtomicResponse::new(self.commit(state, changes, delete))
            }
        }
    }
}

/// Hold the seat tentatively for the order `order_id` being placed: the
/// seat's state as last committed, or `Ticket is already reserved` when it
/// is held, sold, or being placed in another order. Never waits.
#[derive(Message, Clone)]
#[rtype(result = "Result<TicketState, CommandError>")]
pub struct Hold {
    /// The order being placed.
    pub order_id: OrderId,
}

/// Hold: take the seat for an order being placed, or refuse at once.
impl Handler<Hold> for TicketActor {
    type Result = Result<TicketState, CommandError>;

    fn handle(&mut self, msg: Hold, _: &mut Self::Context) -> Self::Result {
        self.last_active = Instant::now();
        if self.pending.is_some() || self.state.order.is_some() || self.committing {
            return Err(crate::domain::DomainError::AlreadyReserved.into());
        }
        self.pending = Some(msg.order_id);
        Ok(self.state.clone())
    }
}

/// The order `order_id` was placed (its write durable): the seat takes
/// `state`; or it was not (`state` is `None`): the seat is free again.
/// Also how a seat learns of its order's cancel, expiry or payment.
#[derive(Message, Clone)]
#[rtype(result = "Result<(), CommandError>")]
pub struct Settle {
    /// The order that held the seat tentatively, if any.
    pub order_id: Option<OrderId>,
    /// The seat's new committed state, if it changed.
    pub state: Option<TicketState>,
}

/// Settle: end a tentative hold, adopting the committed state if any.
impl Handler<Settle> for TicketActor {
    type Result = Result<(), CommandError>;

    fn handle(&mut self, msg: Settle, _: &mut Self::Context) -> Self::Result {
        if msg.order_id.is_some() && self.pending == msg.order_id {
            self.pending = None;
        }
        if let Some(state) = msg.state {
            if state.ticket.version >= self.state.ticket.version {
                self.state = state;
            }
        }
        Ok(())
    }
}
