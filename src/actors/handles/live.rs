//! [`Live`]: the typed API for live subscribers.

use std::sync::Arc;

use crate::actors::live::{Subscription, Topic};
use crate::actors::Core;

/// Subscriptions to the committed changes of a topic.
#[derive(Clone)]
pub struct Live {
    core: Arc<Core>,
}

impl Live {
    /// The handle over `core`'s read model and its hub.
    pub(crate) fn new(core: Arc<Core>) -> Self {
        Live { core }
    }

    /// The topic's current snapshot and every change after it, exactly
    /// once.
    pub fn subscribe(&self, topic: Topic) -> Subscription {
        self.core.read_model.subscribe(topic)
    }

    /// A subscription to event `id`'s seat map; `None` for no such event.
    pub fn subscribe_event(&self, id: crate::domain::EventId) -> Option<Subscription> {
        self.core.read_model.subscribe_event(id)
    }

    /// Turns `true` when the server shuts down, so sessions can end.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.core.read_model.closing()
    }

    /// Ends every live session (at shutdown).
    pub fn close(&self) {
        self.core.read_model.close_live();
    }
}
