//! What one group commit writes: the group's batches collapsed to the final
//! state of each key (later batches win; a delete after a put deletes),
//! then each table written with one statement over arrays, all sent at
//! once (pipelined) inside the group's transaction.

use std::collections::HashMap;

use futures_util::future::try_join_all;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Statement};

use super::convert::{cents, id, time};
use super::schema::Statements;
use crate::domain::line::{Draw, Entry};
use crate::domain::{Event, Order, Payment, SeatPosition, Ticket, Timestamp, User};
use crate::storage::Write;

/// The final state, per key, of a group's writes (`None`: deleted).
/// Borrows the batches, which stay whole in case each must be retried on
/// its own.
#[derive(Default)]
pub struct Collapsed<'a> {
    users: HashMap<u64, &'a User>,
    sessions: HashMap<u64, Option<Timestamp>>,
    events: HashMap<u64, Option<&'a Event>>,
    tickets: HashMap<u64, Option<&'a Ticket>>,
    orders: HashMap<u64, &'a Order>,
    payments: HashMap<u64, &'a Payment>,
    entries: HashMap<(u64, u64), Option<&'a Entry>>,
    draws: HashMap<u64, Option<&'a Draw>>,
}

impl<'a> Collapsed<'a> {
    /// Adds one batch, after those added before.
    pub fn add(&mut self, batch: &'a [Write]) {
        for w in batch {
            match w {
                Write::Ticket(t) => drop(self.tickets.insert(t.id.0, Some(t))),
                Write::DeleteTicket(t) => drop(self.tickets.insert(t.0, None)),
                Write::Order(o) => drop(self.orders.insert(o.id.0, o)),
                Write::Payment(p) => drop(self.payments.insert(p.id.0, p)),
                Write::User(u) => drop(self.users.insert(u.id.0, u)),
                Write::RevokeSession(s, exp) => drop(self.sessions.insert(s.0, Some(*exp))),
                Write::ForgetSession(s) => drop(self.sessions.insert(s.0, None)),
                Write::Event(e) => drop(self.events.insert(e.id.0, Some(e))),
                Write::Entry(e) => drop(self.entries.insert((e.event.0, e.user.0), Some(e))),
                Write::Draw(d) => drop(self.draws.insert(d.event.0, Some(d))),
                Write::ForgetLine { event, users } => {
                    self.draws.insert(event.0, None);
                    for u in users {
                        self.entries.insert((event.0, u.0), None);
                    }
                }
                Write::DeleteEvent {
                    id,
                    first_seat,
                    seats,
                } => {
                    self.events.insert(id.0, None);
                    for t in first_seat.0..first_seat.0 + u64::from(*seats) {
                        self.tickets.insert(t, None);
                    }
                }
            }
        }
    }

    /// Writes everything, one statement per table and kind of change, all
    /// sent before the first answer is awaited. Call inside a transaction.
    pub async fn write(
        &self,
        client: &Client,
        st: &Statements,
    ) -> Result<(), tokio_postgres::Error> {
        let mut runs: Vec<(&Statement, Params<'_>)> = Vec::new();
        let mut run = |stmt, params: Params<'a>| {
            if !params.is_empty() {
                runs.push((stmt, params));
            }
        };
        run(&st.users, users(self.users.values().copied().collect()));
        let (put, gone) = split(&self.sessions);
        run(&st.sessions, sessions(&put));
        run(&st.forget_sessions, keys(&gone));
        let (put, gone) = split(&self.events);
        run(
            &st.events,
            events(put.into_iter().map(|(_, e)| e).collect()),
        );
        run(&st.delete_events, keys(&gone));
        let (put, gone) = split(&self.tickets);
        run(
            &st.tickets,
            tickets(put.into_iter().map(|(_, t)| t).collect()),
        );
        run(&st.delete_tickets, keys(&gone));
        let orders: Vec<&Order> = self.orders.values().copied().collect();
        // An order's tickets are fixed when it is placed: a later write of
        // the order updates its rows in place (their snapshot and `live`).
        // Rows that stop being live go first, in a statement of their own:
        // a batch that releases a ticket from one order and gives it to
        // another must not meet the one-live-order index half done.
        let (live, ended): (Vec<&Order>, Vec<&Order>) =
            orders.iter().partition(|o| o.status.is_live());
        run(&st.order_tickets, order_tickets(&ended));
        run(&st.order_tickets, order_tickets(&live));
        run(&st.orders, order_rows(orders));
        run(
            &st.payments,
            payments(self.payments.values().copied().collect()),
        );
        let (put, gone) = split(&self.entries);
        run(
            &st.entries,
            entries(put.into_iter().map(|(_, e)| e).collect()),
        );
        run(&st.delete_entries, pairs(&gone));
        let (put, gone) = split(&self.draws);
        run(&st.draws, draws(put.into_iter().map(|(_, d)| d).collect()));
        run(&st.delete_draws, keys(&gone));
        let sent = runs.iter().map(|(stmt, params)| {
            client.execute_raw(*stmt, params.iter().map(|p| &**p as &(dyn ToSql + Sync)))
        });
        try_join_all(sent).await.map(drop)
    }
}

