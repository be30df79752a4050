//! Events: a whole on-sale laid out once by its organiser. An event's map is
//! its sections in the order given; a seated section has rows (a label and
//! a count of seats numbered from 1), a standing section a capacity of
//! unnumbered places. Every seat is a ticket, and the seats of one event
//! have consecutive ids in map order (`first_seat`, `first_seat + 1`, ...),
//! so a seat's place in the map is its id's offset, and one event's seats
//! are one range of keys, never a scan of other events.

use serde::{Deserialize, Serialize};

use super::{EventDate, EventId, OrderId, Price, SeatPosition, Ticket, TicketId, TicketStatus};
use super::{Timestamp, Title, UserId};

/// The most seats one event may have.
pub const MAX_SEATS: u32 = 100_000;
/// The most rows one event may have, over all its sections.
pub const MAX_ROWS: usize = 10_000;
/// The most seats one order may take, and one buyer may hold or own per event.
pub const MAX_SEATS_PER_BUYER: usize = 10;

/// A row of a seated section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// The row's label, unique in its section.
    pub label: String,
    /// How many seats it has, numbered 1 to `seats`.
    pub seats: u32,
}

/// How a section's places are laid out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// Numbered seats in labelled rows.
    Rows(Vec<Row>),
    /// Unnumbered places, up to a capacity.
    Standing(u32),
}

/// One section of an event's map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Its name, unique in its event.
    pub name: String,
    /// The price of each of its seats.
    pub price: Price,
    /// Its rows, or its standing capacity.
    pub layout: Layout,
}

impl Section {
    /// How many seats (or places) it has.
    pub fn seat_count(&self) -> u32 {
        match &self.layout {
            Layout::Rows(rows) => rows.iter().map(|r| r.seats).sum(),
            Layout::Standing(capacity) => *capacity,
        }
    }
}

/// An event, as stored: what its organiser laid out. Its seats' states
/// live in their tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Its id.
    pub id: EventId,
    /// Its name (every seat's title).
    pub name: Title,
    /// Where it takes place, if said.
    pub venue: Option<String>,
    /// When it starts (every seat's date).
    pub starts_at: Timestamp,
    /// When its seats go on sale; `None`: from its creation.
    pub on_sale_at: Option<Timestamp>,
    /// Who put it on sale (every seat's seller).
    pub organizer: UserId,
    /// Whether buyers are admitted through the waiting room.
    pub queue: bool,
    /// Its map, in the order given.
    pub sections: Vec<Section>,
    /// The id of its first seat; the others follow in map order.
    pub first_seat: TicketId,
    /// When it was created.
    pub created_at: Timestamp,
}

/// Where in an event's map a run of seats lies: one row of a seated
/// section, or a whole standing section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    /// The map offset of its first seat.
    pub start: u32,
    /// How many seats it has.
    pub len: u32,
    /// Its section's index.
    pub section: usize,
    /// Its row's index in the section; `None` for a standing section.
    pub row: Option<usize>,
}

/// An event with its map indexed: the block (row or standing section) of
/// every seat found by binary search, so a seat's ticket is built from its
/// offset alone. The event never changes once created, so this is built once.
#[derive(Debug, Clone)]
pub struct SeatMap {
    event: Event,
    blocks: Vec<Block>,
    section_starts: Vec<u32>,
    total: u32,
}

impl SeatMap {
    /// Indexes `event`'s map.
    pub fn new(event: Event) -> Self {
        let mut blocks = Vec::new();
        let mut section_starts = Vec::with_capacity(event.sections.len());
        let mut at = 0u32;
        for (si, section) in event.sections.iter().enumerate() {
            section_starts.push(at);
            match &section.layout {
                Layout::Rows(rows) => {
                    for (ri, row) in rows.iter().enumerate() {
                        blocks.push(Block {
                            start: at,
                            len: row.seats,
                            section: si,
                            row: Some(ri),
                        });
                        at += row.seats;
                    }
                }
                Layout::Standing(capacity) => {
                    blocks.push(Block {
                        start: at,
                        len: *capacity,
                        section: si,
                        row: None,
                    });
                    at += capacity;
                }
            }
        }
        SeatMap {
            event,
            blocks,
            section_starts,
            total: at,
        }
    }

    /// The event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// How many seats it has.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Its rows and standing sections, in map order.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// The map offsets of section `index`'s seats.
    pub fn section_range(&self, index: usize) -> std::ops::Range<u32> {
        let start = self.section_starts[index];
        let end = self
            .section_starts
            .get(index + 1)
            .copied()
            .unwrap_or(self.total);
        start..end
    }

    /// The index of the section named `name`.
    pub fn section_index(&self, name: &str) -> Option<usize> {
        self.event.sections.iter().position(|s| s.name == name)
    }

    /// The map offset of ticket `id`, if it is a seat of this event.
    pub fn offset_of(&self, id: TicketId) -> Option<u32> {
        let off = id.0.checked_sub(self.event.first_seat.0)?;
        (off < u64::from(self.total)).then_some(off as u32)
    }

    /// The ticket id of the seat at map offset `offset`.
    pub fn seat_id(&self, offset: u32) -> TicketId {
        TicketId(self.event.first_seat.0 + u64::from(offset))
    }

    /// The block holding map offset `offset` (which must be below `total`).
    pub fn block_of(&self, offset: u32) -> &Block {
        let i = self.blocks.partition_point(|b| b.start <= offset) - 1;
        &self.blocks[i]
    }

