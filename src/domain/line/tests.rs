//! The line's rules: the draw, admissions, the waiting list, sold out.

use super::*;

const E: EventId = EventId(1);
const PASS: Duration = Duration::from_secs(600);
const FREE: Seats = Seats {
    available: 100,
    reserved: 0,
};

fn join(line: &mut Line, user: u64, now: i64) -> Entry {
    let (e, new) = line.join(UserId(user), Timestamp(now));
    if new {
        line.apply(std::slice::from_ref(&e), None, Timestamp(now));
    }
    e
}

#[test]
fn early_entries_are_drawn_ahead_of_later_ones_which_come_in_order() {
    let mut line = Line::new(E, Timestamp(1000));
    for u in 1..=5 {
        assert_eq!(join(&mut line, u, 10 * u as i64).place, None);
    }
    // Joining at the on-sale before the draw ran: placed after the
    // five early ones, whom the draw (stored with it) places first.
    assert_eq!(line.join(UserId(6), Timestamp(1000)).0.place, Some(6));
    assert_eq!(
        join(&mut line, 3, 999).joined_at,
        Timestamp(30),
        "one entry per account"
    );
    assert!(line.draw_due(Timestamp(1000)));
    let draw = line.draw(42, Timestamp(1000));
    let placed = line.apply(&[], Some(&draw), Timestamp(1000));
    let mut places: Vec<u64> = placed
        .iter()
        .map(|u| line.entry(*u).unwrap().place.unwrap())
        .collect();
    places.sort_unstable();
    assert_eq!(places, vec![1, 2, 3, 4, 5]);
    assert_eq!(join(&mut line, 9, 2000).place, Some(6));
    assert_eq!(join(&mut line, 8, 2001).place, Some(7));
    let late = line.entry(UserId(8)).unwrap().clone();
    assert_eq!(line.ahead(&late), Some(6));
}

#[test]
fn admission_keeps_to_active_buyers_and_seats() {
    let mut line = Line::new(E, Timestamp(0));
    let draw = line.draw(1, Timestamp(0));
    line.apply(&[], Some(&draw), Timestamp(0));
    for u in 1..=4 {
        join(&mut line, u, u as i64);
    }
    let now = Timestamp(10);
    let admitted = line.admissions(now, 2, PASS, FREE);
    assert_eq!(
        admitted.iter().map(|e| e.user.0).collect::<Vec<_>>(),
        vec![1, 2]
    );
    line.apply(&admitted, None, now);
    assert!(
        line.admissions(now, 2, PASS, FREE).is_empty(),
        "two shop already"
    );
    let e3 = line.entry(UserId(3)).unwrap().clone();
    assert_eq!(line.ahead(&e3), Some(0));
    assert_eq!(
        line.eta_secs(&e3, Timestamp(60_000)),
        Some(30),
        "2 a minute: the next in 30 s"
    );
    // One buys: its order ends, the next is admitted.
    let o = line.ordered(UserId(1), OrderId(7)).unwrap();
    line.apply(&[o], None, now);
    let done = line.order_ended(UserId(1), OrderId(7)).unwrap();
    assert_eq!(done.status, EntryStatus::Done);
    line.apply(&[done], None, now);
    let next = line.admissions(now, 2, PASS, FREE);
    assert_eq!(next.iter().map(|e| e.user.0).collect::<Vec<_>>(), vec![3]);
    line.apply(&next, None, now);
    // A pass that lapses unused frees its place too.
    let lapsed = line.lapsed_passes(now.plus(PASS));
    let mut users: Vec<u64> = lapsed.iter().map(|e| e.user.0).collect();
    users.sort_unstable();
    assert_eq!(users, vec![2, 3]);
    assert!(lapsed.iter().all(|e| e.status == EntryStatus::Expired));
}

#[test]
fn a_held_out_line_waits_and_a_sold_out_one_says_so() {
    let mut line = Line::new(E, Timestamp(0));
    let draw = line.draw(1, Timestamp(0));
    line.apply(&[], Some(&draw), Timestamp(0));
    join(&mut line, 1, 1);
    join(&mut line, 2, 2);
    let held = Seats {
        available: 0,
        reserved: 3,
    };
    assert!(line.admissions(Timestamp(5), 10, PASS, held).is_empty());
    let gone = Seats {
        available: 0,
        reserved: 0,
    };
    let out = line.admissions(Timestamp(5), 10, PASS, gone);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|e| e.status == EntryStatus::Soldout));
    line.apply(&out, None, Timestamp(5));
    assert_eq!(line.moved_to(), 2);
}

#[test]
fn the_eta_counts_admissions_over_the_time_the_sale_has_been_open() {
    let mut line = Line::new(E, Timestamp(0));
    let draw = line.draw(1, Timestamp(0));
    line.apply(&[], Some(&draw), Timestamp(0));
    for u in 1..=1_100 {
        join(&mut line, u, 1);
    }
    // 1,000 admitted in the sale's first 5 s: 200 a second.
    for t in 0..5 {
        let now = Timestamp(t * 1000 + 500);
        let admitted = line.admissions(now, 200, PASS, FREE);
        line.apply(&admitted, None, now);
        let done: Vec<Entry> = admitted
            .iter()
            .map(|e| Entry {
                status: EntryStatus::Done,
                ..e.clone()
            })
            .collect();
        line.apply(&done, None, now);
    }
    let last = line.entry(UserId(1_100)).unwrap().clone();
    assert_eq!(line.ahead(&last), Some(99));
    assert_eq!(
        line.eta_secs(&last, Timestamp(5_000)),
        Some(1),
        "100 at 200 a second, not at 1,000 a minute"
    );
    // A minute on, the same admissions count over the minute.
    assert_eq!(line.eta_secs(&last, Timestamp(59_000)), Some(6));
}

