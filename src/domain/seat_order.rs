//! Orders of seats: one order holding 1 to 10 seats of one event, which
//! move together. Each function takes the states of every seat of the
//! order (as their actors hold them) and changes all of them or none, so
//! the one batch that stores the result carries the order and every seat.
//!
//! Unlike a ticket sold on its own, a seat is never released on the way by
//! a new reservation when its order's hold has lapsed: that would release
//! one seat of an order and leave the others held. The order's expiry
//! releases all of them at once; until it has run, the seat is taken.

use std::time::Duration;

use super::{
    CancelReason, Changes, DomainError, Order, OrderId, OrderStatus, PaymentRef, Price,
    TicketState, TicketStatus, Timestamp, UserId,
};

/// Holds every seat of `seats` (each free) for `buyer` in the new order
/// `order_id` until `now + window`; refuses them all if any is taken.
pub fn reserve(
    seats: &mut [TicketState],
    order_id: OrderId,
    buyer: UserId,
    now: Timestamp,
    window: Duration,
) -> Result<Changes, DomainError> {
    if seats.is_empty() {
        return Err(DomainError::Invalid {
            field: "ticketIds",
            message: "Choose at least one seat",
        });
    }
    if seats.iter().any(|s| s.order.is_some()) {
        return Err(DomainError::AlreadyReserved);
    }
    let mut changes = Changes::default();
    for s in seats.iter_mut() {
        s.ticket.version += 1;
        s.ticket.status = TicketStatus::Reserved;
        s.ticket.order_id = Some(order_id);
        changes.tickets.push(s.ticket.clone());
    }
    let tickets = seats.iter().map(|s| s.ticket.snapshot()).collect();
    let order = Order::hold(order_id, buyer, tickets, now, window);
    for s in seats.iter_mut() {
        s.order = Some(order.clone());
    }
    changes.orders.push(order);
    Ok(changes)
}

/// Moves every seat of `order` (its current record) to `status`, the
/// order with them: one change per seat and one for the order.
fn move_all(
    seats: &mut [TicketState],
    mut order: Order,
    ticket_status: TicketStatus,
    order_status: OrderStatus,
) -> Changes {
    let mut changes = Changes::default();
    order.status = order_status;
    order.version += 1;
    for (s, snapshot) in seats.iter_mut().zip(order.tickets.iter_mut()) {
        s.ticket.version += 1;
        s.ticket.status = ticket_status;
        if ticket_status == TicketStatus::Available {
            s.ticket.order_id = None;
        }
        snapshot.version = s.ticket.version;
        changes.tickets.push(s.ticket.clone());
    }
    for s in seats.iter_mut() {
        s.order = (ticket_status != TicketStatus::Available).then(|| order.clone());
    }
    changes.orders.push(order);
    changes
}

/// Checks that `seats` are exactly the seats `order` holds, in its order.
fn check_whole(seats: &[TicketState], order: &Order) -> Result<(), DomainError> {
    let whole = seats.len() == order.tickets.len()
        && seats
            .iter()
            .zip(&order.tickets)
            .all(|(s, t)| s.ticket.id == t.id && s.ticket.order_id == Some(order.id));
    if whole {
        Ok(())
    } else {
        Err(DomainError::PayCancelled)
    }
}

/// Releases every seat of `order` (held, not paid) for `reason`.
/// Releasing an order that no longer holds its seats changes nothing.
pub fn release(
    seats: &mut [TicketState],
    order: &Order,
    reason: CancelReason,
) -> Result<Changes, DomainError> {
    match order.status {
        OrderStatus::Cancelled => return Ok(Changes::default()),
        OrderStatus::Complete => return Err(DomainError::CancelPaid),
        OrderStatus::Created | OrderStatus::AwaitingPayment => {}
    }
    if check_whole(seats, order).is_err() {
        return Ok(Changes::default());
    }
    let mut cancelled = order.clone();
    cancelled.cancel_reason = Some(reason);
    Ok(move_all(
        seats,
        cancelled,
        TicketStatus::Available,
        OrderStatus::Cancelled,
    ))
}