/// The arrays bound to one statement, one per column.
type Params<'a> = Vec<Box<dyn ToSql + Sync + Send + 'a>>;

/// The kept values and the deleted keys of a collapsed table.
fn split<K: Copy, V: Copy>(map: &HashMap<K, Option<V>>) -> (Vec<(K, V)>, Vec<K>) {
    let mut put = Vec::new();
    let mut gone = Vec::new();
    for (k, v) in map {
        match v {
            Some(v) => put.push((*k, *v)),
            None => gone.push(*k),
        }
    }
    (put, gone)
}

/// One column: `f` of every row, as an array (no statement when no rows).
fn col<'a, R: Copy, T: ToSql + Sync + Send + 'a>(
    rows: &[R],
    f: impl Fn(R) -> T,
) -> Box<dyn ToSql + Sync + Send + 'a> {
    Box::new(rows.iter().copied().map(f).collect::<Vec<T>>())
}

/// Columns, or none at all for no rows (so the statement is skipped).
fn unless_empty<'a, R>(rows: &[R], cols: Params<'a>) -> Params<'a> {
    if rows.is_empty() {
        Vec::new()
    } else {
        cols
    }
}

fn keys<'a>(ids: &[u64]) -> Params<'a> {
    unless_empty(ids, vec![col(ids, id)])
}

fn pairs<'a>(ids: &[(u64, u64)]) -> Params<'a> {
    unless_empty(ids, vec![col(ids, |k| id(k.0)), col(ids, |k| id(k.1))])
}

fn users(rows: Vec<&User>) -> Params<'_> {
    unless_empty(
        &rows,
        vec![
            col(&rows, |u| id(u.id.0)),
            col(&rows, |u| u.email.as_str()),
            col(&rows, |u| u.password_hash.as_str()),
            col(&rows, |u| time(u.created_at)),
        ],
    )
}

fn sessions<'a>(rows: &[(u64, Timestamp)]) -> Params<'a> {
    unless_empty(rows, vec![col(rows, |s| id(s.0)), col(rows, |s| time(s.1))])
}

fn events(rows: Vec<&Event>) -> Params<'_> {
    unless_empty(
        &rows,
        vec![
            col(&rows, |e| id(e.id.0)),
            col(&rows, |e| e.name.as_str()),
            col(&rows, |e| e.venue.as_deref()),
            col(&rows, |e| time(e.starts_at)),
            col(&rows, |e| e.on_sale_at.map(time)),
            col(&rows, |e| id(e.organizer.0)),
            col(&rows, |e| e.queue),
            // Plain structs of strings and numbers always serialise.
            col(&rows, |e| {
                serde_json::to_string(&e.sections).unwrap_or_default()
            }),
            col(&rows, |e| id(e.first_seat.0)),
            col(&rows, |e| time(e.created_at)),
        ],
    )
}

