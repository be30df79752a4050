//! What an organiser asks for when putting an event on sale, once its
//! input has been checked: a name, times and a map, everything the core
//! needs to create the event and its seats in one write.

use super::{Section, Timestamp, Title};

/// A new event, valid: at most `MAX_SEATS` seats and `MAX_ROWS` rows, names
/// unique, `on_sale_at` before `starts_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Its name.
    pub name: Title,
    /// Where it takes place, if said.
    pub venue: Option<String>,
    /// When it starts.
    pub starts_at: Timestamp,
    /// When it goes on sale; `None`: at once.
    pub on_sale_at: Option<Timestamp>,
    /// Whether buyers are admitted through the waiting room.
    pub queue: bool,
    /// Its map.
    pub sections: Vec<Section>,
}
