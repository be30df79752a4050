//! [`Lines`]: the running lines by event, the one way into them from the
//! handles (start, join, order news, freeze and thaw around a deletion,
//! stop), and the passes they issue.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;

use super::{Freeze, Join, LineActor, OrderNews, Shared, Stop, Thaw};
use crate::actors::passes::Passes;
use crate::actors::{CommandError, Core};
use crate::domain::line::{Draw, Entry, Line};
use crate::domain::{EventId, OrderId, Timestamp, UserId};

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
        let shared = Arc::new(Shared::new(Line::restore(event, on_sale_at, entries, draw)));
        let actor = LineActor {
            line: shared.line.read().expect("line lock").clone(),
            shared: shared.clone(),
            core: self.core.clone(),
            active_buyers: self.active_buyers,
            pass: self.pass,
            queued: Vec::new(),
            queued_draw: None,
            waiters: Vec::new(),
            storing: false,
            frozen: false,
            still: None,
            put_off: Vec::new(),
            moved_at: None,
            moved_due: false,
        };
        let addr = LineActor::start_in_arbiter(arbiter, move |_| actor);
        self.lines
            .lock()
            .expect("lines lock")
            .insert(event, Running { addr, shared });
    }

    /// Freezes the line of `event`, whose deletion is under way: it decides
    /// nothing more (joins and order news wait) until [`Lines::thaw`] or
    /// [`Lines::stop`]. Everyone in the line once all it decided before is
    /// stored: forgetting them forgets the whole line.
    pub async fn freeze(&self, event: EventId) -> Vec<UserId> {
        let Some(r) = self.running(event) else {
            return Vec::new();
        };
        match r.addr.send(Freeze).await {
            Ok(users) => users,
            // The actor is gone: nothing more is written of its line.
            Err(_) => {
                let line = r.shared.line.read().expect("line lock");
                line.entries().map(|e| e.user).collect()
            }
        }
    }

    /// Lets the line of `event` go on: its deletion was refused.
    pub fn thaw(&self, event: EventId) {
        if let Some(r) = self.running(event) {
            r.addr.do_send(Thaw);
        }
    }

    /// Stops the line of a deleted event; its watchers see it gone.
    pub fn stop(&self, event: EventId) {
        if let Some(r) = self.lines.lock().expect("lines lock").remove(&event) {
            r.shared.close();
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
