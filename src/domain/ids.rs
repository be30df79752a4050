//! Identifiers: 64-bit, time-ordered, shown as 16 lowercase hex digits.
//!
//! Time order keeps "oldest first" lists and storage scans in creation order
//! without a separate index; the hex form is opaque to clients.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:016x}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = ();
            /// Exactly 16 lowercase hex digits; anything else is no such id.
            fn from_str(s: &str) -> Result<Self, ()> {
                parse_hex(s).map($name)
            }
        }

        impl $name {
            /// Big-endian bytes: storage keys sort in id (creation) order.
            pub fn to_be_bytes(self) -> [u8; 8] {
                self.0.to_be_bytes()
            }
        }
    };
}

id_type!(
    /// A ticket (one seat for sale).
    TicketId
);
id_type!(
    /// An order: one buyer's hold on, or purchase of, one ticket.
    OrderId
);
id_type!(
    /// A registered person.
    UserId
);
id_type!(
    /// A successful charge for an order.
    PaymentId
);
id_type!(
    /// One signed-in session; revoked at signout.
    SessionId
);
id_type!(
    /// An event whose seats are tickets (a ticket sold on its own has none).
    EventId
);

fn parse_hex(s: &str) -> Result<u64, ()> {
    if s.len() != 16
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(());
    }
    u64::from_str_radix(s, 16).map_err(|_| ())
}

/// Hands out unique, increasing ids: milliseconds since the epoch in the
/// high 44 bits and a counter in the low 20, never below the last one issued
/// (or the largest id found in storage at start-up).
#[derive(Debug, Default)]
pub struct IdGenerator {
    last: AtomicU64,
}

impl IdGenerator {
    /// A generator that will never issue an id at or below `floor`.
    pub fn starting_after(floor: u64) -> Self {
        Self {
            last: AtomicU64::new(floor),
        }
    }

    /// The next id, strictly greater than every earlier one.
    pub fn next(&self) -> u64 {
        self.next_block(1)
    }

    /// The first of `n` (at least 1) consecutive ids, all greater than every
    /// earlier one and below every later one: an event's seats take one
    /// block, so they are one range of keys in map order.
    pub fn next_block(&self, n: u64) -> u64 {
        let now = (crate::domain::Timestamp::now().0.max(0) as u64) << 20;
        let mut current = self.last.load(Ordering::Relaxed);
        loop {
            let first = now.max(current + 1);
            match self.last.compare_exchange_weak(
                current,
                first + n.max(1) - 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return first,
                Err(seen) => current = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_shapes() {
        let id = TicketId(0x0123_4567_89ab_cdef);
        assert_eq!(id.to_string(), "0123456789abcdef");
        assert_eq!("0123456789abcdef".parse::<TicketId>(), Ok(id));
        for bad in [
            "",
            "0123456789ABCDEF",
            "0123456789abcde",
            "../../etc/passwd",
            "0123456789abcdefa",
            "+123456789abcdef",
        ] {
            assert!(bad.parse::<TicketId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn generator_is_strictly_increasing_even_after_a_high_floor() {
        let g = IdGenerator::starting_after(u64::MAX >> 1);
        let a = g.next();
        let b = g.next();
        assert!(a > u64::MAX >> 1 && b > a);
        let g = IdGenerator::default();
        let first = g.next_block(100_000);
        assert!(g.next() >= first + 100_000, "a block is never reissued");
        let mut last = 0;
        for _ in 0..10_000 {
            let n = g.next();
            assert!(n > last);
            last = n;
        }
    }
}
