//! Where a seat is in its event's map, as tickets and orders record it.

use serde::{Deserialize, Serialize};

/// A seat's place in its event's map: its section, and in a seated section
/// its row and number (both `None` in a standing section, whose places are
/// unnumbered). Named apart from the ticket actor's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatPosition {
    /// The section's name.
    pub section: String,
    /// The row's label; `None` in a standing section.
    pub row: Option<String>,
    /// The seat's number in its row (from 1); `None` in a standing section.
    pub number: Option<u32>,
}