/// Early joins at `(user, joined_at)`, in this arrival order, applied to
/// a line on sale at 1,000; returns the entries as stored (unplaced).
fn early_line(joins: &[(u64, i64)]) -> (Line, Vec<Entry>) {
    let mut line = Line::new(E, Timestamp(1000));
    let stored = joins
        .iter()
        .map(|&(u, at)| join(&mut line, u, at))
        .collect();
    (line, stored)
}

#[test]
fn the_draws_places_follow_from_its_seed_and_the_stored_entries() {
    // Ties in the join instant, arriving against account order: the draw
    // must not depend on the arrival order, which is not stored.
    let joins = [(7, 5), (3, 5), (9, 5), (1, 8), (4, 2), (8, 8), (2, 9)];
    for seed in [1, 42, u64::MAX] {
        let (mut live, stored) = early_line(&joins);
        let draw = live.draw(seed, Timestamp(1000));
        assert_eq!(draw.record.placed, 7);
        live.apply(&[], Some(&draw), Timestamp(1000));
        // The first in line admitted and stored with its place; the
        // others stay as they were stored, unplaced.
        let first = live.admissions(Timestamp(1000), 1, PASS, FREE);
        live.apply(&first, None, Timestamp(1000));
        let mut as_stored = stored.clone();
        as_stored.retain(|e| e.user != first[0].user);
        as_stored.extend(first.clone());
        let restored = Line::restore(E, Timestamp(1000), as_stored, Some(&draw.record));
        let places = |line: &Line| {
            let mut p: Vec<(u64, u64)> = line
                .entries()
                .map(|e| (e.place.unwrap(), e.user.0))
                .collect();
            p.sort_unstable();
            p
        };
        assert_eq!(places(&restored), places(&live), "seed {seed}");
        assert_eq!(
            places(&live).iter().map(|p| p.0).collect::<Vec<_>>(),
            (1..=7).collect::<Vec<_>>()
        );
        // And anyone can check it: the seed's shuffle of the early
        // entries sorted by join instant, then account.
        let mut audit: Vec<(Timestamp, UserId)> =
            stored.iter().map(|e| (e.joined_at, e.user)).collect();
        audit.sort_unstable();
        let mut audit: Vec<UserId> = audit.into_iter().map(|(_, u)| u).collect();
        crate::domain::shuffle::shuffle(&mut audit, seed);
        let audited: Vec<u64> = audit.iter().map(|u| u.0).collect();
        let drawn: Vec<u64> = places(&live).iter().map(|p| p.1).collect();
        assert_eq!(drawn, audited, "seed {seed}");
    }
}

#[test]
fn an_early_join_stored_with_the_draw_is_placed_by_it() {
    let (mut deciding, mut stored) = early_line(&[(1, 10), (2, 20)]);
    let mut shared = Line::restore(E, Timestamp(1000), stored.clone(), None);
    // A third joins just before the on-sale; the draw is decided before
    // its batch is stored, so both go in the same batch.
    stored.push(join(&mut deciding, 3, 999));
    let draw = deciding.draw(5, Timestamp(1000));
    assert_eq!(draw.record.placed, 3);
    deciding.apply(&[], Some(&draw), Timestamp(1000));
    let placed = shared.apply(&stored[2..], Some(&draw), Timestamp(1000));
    assert_eq!(placed.len(), 3);
    for u in 1..=3 {
        assert_eq!(
            shared.entry(UserId(u)).unwrap().place,
            deciding.entry(UserId(u)).unwrap().place
        );
    }
    // After it, a late join is placed behind all three.
    assert_eq!(join(&mut shared, 4, 1001).place, Some(4));
}

#[test]
fn a_join_after_the_draw_is_placed_behind_it_even_with_the_clock_set_back() {
    let (mut live, mut stored) = early_line(&[(1, 10), (2, 20), (3, 30)]);
    let draw = live.draw(9, Timestamp(1000));
    live.apply(&[], Some(&draw), Timestamp(1000));
    // The system clock steps back below the on-sale after the draw: the
    // joiner is not early (the draw is done), it is next in line, and it
    // joined, as far as the line is concerned, at the on-sale.
    let late = join(&mut live, 4, 500);
    assert_eq!(late.place, Some(4));
    assert_eq!(late.joined_at, Timestamp(1000));
    assert!(!late.is_early(Timestamp(1000)));
    stored.push(late);
    // A restart redoes the draw from the stored entries: the same places.
    let restored = Line::restore(E, Timestamp(1000), stored, Some(&draw.record));
    for u in 1..=4 {
        assert_eq!(
            restored.entry(UserId(u)).unwrap().place,
            live.entry(UserId(u)).unwrap().place,
            "account {u}"
        );
    }
}

#[test]
fn a_join_placed_before_the_draw_landed_is_admitted_after_every_drawn_entry() {
    let (mut line, _) = early_line(&[(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)]);
    // Joined at the on-sale and stored before the draw: place 6, held
    // behind the five places the draw is about to give.
    assert_eq!(join(&mut line, 6, 1000).place, Some(6));
    let draw = line.draw(11, Timestamp(1000));
    let placed = line.apply(&[], Some(&draw), Timestamp(1000));
    assert_eq!(placed.len(), 5);
    let admitted = line.admissions(Timestamp(1000), 10, PASS, FREE);
    let order: Vec<(u64, u64)> = admitted
        .iter()
        .map(|e| (e.place.unwrap(), e.user.0))
        .collect();
    let drawn: Vec<(u64, u64)> = draw
        .order
        .iter()
        .enumerate()
        .map(|(i, u)| (i as u64 + 1, u.0))
        .chain([(6, 6)])
        .collect();
    assert_eq!(order, drawn);
}
