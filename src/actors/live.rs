//! The `LiveHub`: fan-out of committed changes to live subscribers, by
//! [`Topic`]. Each topic has its own bounded broadcast of changes, each
//! serialised once and shared by every subscriber, and its own snapshot: the
//! topic's whole state as one message, encoded once per state of the topic
//! (on a blocking thread) and shared by every subscriber that joins while
//! that state lasts.
//!
//! The hub does not own the state it reports on: the owner (the read model)
//! calls [`LiveHub::publish`] under its write lock and
//! [`LiveHub::subscribe`] under its read lock, so a subscription's snapshot
//! and its changes neither overlap nor leave a gap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::{BoxFuture, FutureExt, Shared};
use serde::{Serialize, Serializer};
use tokio::sync::broadcast;

use crate::domain::{EventId, Ticket, TicketId};

/// How many changes a subscriber may fall behind before it is resynchronised.
pub const LIVE_BACKLOG: usize = 4096;

/// What a live feed is about. Each topic has its own changes, snapshot and
/// subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every ticket sold on its own (`GET /api/tickets/live`).
    Tickets,
    /// One event's seat map (`GET /api/events/:id/live`).
    Event(EventId),
}

impl Topic {
    /// The topic's kind, as a metric label: a kind and never an id, so label
    /// values stay few however many topics there are.
    pub fn kind(self) -> &'static str {
        match self {
            Topic::Tickets => "tickets",
            Topic::Event(_) => "event",
        }
    }
}

/// A message as subscribers receive it, tagged by `type`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Event<'a> {
    Snapshot {
        tickets: TicketList<'a>,
    },
    Ticket {
        ticket: &'a crate::views::TicketView,
    },
    Deleted {
        id: String,
    },
}

/// A message of an event's feed, tagged by `type`.
#[derive(Serialize)]
#[serde(
    tag = "type",
    rename_all = "lowercase",
    bound(serialize = "I: Iterator<Item = Ticket> + Clone")
)]
enum SeatEvent<'a, I: Iterator<Item = Ticket> + Clone> {
    Snapshot {
        event: &'a crate::views::EventView,
        seats: TicketIter<I>,
    },
    Seats {
        seats: TicketList<'a>,
    },
}

/// Tickets made one at a time as they are serialised (a 100,000-seat
/// snapshot never holds 100,000 tickets at once).
struct TicketIter<I>(I);

impl<I: Iterator<Item = Ticket> + Clone> Serialize for TicketIter<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone().map(|t| crate::views::ticket(&t)))
    }
}

/// The type of [`SeatEvent`]s that carry no iterator.
type NoSeats = std::iter::Empty<Ticket>;

/// Tickets serialised one view at a time, without a list of views.
struct TicketList<'a>(&'a [Ticket]);

impl Serialize for TicketList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(crate::views::ticket))
    }
}

fn encode(event: &Event) -> Bytes {
    Bytes::from(serde_json::to_vec(event).expect("a live event always serialises"))
}

/// Encodes a topic's snapshot from a copy of its state; runs on a blocking
/// thread, after the state's lock is released.
pub type Encoder = Box<dyn FnOnce() -> Bytes + Send>;

