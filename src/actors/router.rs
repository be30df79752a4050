//! `TicketRouter`: starts ticket actors (lazily, on a ticket's first
//! command, and at start-up for every ticket with a hold to re-arm), restores
//! them from the read model, restarts one whose mailbox has closed, and routes
//! commands to them. An actor is started on the arbiter (one per core) of
//! the request that first needs it, since connections are served there too
//! (see `http::server`); otherwise (holds restored at start-up) round-robin.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix::dev::ToEnvelope;
use actix::prelude::*;

use super::ticket::TicketActor;
use super::{CommandError, Core};
use crate::domain::TicketId;

thread_local! {
    /// Whether this thread is one of the arbiters ticket actors live on.
    static WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as a worker arbiter, where ticket actors may
/// be started for the requests it serves (run once on each).
pub fn mark_worker_thread() {
    WORKER.with(|w| w.set(true));
}

/// `TicketId -> Addr` of the running ticket actors.
#[derive(Default)]
pub struct Registry {
    actors: Mutex<HashMap<TicketId, Addr<TicketActor>>>,
}

impl Registry {
    /// Drops the entry for `id` if it still points at `addr` (called when an
    /// actor stops, so a newer actor for the same ticket is kept).
    pub fn forget(&self, id: TicketId, addr: &Addr<TicketActor>) {
        let mut actors = self.actors.lock().expect("registry lock");
        if actors.get(&id) == Some(addr) {
            actors.remove(&id);
        }
    }

    /// How many ticket actors are running.
    pub fn len(&self) -> usize {
        self.actors.lock().expect("registry lock").len()
    }
}

/// Starts, restores, restarts and routes to ticket actors: the registry
/// behind the `Tickets` and `Orders` handles.
pub struct TicketRouter {
    core: Arc<Core>,
    registry: Arc<Registry>,
    arbiters: Vec<ArbiterHandle>,
    next: AtomicUsize,
}

impl TicketRouter {
    /// A router placing actors on `arbiters`.
    pub fn new(core: Arc<Core>, arbiters: Vec<ArbiterHandle>) -> Self {
        assert!(!arbiters.is_empty(), "at least one arbiter");
        TicketRouter {
            core,
            registry: Arc::new(Registry::default()),
            arbiters,
            next: AtomicUsize::new(0),
        }
    }

    /// Starts an actor for every held ticket, so each hold's timer is armed
    /// again; holds already past their deadline are released at once.
    pub fn restore_holds(&self) -> Result<usize, CommandError> {
        let held: Vec<TicketId> = self
            .core
            .read_model
            .all_tickets()
            .into_iter()
            .filter(|t| t.status == crate::domain::TicketStatus::Reserved)
            .map(|t| t.id)
            .collect();
        for id in &held {
            self.actor(*id)?;
        }
        Ok(held.len())
    }

    /// The running actor for `id`, started from the read model if needed.
    fn actor(&self, id: TicketId) -> Result<Addr<TicketActor>, CommandError> {
        let mut actors = self.registry.actors.lock().expect("registry lock");
        if let Some(addr) = actors.get(&id) {
            if addr.connected() {
                return Ok(addr.clone());
            }
        }
        // The read model holds exactly what is durable (every change
        // reaches it only after its commit), so it is where an actor
        // starts from: no read of the store on the command's path.
        let state = self
            .core
            .read_model
            .ticket_state(id)
            .ok_or(CommandError::NotFound)?;
        let actor = TicketActor::new(state, self.core.clone(), self.registry.clone());
        let addr = if WORKER.with(Cell::get) {
            // Here, with the request that needs it: no thread hop per command.
            actor.start()
        } else {
            let n = self.next.fetch_add(1, Ordering::Relaxed) % self.arbiters.len();
            TicketActor::start_in_arbiter(&self.arbiters[n], move |_| actor)
        };
        actors.insert(id, addr.clone());
        Ok(addr)
    }

    /// Sends `msg` to the actor of ticket `id`; if that actor has stopped
    /// (deleted, or died) the ticket is restored from the read model and tried once
    /// more.
    pub async fn send<M, R>(&self, id: TicketId, msg: M) -> Result<R, CommandError>
    where
        M: Message<Result = Result<R, CommandError>> + Clone + Send + 'static,
        R: Send + 'static,
        TicketActor: Handler<M>,
        <TicketActor as Actor>::Context: ToEnvelope<TicketActor, M>,
    {
        for _ in 0..2 {
            let addr = self.actor(id)?;
            match addr.send(msg.clone()).await {
                Ok(result) => return result,
                Err(MailboxError::Closed) => self.registry.forget(id, &addr),
                Err(MailboxError::Timeout) => return Err(CommandError::ShuttingDown),
            }
        }
        Err(CommandError::NotFound)
    }

    /// Sends `msg` to the actor of ticket `id` only if one is running (one
    /// that is not will start from the read model, already up to date).
    pub fn tell_running<M>(&self, id: TicketId, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        TicketActor: Handler<M>,
        <TicketActor as Actor>::Context: ToEnvelope<TicketActor, M>,
    {
        let actors = self.registry.actors.lock().expect("registry lock");
        if let Some(addr) = actors.get(&id) {
            addr.do_send(msg);
        }
    }

    /// Runs `task` on an arbiter: work that outlives the request that
    /// started it, such as a hold's expiry. On this thread if it is one
    /// (no wake-up of another thread), else on the next, round-robin.
    pub fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        if WORKER.with(Cell::get) {
            actix::spawn(task);
        } else {
            let n = self.next.fetch_add(1, Ordering::Relaxed) % self.arbiters.len();
            self.arbiters[n].spawn(task);
        }
    }

    /// Running ticket actors.
    pub fn running(&self) -> usize {
        self.registry.len()
    }
}
