//! The waiting room of a queued event: the line, its places, the random
//! draw at the on-sale, admissions and their passes. Plain data and rules;
//! the event's line actor applies them one message at a time and stores
//! every change before anyone is told.
//!
//! Places: an account that joins before `onSaleAt` waits unplaced; at
//! `onSaleAt` every early entry gets a place from a uniformly random
//! shuffle (only the seed is stored: the places follow from it, for a
//! restart and for an audit alike), then later
//! arrivals get the next place at once. Admission follows places, so the
//! entries still waiting are exactly those placed after the last admitted
//! place: a watcher computes `ahead` from that one shared number.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::shuffle::shuffle;
use super::{EventId, OrderId, Timestamp, UserId};

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryStatus {
    /// In line.
    Waiting,
    /// Admitted: may place one order with its pass.
    Admitted,
    /// Its pass was used and its order was paid, cancelled or lapsed.
    Done,
    /// Its pass ran out unused.
    Expired,
    /// Every seat was sold while it waited.
    Soldout,
}

impl EntryStatus {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Waiting => "waiting",
            EntryStatus::Admitted => "admitted",
            EntryStatus::Done => "done",
            EntryStatus::Expired => "expired",
            EntryStatus::Soldout => "soldout",
        }
    }
}

/// One account's place in one event's line, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The event.
    pub event: EventId,
    /// The account.
    pub user: UserId,
    /// When it joined.
    pub joined_at: Timestamp,
    /// Its place (1 is the first); `None` until the draw for early entries.
    pub place: Option<u64>,
    /// Where it stands.
    pub status: EntryStatus,
    /// When it was admitted.
    pub admitted_at: Option<Timestamp>,
    /// When its pass runs out, if unused.
    pub pass_expires_at: Option<Timestamp>,
    /// The order placed with its pass.
    pub order: Option<OrderId>,
}

impl Entry {
    /// Whether it joined before `on_sale_at`: the draw places it (a later
    /// join is placed when it joins).
    pub fn is_early(&self, on_sale_at: Timestamp) -> bool {
        self.joined_at < on_sale_at
    }
}

/// The draw of one event's early entries, stored instead of their places
/// and kept so it can be audited: the shuffle with this seed of the early
/// entries sorted by join instant and then account id gives their places
/// (see [`Line::drawn_order`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    /// The event.
    pub event: EventId,
    /// The shuffle's seed.
    pub seed: u64,
    /// When it was drawn.
    pub at: Timestamp,
    /// How many entries it placed.
    pub placed: u64,
}

/// A draw as decided: its record and the order it drew, computed once
/// from the deciding line's early entries and used as is for the readers'
/// line, which holds the same early entries by the time the draw's batch
/// is stored (nobody joins early once the draw is decided).
#[derive(Debug, Clone)]
pub struct Drawn {
    /// What is stored.
    pub record: Draw,
    /// The early entries in the order drawn: place 1 first.
    pub order: Vec<UserId>,
}

/// What admission looks at besides the line: the event's seats now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seats {
    /// Free now.
    pub available: u32,
    /// Held by orders now.
    pub reserved: u32,
}

/// One event's line.
#[derive(Debug, Clone)]
pub struct Line {
    event: EventId,
    on_sale_at: Timestamp,
    entries: HashMap<UserId, Entry>,
    /// Placed entries by place.
    by_place: BTreeMap<u64, UserId>,
    /// Early entries waiting for the draw (the draw's count; a join after
    /// the on-sale but before the draw is stored is placed behind them).
    unplaced: u64,
    drawn: bool,
    /// The highest place admitted (or turned away as sold out).
    moved_to: u64,
    /// Admitted entries still shopping (admitted, not done or expired): the
    /// only ones whose pass can lapse, so a tick never walks the whole line.
    shopping: HashSet<UserId>,
    /// When the admissions of the last minute happened (for the ETA).
    recent: VecDeque<Timestamp>,
}