/// A topic's snapshot message at one state of the topic: encoded once, on a
/// blocking thread, when a subscriber first awaits it, and shared (the same
/// bytes) by every subscriber that joined at that state.
#[derive(Clone)]
pub struct Snapshot(Shared<BoxFuture<'static, Option<Bytes>>>);

impl Snapshot {
    fn new(topic: Topic, encoder: Encoder) -> Self {
        let encoded = async move {
            tokio::task::spawn_blocking(move || {
                metrics::counter!("live_snapshot_encodes_total", "topic" => topic.kind())
                    .increment(1);
                encoder()
            })
            .await
            .ok()
        };
        Snapshot(encoded.boxed().shared())
    }

    /// The encoded message; `None` if encoding failed (the encoding task
    /// panicked, or was cancelled at shutdown).
    pub async fn bytes(self) -> Option<Bytes> {
        self.0.await
    }
}

/// A new subscriber's start: the topic's snapshot, then every change after it.
pub struct Subscription {
    /// The topic's state when the subscription started.
    pub snapshot: Snapshot,
    /// Every change after the snapshot, in commit order.
    pub changes: broadcast::Receiver<Bytes>,
}

/// One topic's broadcast and the snapshot of its current state.
struct Feed {
    tx: broadcast::Sender<Bytes>,
    /// Set by the first subscriber at the current state; forgotten at the
    /// next change, so an old snapshot is pinned only by its readers.
    snapshot: Mutex<Option<Snapshot>>,
}

/// Fan-out of changes to live sessions, by topic. A topic's feed exists
/// while someone watches it: it is made by the first subscriber and dropped
/// at the first change nobody watches.
#[derive(Default)]
pub struct LiveHub {
    feeds: Mutex<HashMap<Topic, Arc<Feed>>>,
}

impl LiveHub {
    /// `{"type":"ticket","ticket":...}`, serialised once for everyone.
    pub fn ticket_event(t: &Ticket) -> Bytes {
        encode(&Event::Ticket {
            ticket: &crate::views::ticket(t),
        })
    }

    /// `{"type":"deleted","id":...}`.
    pub fn deleted_event(id: TicketId) -> Bytes {
        encode(&Event::Deleted { id: id.to_string() })
    }

    /// `{"type":"snapshot","tickets":[...]}`: the snapshot of
    /// [`Topic::Tickets`].
    pub fn tickets_snapshot(tickets: &[Ticket]) -> Bytes {
        let mut json = serde_json::to_vec(&Event::Snapshot {
            tickets: TicketList(tickets),
        })
        .expect("a live snapshot always serialises");
        // Shared by many and kept while the state lasts: no spare capacity.
        json.shrink_to_fit();
        Bytes::from(json)
    }

    /// `{"type":"seats","seats":[...]}`: every seat one change of an event
    /// touched, in one message.
    pub fn seats_event(seats: &[Ticket]) -> Bytes {
        Bytes::from(
            serde_json::to_vec(&SeatEvent::Seats::<NoSeats> {
                seats: TicketList(seats),
            })
            .expect("a live event always serialises"),
        )
    }

    /// `{"type":"snapshot","event":...,"seats":[...]}`: the snapshot of an
    /// event's feed, its seats in map order.
    pub fn event_snapshot(
        event: &crate::views::EventView,
        seats: impl Iterator<Item = Ticket> + Clone,
    ) -> Bytes {
        let mut json = serde_json::to_vec(&SeatEvent::Snapshot {
            event,
            seats: TicketIter(seats),
        })
        .expect("a live snapshot always serialises");
        json.shrink_to_fit();
        Bytes::from(json)
    }

    /// `{"type":"deleted"}`: an event's feed's last message.
    pub fn event_deleted() -> Bytes {
        Bytes::from_static(br#"{"type":"deleted"}"#)
    }

    /// Ends `topic`'s feed: `last` goes to its subscribers after every
    /// change before it, then their receivers report the feed closed. Call
    /// it under the write lock of the topic's state.
    pub fn end(&self, topic: Topic, last: Bytes) {
        if let Some(feed) = self.feeds.lock().expect("live hub lock").remove(&topic) {
            let _ = feed.tx.send(last);
        }
    }

    /// Whether anyone watches `topic`, so its changes are worth encoding.
    pub fn watched(&self, topic: Topic) -> bool {
        self.feeds
            .lock()
            .expect("live hub lock")
            .get(&topic)
            .is_some_and(|f| f.tx.receiver_count() > 0)
    }

    /// Records a change of `topic`'s state: its snapshot is out of date, and
    /// `events` (none if nobody watched when the change was made) go to its
    /// subscribers. Call it under the write lock of the topic's state.
    pub fn publish(&self, topic: Topic, events: Vec<Bytes>) {
        let mut feeds = self.feeds.lock().expect("live hub lock");
        let Some(feed) = feeds.get(&topic) else {
            return;
        };
        if feed.tx.receiver_count() == 0 {
            feeds.remove(&topic);
            return;
        }
        feed.snapshot.lock().expect("live snapshot lock").take();
        for event in events {
            let _ = feed.tx.send(event);
        }
    }

    /// A subscription to `topic`. The snapshot is the one of the topic's
    /// current state if a subscriber already asked for it; else `state`
    /// copies the state (under the caller's lock) and the copy is encoded
    /// when the snapshot is first awaited. Call it under the read lock of
    /// the topic's state.
    pub fn subscribe(&self, topic: Topic, state: impl FnOnce() -> Encoder) -> Subscription {
        let feed = self
            .feeds
            .lock()
            .expect("live hub lock")
            .entry(topic)
            .or_insert_with(|| {
                let (tx, _) = broadcast::channel(LIVE_BACKLOG);
                Arc::new(Feed {
                    tx,
                    snapshot: Mutex::default(),
                })
            })
            .clone();
        let changes = feed.tx.subscribe();
        // Held while `state` copies: joiners at the same state wait for this
        // one copy instead of making their own.
        let snapshot = feed
            .snapshot
            .lock()
            .expect("live snapshot lock")
            .get_or_insert_with(|| Snapshot::new(topic, state()))
            .clone();
        Subscription { snapshot, changes }
    }

    /// Current subscribers, over every topic.
    pub fn subscribers(&self) -> usize {
        self.feeds
            .lock()
            .expect("live hub lock")
            .values()
            .map(|f| f.tx.receiver_count())
            .sum()
    }
}