fn tickets(rows: Vec<&Ticket>) -> Params<'_> {
    unless_empty(
        &rows,
        vec![
            col(&rows, |t| id(t.id.0)),
            col(&rows, |t| t.title.as_str()),
            col(&rows, |t| cents(t.price)),
            col(&rows, |t| t.date.0.map(time)),
            col(&rows, |t| id(t.seller.0)),
            col(&rows, |t| t.version as i64),
            col(&rows, |t| t.status.as_str()),
            col(&rows, |t| t.order_id.map(|o| id(o.0))),
            col(&rows, |t| t.event_id.map(|e| id(e.0))),
            col(&rows, |t| seat(&t.seat).0),
            col(&rows, |t| seat(&t.seat).1),
            col(&rows, |t| seat(&t.seat).2),
        ],
    )
}

/// A seat's section, row and number columns.
fn seat(s: &Option<SeatPosition>) -> (Option<&str>, Option<&str>, Option<i32>) {
    match s {
        Some(s) => (
            Some(&s.section),
            s.row.as_deref(),
            s.number.map(|n| n as i32),
        ),
        None => (None, None, None),
    }
}

fn order_rows(rows: Vec<&Order>) -> Params<'_> {
    unless_empty(
        &rows,
        vec![
            col(&rows, |o| id(o.id.0)),
            col(&rows, |o| id(o.buyer.0)),
            col(&rows, |o| o.status.as_str()),
            col(&rows, |o| time(o.expires_at)),
            col(&rows, |o| o.version as i64),
            col(&rows, |o| time(o.created_at)),
            col(&rows, |o| o.cancel_reason.map(|r| r.as_str())),
            col(&rows, |o| o.payment.map(|p| id(p.id.0))),
            col(&rows, |o| o.payment.map(|p| time(p.paid_at))),
        ],
    )
}

fn order_tickets<'a>(orders: &[&'a Order]) -> Params<'a> {
    let rows: Vec<(&Order, usize)> = (orders.iter())
        .flat_map(|o| (0..o.tickets.len()).map(move |i| (*o, i)))
        .collect();
    unless_empty(
        &rows,
        vec![
            col(&rows, |(o, _)| id(o.id.0)),
            col(&rows, |(_, i)| i as i16),
            col(&rows, |(o, i)| id(o.tickets[i].id.0)),
            col(&rows, |(o, i)| o.tickets[i].title.as_str()),
            col(&rows, |(o, i)| cents(o.tickets[i].price)),
            col(&rows, |(o, i)| o.tickets[i].date.0.map(time)),
            col(&rows, |(o, i)| o.tickets[i].version as i64),
            col(&rows, |(o, i)| o.tickets[i].event_id.map(|e| id(e.0))),
            col(&rows, |(o, i)| seat(&o.tickets[i].seat).0),
            col(&rows, |(o, i)| seat(&o.tickets[i].seat).1),
            col(&rows, |(o, i)| seat(&o.tickets[i].seat).2),
            col(&rows, |(o, _)| o.status.is_live()),
        ],
    )
}

fn payments(rows: Vec<&Payment>) -> Params<'_> {
    unless_empty(
        &rows,
        vec![
            col(&rows, |p| id(p.id.0)),
            col(&rows, |p| id(p.order_id.0)),
            col(&rows, |p| p.charge_id.as_str()),
            col(&rows, |p| cents(p.amount)),
            col(&rows, |p| time(p.created_at)),
        ],
    )
}

fn entries(rows: Vec<&Entry>) -> Params<'_> {
    unless_empty(
        &rows,
        vec![
            col(&rows, |e| id(e.event.0)),
            col(&rows, |e| id(e.user.0)),
            col(&rows, |e| time(e.joined_at)),
            col(&rows, |e| e.place.map(|p| p as i64)),
            col(&rows, |e| e.status.as_str()),
            col(&rows, |e| e.admitted_at.map(time)),
            col(&rows, |e| e.pass_expires_at.map(time)),
            col(&rows, |e| e.order.map(|o| id(o.0))),
        ],
    )
}

fn draws(rows: Vec<&Draw>) -> Params<'_> {
    unless_empty(
        &rows,
        vec![
            col(&rows, |d| id(d.event.0)),
            col(&rows, |d| d.seed as i64),
            col(&rows, |d| time(d.at)),
            col(&rows, |d| d.placed as i64),
        ],
    )
}