    /// The place of the seat at `offset`.
    pub fn position(&self, offset: u32) -> SeatPosition {
        let block = self.block_of(offset);
        let section = &self.event.sections[block.section];
        let (row, number) = match (&section.layout, block.row) {
            (Layout::Rows(rows), Some(ri)) => {
                (Some(rows[ri].label.clone()), Some(offset - block.start + 1))
            }
            _ => (None, None),
        };
        SeatPosition {
            section: section.name.clone(),
            row,
            number,
        }
    }

    /// The ticket of the seat at `offset`, in the state `seat`.
    pub fn ticket(&self, offset: u32, seat: SeatState) -> Ticket {
        let block = self.block_of(offset);
        let section = &self.event.sections[block.section];
        Ticket {
            event_id: Some(self.event.id),
            seat: Some(self.position(offset)),
            version: seat.version,
            status: seat.status,
            order_id: seat.order_id,
            ..Ticket::new(
                self.seat_id(offset),
                self.event.organizer,
                self.event.name.clone(),
                section.price,
                EventDate(Some(self.event.starts_at)),
            )
        }
    }

    /// The best `quantity` seats among those `free` says are free, within
    /// `within` (map offsets): the first run of `quantity` adjacent free
    /// seats in one row (any `quantity` free places of one standing section
    /// count as adjacent), in map order; failing that, the first free seats
    /// in map order. `None` when fewer than `quantity` are free.
    pub fn best_available(
        &self,
        quantity: usize,
        within: std::ops::Range<u32>,
        free: impl Fn(u32) -> bool,
    ) -> Option<Vec<u32>> {
        let q = quantity as u32;
        for block in &self.blocks {
            let start = block.start.max(within.start);
            let end = (block.start + block.len).min(within.end);
            if start >= end {
                continue;
            }
            if block.row.is_none() {
                let places: Vec<u32> = (start..end).filter(|&o| free(o)).take(quantity).collect();
                if places.len() == quantity {
                    return Some(places);
                }
                continue;
            }
            let mut run = 0u32;
            for o in start..end {
                if free(o) {
                    run += 1;
                    if run == q {
                        return Some((o + 1 - q..=o).collect());
                    }
                } else {
                    run = 0;
                }
            }
        }
        let first: Vec<u32> = within.filter(|&o| free(o)).take(quantity).collect();
        (first.len() == quantity).then_some(first)
    }
}

/// The part of a seat's ticket that changes: everything else comes from
/// its event's map. The read model keeps one of these per seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatState {
    /// The ticket's version.
    pub version: u64,
    /// Where it stands.
    pub status: TicketStatus,
    /// The order holding or owning it.
    pub order_id: Option<OrderId>,
}

impl SeatState {
    /// A new seat: available, version 0.
    pub const FRESH: SeatState = SeatState {
        version: 0,
        status: TicketStatus::Available,
        order_id: None,
    };

    /// The changing part of `ticket`.
    pub fn of(ticket: &Ticket) -> Self {
        SeatState {
            version: ticket.version,
            status: ticket.status,
            order_id: ticket.order_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> SeatMap {
        let price = Price::from_cents(1000).unwrap();
        SeatMap::new(Event {
            id: EventId(1),
            name: Title::parse("Gig").unwrap(),
            venue: None,
            starts_at: Timestamp(0),
            on_sale_at: None,
            organizer: UserId(9),
            queue: false,
            sections: vec![
                Section {
                    name: "Stalls".into(),
                    price,
                    layout: Layout::Rows(vec![
                        Row {
                            label: "A".into(),
                            seats: 3,
                        },
                        Row {
                            label: "B".into(),
                            seats: 5,
                        },
                    ]),
                },
                Section {
                    name: "Floor".into(),
                    price,
                    layout: Layout::Standing(4),
                },
            ],
            first_seat: TicketId(100),
            created_at: Timestamp(0),
        })
    }

    #[test]
    fn offsets_map_to_places_in_map_order() {
        let m = map();
        assert_eq!(m.total(), 12);
        assert_eq!(m.offset_of(TicketId(100)), Some(0));
        assert_eq!(m.offset_of(TicketId(112)), None);
        assert_eq!(m.offset_of(TicketId(99)), None);
        let p = m.position(4);
        assert_eq!(
            (p.section.as_str(), p.row.as_deref(), p.number),
            ("Stalls", Some("B"), Some(2))
        );
        let p = m.position(9);
        assert_eq!((p.section.as_str(), p.row, p.number), ("Floor", None, None));
        assert_eq!(m.section_range(1), 8..12);
        let t = m.ticket(4, SeatState::FRESH);
        assert_eq!(t.id, TicketId(104));
        assert_eq!(t.event_id, Some(EventId(1)));
        assert_eq!(t.seller, UserId(9));
    }

    #[test]
    fn best_available_prefers_a_block_in_one_row_then_map_order() {
        let m = map();
        // Row A: seat 2 taken; row B free: 3 together come from row B.
        let taken = [1u32];
        let best = m.best_available(3, 0..12, |o| !taken.contains(&o)).unwrap();
        assert_eq!(best, vec![3, 4, 5]);
        // Two together fit nowhere in the rows when every other seat is taken.
        let taken = [1u32, 4, 6];
        let best = m.best_available(2, 0..8, |o| !taken.contains(&o)).unwrap();
        assert_eq!(
            best,
            vec![0, 2],
            "no pair in a row: first free in map order"
        );
        // Standing places count as together.
        let best = m.best_available(4, 0..12, |o| o >= 8).unwrap();
        assert_eq!(best, vec![8, 9, 10, 11]);
        assert_eq!(m.best_available(5, 0..12, |o| o >= 8), None);
    }
}