/// How long admissions count for the ETA.
const ETA_WINDOW: Duration = Duration::from_secs(60);
/// The shortest span admissions are counted over for the ETA: the first
/// admissions of a sale come together.
const ETA_MIN_SPAN: Duration = Duration::from_secs(1);

impl Line {
    /// An empty line for `event`, on sale at `on_sale_at`.
    pub fn new(event: EventId, on_sale_at: Timestamp) -> Self {
        Line {
            event,
            on_sale_at,
            entries: HashMap::new(),
            by_place: BTreeMap::new(),
            unplaced: 0,
            drawn: false,
            moved_to: 0,
            shopping: HashSet::new(),
            recent: VecDeque::new(),
        }
    }

    /// The line as stored: its entries and its draw, if it happened.
    pub fn restore(
        event: EventId,
        on_sale_at: Timestamp,
        mut entries: Vec<Entry>,
        draw: Option<&Draw>,
    ) -> Self {
        let mut line = Line::new(event, on_sale_at);
        line.drawn = draw.is_some();
        entries.sort_by_key(|e| (e.joined_at, e.user));
        for e in entries {
            line.index(&e);
            line.entries.insert(e.user, e);
        }
        if let Some(draw) = draw {
            line.place_drawn(&line.drawn_order(draw.seed));
        }
        // The admissions of the last minute, for the ETA, from when each
        // admitted entry was admitted.
        let mut admitted: Vec<Timestamp> = line
            .entries
            .values()
            .filter_map(|e| e.admitted_at)
            .collect();
        admitted.sort_unstable();
        line.recent = admitted.into();
        line
    }

    fn index(&mut self, e: &Entry) {
        match e.place {
            Some(place) => {
                self.by_place.insert(place, e.user);
                if e.status != EntryStatus::Waiting {
                    self.moved_to = self.moved_to.max(place);
                }
            }
            None => self.unplaced += 1,
        }
        if e.status == EntryStatus::Admitted {
            self.shopping.insert(e.user);
        }
    }

    /// The event.
    pub fn event(&self) -> EventId {
        self.event
    }

    /// Whether the draw has happened.
    pub fn drawn(&self) -> bool {
        self.drawn
    }

    /// The highest place admitted or turned away: every entry placed after
    /// it is still waiting.
    pub fn moved_to(&self) -> u64 {
        self.moved_to
    }

    /// `user`'s entry.
    pub fn entry(&self, user: UserId) -> Option<&Entry> {
        self.entries.get(&user)
    }

    /// Every entry (for restoring watchers' views).
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// How many entries before `entry` still wait: `None` until placed.
    pub fn ahead(&self, entry: &Entry) -> Option<u64> {
        let place = entry.place?;
        Some(match entry.status {
            EntryStatus::Waiting => place.saturating_sub(self.moved_to + 1),
            _ => 0,
        })
    }

    /// The honest estimate of seconds until `entry` is admitted, from the
    /// admissions of the last minute (of the time since the on-sale, in
    /// the sale's first minute, at least a second: counting a minute then
    /// made the ETA up to sixty times too long); `None` with nothing to go
    /// on.
    pub fn eta_secs(&self, entry: &Entry, now: Timestamp) -> Option<u64> {
        if entry.status != EntryStatus::Waiting {
            return None;
        }
        let ahead = self.ahead(entry)?;
        let window_start = Timestamp(now.0 - ETA_WINDOW.as_millis() as i64);
        // `recent` is in admission order, so the window is its tail.
        let recent =
            (self.recent.len() - self.recent.partition_point(|t| *t < window_start)) as u64;
        if recent == 0 {
            return None;
        }
        let span_ms = (now.0 - self.on_sale_at.0).clamp(
            ETA_MIN_SPAN.as_millis() as i64,
            ETA_WINDOW.as_millis() as i64,
        ) as u64;
        // (ahead + 1) admissions at `recent` per `span_ms`.
        Some(((ahead + 1) * span_ms).div_ceil(recent * 1000))
    }

