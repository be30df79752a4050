//! The waiting room's order, checked from what the buyers observed: every
//! early joiner placed ahead of every late one, late ones in join order,
//! admissions in place order. Each check only counts what the observations
//! prove (a request sent after another's answer came back is later), so a
//! violation reported is a violation made.

use std::collections::HashMap;
use std::time::Instant;

/// One buyer's place in line as observed through the API.
#[derive(Debug, Clone, Copy)]
pub struct Place {
    /// Whether the server placed it in the draw (its join answered with no
    /// position, i.e. before `onSaleAt`).
    pub early: bool,
    /// Its place, once known.
    pub position: Option<u64>,
    /// When its join was sent, and when the answer came back.
    pub join_sent: Instant,
    /// See `join_sent`.
    pub join_done: Instant,
    /// When the last poll that found it waiting, with a place, was sent.
    pub last_waiting: Option<Instant>,
    /// When an answer first showed it admitted.
    pub admitted_seen: Option<Instant>,
    /// The server's instant of its admission (`passExpiresAt` less the pass
    /// lifetime), in milliseconds since the epoch.
    pub admitted_at_ms: Option<i64>,
}

/// Violations of the contract's order, by kind (each counts buyers).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fairness {
    /// Places given twice, and early joiners behind a late one (or late
    /// ones ahead of an early one).
    pub misplaced: u64,
    /// Late joiners placed ahead of one whose join was answered before
    /// theirs was sent.
    pub join_order: u64,
    /// Buyers admitted (by the server's own admission instants) before
    /// someone ahead of them.
    pub admission_order: u64,
    /// Buyers still waiting after someone behind them was seen admitted.
    pub passed_over: u64,
}

impl Fairness {
    /// All violations.
    pub fn total(&self) -> u64 {
        self.misplaced + self.join_order + self.admission_order + self.passed_over
    }
}

/// Checks `places` (one per buyer).
pub fn check(places: &[Place]) -> Fairness {
    Fairness {
        misplaced: misplaced(places),
        join_order: join_order(places),
        admission_order: admission_order(places),
        passed_over: passed_over(places),
    }
}

fn misplaced(places: &[Place]) -> u64 {
    let mut seen: HashMap<u64, u64> = HashMap::new();
    for p in places.iter().filter_map(|p| p.position) {
        *seen.entry(p).or_default() += 1;
    }
    let twice: u64 = seen.values().map(|n| n - 1).sum();
    let placed = |early: bool| {
        places
            .iter()
            .filter(move |p| p.early == early)
            .filter_map(|p| p.position)
    };
    let last_early = placed(true).max().unwrap_or(0);
    let first_late = placed(false).min().unwrap_or(u64::MAX);
    let early_behind = placed(true).filter(|p| *p > first_late).count() as u64;
    let late_ahead = placed(false).filter(|p| *p < last_early).count() as u64;
    twice + early_behind + late_ahead
}

fn join_order(places: &[Place]) -> u64 {
    let late: Vec<&Place> = places
        .iter()
        .filter(|p| !p.early && p.position.is_some())
        .collect();
    let mut by_done = late.clone();
    by_done.sort_by_key(|p| p.join_done);
    let mut by_sent = late;
    by_sent.sort_by_key(|p| p.join_sent);
    let (mut i, mut max_before) = (0, 0);
    let mut bad = 0;
    for b in by_sent {
        while i < by_done.len() && by_done[i].join_done < b.join_sent {
            max_before = max_before.max(by_done[i].position.unwrap_or(0));
            i += 1;
        }
        if max_before > b.position.unwrap_or(u64::MAX) {
            bad += 1;
        }
    }
    bad
}

fn admission_order(places: &[Place]) -> u64 {
    let mut admitted: Vec<(u64, i64)> = places
        .iter()
        .filter_map(|p| Some((p.position?, p.admitted_at_ms?)))
        .collect();
    admitted.sort_unstable();
    let mut latest_ahead = i64::MIN;
    let mut bad = 0;
    for (_, at) in admitted {
        if latest_ahead > at {
            bad += 1;
        }
        latest_ahead = latest_ahead.max(at);
    }
    bad
}

fn passed_over(places: &[Place]) -> u64 {
    let mut admitted: Vec<(Instant, u64)> = places
        .iter()
        .filter_map(|p| Some((p.admitted_seen?, p.position?)))
        .collect();
    admitted.sort_unstable();
    let mut waiting: Vec<(Instant, u64)> = places
        .iter()
        .filter_map(|p| Some((p.last_waiting?, p.position?)))
        .collect();
    waiting.sort_unstable();
    let (mut i, mut max_admitted, mut bad) = (0, 0, 0);
    for (sent, position) in waiting {
        while i < admitted.len() && admitted[i].0 < sent {
            max_admitted = max_admitted.max(admitted[i].1);
            i += 1;
        }
        if max_admitted > position {
            bad += 1;
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    fn place(t0: Instant, early: bool, position: u64, sent: u64, done: u64) -> Place {
        Place {
            early,
            position: Some(position),
            join_sent: at(t0, sent),
            join_done: at(t0, done),
            last_waiting: None,
            admitted_seen: None,
            admitted_at_ms: None,
        }
    }

    #[test]
    fn a_fair_line_has_no_violation() {
        let t0 = Instant::now();
        let mut line = vec![
            place(t0, true, 2, 0, 1),
            place(t0, true, 1, 0, 1),
            place(t0, false, 3, 10, 12),
            // Overlapping joins may be placed either way.
            place(t0, false, 5, 11, 13),
            place(t0, false, 4, 12, 14),
        ];
        for (i, p) in line.iter_mut().enumerate() {
            p.admitted_at_ms = Some(1000 + p.position.unwrap() as i64);
            p.admitted_seen = Some(at(t0, 100 + p.position.unwrap()));
            p.last_waiting = Some(at(t0, 20 + i as u64));
        }
        assert_eq!(check(&line), Fairness::default());
    }

    #[test]
    fn each_kind_of_unfairness_is_counted() {
        let t0 = Instant::now();
        // An early joiner behind a late one, and a place given twice.
        let line = [
            place(t0, true, 3, 0, 1),
            place(t0, false, 2, 10, 11),
            place(t0, false, 3, 20, 21),
        ];
        assert_eq!(check(&line).misplaced, 1 + 1 + 1);
        // A late join answered before another was sent, yet placed behind.
        let line = [place(t0, false, 5, 0, 1), place(t0, false, 4, 2, 3)];
        assert_eq!(check(&line).join_order, 1);
        // Admitted before the one ahead of it.
        let mut a = place(t0, true, 1, 0, 1);
        let mut b = place(t0, true, 2, 0, 1);
        a.admitted_at_ms = Some(2000);
        b.admitted_at_ms = Some(1000);
        assert_eq!(check(&[a, b]).admission_order, 1);
        // Seen waiting after the one behind it was seen admitted.
        a.admitted_at_ms = None;
        b.admitted_at_ms = None;
        b.admitted_seen = Some(at(t0, 50));
        a.last_waiting = Some(at(t0, 60));
        assert_eq!(check(&[a, b]).passed_over, 1);
        a.last_waiting = Some(at(t0, 40));
        assert_eq!(check(&[a, b]).total(), 0);
    }
}
