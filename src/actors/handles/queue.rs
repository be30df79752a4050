//! [`Queue`]: the typed API of the waiting room: join an event's line, read
//! one's entry, and watch it change.

use std::sync::Arc;

use crate::actors::line::{Lines, Shared, Signals};
use crate::actors::{CommandError, Core};
use crate::domain::line::{Entry, EntryStatus, Line};
use crate::domain::{DomainError, EventId, Timestamp, UserId};
use crate::views::QueueEntryView;

/// The waiting rooms: join, read, watch.
#[derive(Clone)]
pub struct Queue {
    core: Arc<Core>,
    lines: Arc<Lines>,
}

/// One account's view of one line, to watch: its entry now, and the
/// signals that the line moved or the entry itself changed.
pub struct Watch {
    lines: Arc<Lines>,
    core: Arc<Core>,
    user: UserId,
    /// See [`Signals`].
    pub signals: Signals,
}

impl Watch {
    /// The entry now; `None` once the line is gone (the event deleted).
    pub fn entry(&self) -> Option<QueueEntryView> {
        entry_view(self.signals.shared(), self.user, &self.lines, &self.core)
    }
}

/// `user`'s entry in the line `shared` now; `None` when it has none or
/// the line is gone.
fn entry_view(shared: &Shared, user: UserId, lines: &Lines, core: &Core) -> Option<QueueEntryView> {
    if shared.closed() {
        return None;
    }
    let line = shared.line.read().expect("line lock");
    let entry = line.entry(user)?;
    Some(view(&line, entry, lines, core.clock.now()))
}

/// The contract's view of `entry` in `line` at `now`.
fn view(line: &Line, entry: &Entry, lines: &Lines, now: Timestamp) -> QueueEntryView {
    let admitted = entry.status == EntryStatus::Admitted;
    QueueEntryView {
        event_id: entry.event.to_string(),
        status: entry.status.as_str(),
        position: entry.place,
        ahead: line.ahead(entry),
        eta_secs: line.eta_secs(entry, now),
        pass: admitted.then(|| lines.passes().issue(entry)).flatten(),
        pass_expires_at: admitted
            .then(|| entry.pass_expires_at.map(Timestamp::to_rfc3339))
            .flatten(),
    }
}

impl Queue {
    /// The handle over `core`'s lines.
    pub(crate) fn new(core: Arc<Core>, lines: Arc<Lines>) -> Self {
        Queue { core, lines }
    }

    /// `user` joins the line of `event` (again: the same entry); 404 for no
    /// such event, 400 for an event without a queue.
    pub async fn join(&self, event: EventId, user: UserId) -> Result<QueueEntryView, CommandError> {
        self.core
            .read_model
            .event_map(event)
            .ok_or(CommandError::NotFound)?;
        let entry = self
            .lines
            .join(event, user)
            .await
            .ok_or(DomainError::NoQueue)??;
        let shared = self.lines.shared(event).ok_or(CommandError::NotFound)?;
        let line = shared.line.read().expect("line lock");
        Ok(view(&line, &entry, &self.lines, self.core.clock.now()))
    }

    /// `user`'s entry in the line of `event`; 404 for no such event or no
    /// entry.
    pub fn entry(&self, event: EventId, user: UserId) -> Result<QueueEntryView, CommandError> {
        let shared = self.lines.shared(event).ok_or(CommandError::NotFound)?;
        entry_view(&shared, user, &self.lines, &self.core).ok_or(CommandError::NotFound)
    }

    /// A watch on `user`'s entry in the line of `event`; 404 as `entry`.
    pub fn watch(&self, event: EventId, user: UserId) -> Result<Watch, CommandError> {
        let shared = self.lines.shared(event).ok_or(CommandError::NotFound)?;
        if shared.line.read().expect("line lock").entry(user).is_none() {
            return Err(CommandError::NotFound);
        }
        Ok(Watch {
            signals: shared.signals(user),
            lines: self.lines.clone(),
            core: self.core.clone(),
            user,
        })
    }
}