    /// `user` joins at `now`: a new entry, or the one it already has. Before
    /// the on-sale it waits unplaced for the draw; after it, it takes the
    /// next place (after every early entry: a draw due but not yet stored
    /// must go in the same batch, see [`Line::draw`]). Once the draw is
    /// done a join is dated at the on-sale at the earliest.
    pub fn join(&self, user: UserId, now: Timestamp) -> (Entry, bool) {
        if let Some(e) = self.entries.get(&user) {
            return (e.clone(), false);
        }
        let unplaced = if self.drawn { 0 } else { self.unplaced };
        // After the draw nobody is early, whatever the clock says (set
        // back below the on-sale, it would leave the entry unplaced for
        // good, and a restart would redo the draw with it among the early).
        let joined_at = if self.drawn {
            now.max(self.on_sale_at)
        } else {
            now
        };
        let place = (joined_at >= self.on_sale_at).then(|| self.next_place() + unplaced);
        let entry = Entry {
            event: self.event,
            user,
            joined_at,
            place,
            status: EntryStatus::Waiting,
            admitted_at: None,
            pass_expires_at: None,
            order: None,
        };
        (entry, true)
    }

    fn next_place(&self) -> u64 {
        self.by_place.keys().next_back().map_or(1, |p| p + 1)
    }

    /// Whether the draw is due at `now`.
    pub fn draw_due(&self, now: Timestamp) -> bool {
        !self.drawn && now >= self.on_sale_at
    }

    /// The draw with `seed` at `now`: the record and the order that,
    /// applied, give every early entry a place in a uniformly random order
    /// (see [`Line::drawn_order`]). The places are not stored entry by
    /// entry: they follow from the seed and the stored entries, so the
    /// draw's durable write is the record alone (33,334 entries were 34 ms
    /// of writing, with every join of the on-sale waiting behind it).
    pub fn draw(&self, seed: u64, now: Timestamp) -> Drawn {
        let order = self.drawn_order(seed);
        Drawn {
            record: Draw {
                event: self.event,
                seed,
                at: now,
                placed: order.len() as u64,
            },
            order,
        }
    }

    /// The early entries (joined before `onSaleAt`, the draw's place
    /// 1 first) in the order `seed` draws them: sorted by when they joined
    /// and then by account id (an order the stored entries give back
    /// exactly), then shuffled.
    pub fn drawn_order(&self, seed: u64) -> Vec<UserId> {
        let mut order: Vec<(Timestamp, UserId)> = self
            .entries
            .values()
            .filter(|e| e.is_early(self.on_sale_at))
            .map(|e| (e.joined_at, e.user))
            .collect();
        order.sort_unstable();
        let mut order: Vec<UserId> = order.into_iter().map(|(_, user)| user).collect();
        shuffle(&mut order, seed);
        order
    }

    /// Gives every early entry that has none its place from the drawn
    /// `order`: place `i + 1` to the `i`-th. Entries stored since with
    /// their place keep it. Returns who was placed.
    ///
    /// The entries are walked in the order they lie in memory, each looking
    /// its place up in a compact map of ranks, and the places are built as
    /// one sorted run: walked in the drawn (random) order, every entry was
    /// a cache miss and every place a tree insert, and the draw held every
    /// join of the on-sale for ~12 ms at 33,334 early entries.
    fn place_drawn(&mut self, order: &[UserId]) -> Vec<UserId> {
        let rank: HashMap<UserId, usize> = order.iter().enumerate().map(|(i, &u)| (u, i)).collect();
        let mut taken = vec![false; order.len()];
        let mut placed = Vec::with_capacity(order.len());
        for e in self.entries.values_mut() {
            if e.place.is_some() {
                continue;
            }
            if let Some(&i) = rank.get(&e.user) {
                e.place = Some(i as u64 + 1);
                taken[i] = true;
                placed.push(e.user);
            }
        }
        let mut drawn: BTreeMap<u64, UserId> = order
            .iter()
            .enumerate()
            .filter(|&(i, _)| taken[i])
            .map(|(i, &user)| (i as u64 + 1, user))
            .collect();
        self.by_place.append(&mut drawn);
        self.unplaced = 0;
        placed
    }

