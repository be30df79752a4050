//! Connection slots. Every connection holds one from accept until it ends,
//! and hands it on to the live session it may become: a permit of the
//! server-wide cap (`max_connections`) plus, when the per-address cap is on,
//! one count of its client address (`max_connections_per_addr`), so one
//! client cannot take every slot. A slot is taken once per connection, on
//! the accept loop, never per request.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a new connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `max_connections` connections are open.
    Full,
    /// Its client address has `max_connections_per_addr` open.
    AddressFull,
}

impl Refusal {
    /// The `reason` label of `connections_refused_total`.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::Full => "max_connections",
            Refusal::AddressFull => "max_connections_per_addr",
        }
    }

    /// What was reached, for the log.
    pub fn describe(self) -> &'static str {
        match self {
            Refusal::Full => "connection limit reached",
            Refusal::AddressFull => "connection limit per address reached",
        }
    }
}

/// The slots of one server.
pub struct Slots {
    all: Arc<Semaphore>,
    per_addr: Option<Arc<PerAddr>>,
}

/// Open connections per client address; an address leaves the map with its
/// last connection, so the map is never larger than the open connections.
struct PerAddr {
    max: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place, given back when the last holder drops it.
pub struct Slot {
    _all: OwnedSemaphorePermit,
    _addr: Option<AddrCount>,
}

/// One connection counted against its address.
struct AddrCount {
    per_addr: Arc<PerAddr>,
    addr: IpAddr,
}

impl Drop for AddrCount {
    fn drop(&mut self) {
        let mut open = self.per_addr.open.lock().expect("per-address lock");
        if let Some(n) = open.get_mut(&self.addr) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.addr);
            }
        }
    }
}

impl Slots {
    /// `max` connections in all, `max_per_addr` from one client address
    /// (0: no per-address cap).
    pub fn new(max: usize, max_per_addr: usize) -> Self {
        Slots {
            all: Arc::new(Semaphore::new(max)),
            per_addr: (max_per_addr > 0).then(|| {
                Arc::new(PerAddr {
                    max: max_per_addr,
                    open: Mutex::new(HashMap::new()),
                })
            }),
        }
    }

    /// A slot for a connection from `peer`, or why there is none.
    pub fn take(&self, peer: IpAddr) -> Result<Slot, Refusal> {
        let addr = match &self.per_addr {
            Some(per_addr) => Some(count(per_addr, client(peer))?),
            None => None,
        };
        // Over the server-wide cap, the address count is given back here.
        let all = self
            .all
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Full)?;
        Ok(Slot {
            _all: all,
            _addr: addr,
        })
    }
}

fn count(per_addr: &Arc<PerAddr>, addr: IpAddr) -> Result<AddrCount, Refusal> {
    let mut open = per_addr.open.lock().expect("per-address lock");
    let n = open.entry(addr).or_insert(0);
    if *n >= per_addr.max {
        return Err(Refusal::AddressFull);
    }
    *n += 1;
    Ok(AddrCount {
        per_addr: per_addr.clone(),
        addr,
    })
}

/// The client a connection is counted against: an IPv4 address as it is
/// (also when mapped into IPv6); an IPv6 address by its /64, the block one
/// subscriber usually gets whole, so a client cannot take a fresh address
/// for every connection.
fn client(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_gets_its_cap_and_a_freed_slot_comes_back() {
        let slots = Slots::new(10, 2);
        let a = slots.take(ip("10.0.0.1")).unwrap();
        let _b = slots.take(ip("10.0.0.1")).unwrap();
        assert_eq!(slots.take(ip("10.0.0.1")).err(), Some(Refusal::AddressFull));
        assert!(slots.take(ip("10.0.0.2")).is_ok());
        drop(a);
        assert!(slots.take(ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn a_refusal_for_the_server_cap_gives_the_address_count_back() {
        let slots = Slots::new(1, 1);
        let held = slots.take(ip("10.0.0.1")).unwrap();
        assert_eq!(slots.take(ip("10.0.0.2")).err(), Some(Refusal::Full));
        drop(held);
        // 10.0.0.2 was not left counted by its refusal.
        assert!(slots.take(ip("10.0.0.2")).is_ok());
        let open = slots.per_addr.as_ref().unwrap().open.lock().unwrap();
        assert!(open.is_empty(), "{open:?}");
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            client(ip("2001:db8:1:2:aaaa::1")),
            client(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(client(ip("2001:db8:1:2::1")), client(ip("2001:db8:1:3::1")));
        assert_eq!(client(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client(ip("192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn zero_turns_the_address_cap_off() {
        let slots = Slots::new(3, 0);
        let held: Vec<_> = (0..3)
            .map(|_| slots.take(ip("10.0.0.1")).unwrap())
            .collect();
        assert_eq!(slots.take(ip("10.0.0.1")).err(), Some(Refusal::Full));
        drop(held);
    }
}