/// Whether `order` may be paid by `by` at `now`, and for how much. A hold
/// past its deadline is refused as cancelled (the caller releases it).
pub fn payable(order: &Order, by: UserId, now: Timestamp) -> Result<Price, DomainError> {
    order.check_buyer(by)?;
    match order.status {
        OrderStatus::Complete => Err(DomainError::AlreadyPaid),
        OrderStatus::Cancelled => Err(DomainError::PayCancelled),
        _ if now >= order.expires_at => Err(DomainError::PayCancelled),
        _ => Ok(order.total()),
    }
}

/// Marks every seat of `order` sold and the order complete, paid by
/// `payment`. Call after a successful charge for an order `payable` accepted.
pub fn complete(
    seats: &mut [TicketState],
    order: &Order,
    payment: PaymentRef,
) -> Result<Changes, DomainError> {
    check_whole(seats, order)?;
    let mut paid = order.clone();
    paid.payment = Some(payment);
    Ok(move_all(
        seats,
        paid,
        TicketStatus::Sold,
        OrderStatus::Complete,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EventDate, PaymentId, Ticket, TicketId, Title};

    const ANN: UserId = UserId(2);
    const WINDOW: Duration = Duration::from_secs(60);

    fn seats(n: u64) -> Vec<TicketState> {
        (0..n)
            .map(|i| TicketState {
                ticket: Ticket::new(
                    TicketId(100 + i),
                    UserId(1),
                    Title::parse("Gig").unwrap(),
                    Price::from_cents(1500).unwrap(),
                    EventDate(None),
                ),
                order: None,
            })
            .collect()
    }

    #[test]
    fn seats_are_held_together_or_not_at_all() {
        let mut s = seats(3);
        let ch = reserve(&mut s, OrderId(1), ANN, Timestamp(0), WINDOW).unwrap();
        assert_eq!(ch.tickets.len(), 3);
        assert_eq!(ch.orders.len(), 1);
        assert_eq!(ch.orders[0].total().cents(), 4500);
        assert!(s.iter().all(|t| t.ticket.status == TicketStatus::Reserved));
        let mut again = s.clone();
        assert_eq!(
            reserve(&mut again, OrderId(2), ANN, Timestamp(0), WINDOW),
            Err(DomainError::AlreadyReserved)
        );
        // One taken seat refuses the whole set, and nothing moved.
        let mut mixed = vec![seats(1).remove(0), s[0].clone()];
        let before = mixed.clone();
        assert!(reserve(&mut mixed, OrderId(3), ANN, Timestamp(0), WINDOW).is_err());
        assert_eq!(mixed, before);
    }

    #[test]
    fn release_and_payment_move_every_seat() {
        let mut s = seats(2);
        let ch = reserve(&mut s, OrderId(1), ANN, Timestamp(0), WINDOW).unwrap();
        let order = ch.orders[0].clone();
        assert_eq!(payable(&order, ANN, Timestamp(1)).unwrap().cents(), 3000);
        assert_eq!(
            payable(&order, ANN, Timestamp(0).plus(WINDOW)),
            Err(DomainError::PayCancelled)
        );
        let mut paid = s.clone();
        let pref = PaymentRef {
            id: PaymentId(5),
            paid_at: Timestamp(1),
        };
        let ch = complete(&mut paid, &order, pref).unwrap();
        assert!(paid.iter().all(|t| t.ticket.status == TicketStatus::Sold));
        assert_eq!(ch.orders[0].status, OrderStatus::Complete);
        assert_eq!(ch.orders[0].tickets[1].version, 2);
        assert_eq!(
            release(&mut paid, &ch.orders[0], CancelReason::Buyer),
            Err(DomainError::CancelPaid)
        );
        let ch = release(&mut s, &order, CancelReason::Expired).unwrap();
        assert!(s
            .iter()
            .all(|t| t.ticket.status == TicketStatus::Available && t.order.is_none()));
        assert_eq!(ch.orders[0].cancel_reason, Some(CancelReason::Expired));
        assert_eq!(ch.tickets.len(), 2);
    }
}