    /// Who is admitted now: while fewer than `active` admitted buyers shop
    /// and a seat is free, the next in line, with a pass good for `pass`.
    /// When no seat is free and none is held, everyone waiting is sold out.
    pub fn admissions(
        &self,
        now: Timestamp,
        active: usize,
        pass: Duration,
        seats: Seats,
    ) -> Vec<Entry> {
        let waiting = self
            .by_place
            .range(self.moved_to + 1..)
            .map(|(_, u)| &self.entries[u]);
        if seats.available == 0 && seats.reserved == 0 {
            return waiting
                .map(|e| Entry {
                    status: EntryStatus::Soldout,
                    ..e.clone()
                })
                .collect();
        }
        if seats.available == 0 {
            return Vec::new();
        }
        waiting
            .take(active.saturating_sub(self.shopping.len()))
            .map(|e| Entry {
                status: EntryStatus::Admitted,
                admitted_at: Some(now),
                pass_expires_at: Some(now.plus(pass)),
                ..e.clone()
            })
            .collect()
    }

    /// Admitted entries whose pass ran out unused at `now`.
    pub fn lapsed_passes(&self, now: Timestamp) -> Vec<Entry> {
        self.shopping
            .iter()
            .filter_map(|u| self.entries.get(u))
            .filter(|e| e.order.is_none() && e.pass_expires_at.is_some_and(|t| now >= t))
            .map(|e| Entry {
                status: EntryStatus::Expired,
                ..e.clone()
            })
            .collect()
    }

    /// `user`'s entry once its pass placed `order`.
    pub fn ordered(&self, user: UserId, order: OrderId) -> Option<Entry> {
        let e = self.entries.get(&user)?;
        (e.status == EntryStatus::Admitted && e.order.is_none()).then(|| Entry {
            order: Some(order),
            ..e.clone()
        })
    }

    /// `user`'s entry once the order of its pass ended (paid, cancelled or
    /// lapsed).
    pub fn order_ended(&self, user: UserId, order: OrderId) -> Option<Entry> {
        let e = self.entries.get(&user)?;
        (e.status == EntryStatus::Admitted && e.order == Some(order)).then(|| Entry {
            status: EntryStatus::Done,
            ..e.clone()
        })
    }

    /// Takes `entries` (durable now) into the line, then `draw`, which
    /// places every early entry without a place. `now` dates admissions
    /// for the ETA. Returns the accounts the draw placed.
    pub fn apply(
        &mut self,
        entries: &[Entry],
        draw: Option<&Drawn>,
        now: Timestamp,
    ) -> Vec<UserId> {
        for e in entries {
            let old = self.entries.insert(e.user, e.clone());
            let was_shopping = old
                .as_ref()
                .is_some_and(|o| o.status == EntryStatus::Admitted);
            let shopping = e.status == EntryStatus::Admitted;
            match (was_shopping, shopping) {
                (false, true) => {
                    self.shopping.insert(e.user);
                    // Kept in order (the window is found by bisection),
                    // whatever a clock set back says.
                    let at = self.recent.back().map_or(now, |b| now.max(*b));
                    self.recent.push_back(at);
                }
                (true, false) => {
                    self.shopping.remove(&e.user);
                }
                _ => {}
            }
            match e.place {
                Some(place) => {
                    self.by_place.insert(place, e.user);
                    if e.status != EntryStatus::Waiting {
                        self.moved_to = self.moved_to.max(place);
                    }
                }
                None if old.is_none() => self.unplaced += 1,
                None => {}
            }
        }
        let window_start = Timestamp(now.0 - ETA_WINDOW.as_millis() as i64);
        while self.recent.front().is_some_and(|t| *t < window_start) {
            self.recent.pop_front();
        }
        // After the batch's entries: an early join stored with the draw
        // is placed too (the batch's admissions came with their places).
        match draw {
            Some(draw) => {
                self.drawn = true;
                self.place_drawn(&draw.order)
            }
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests;
