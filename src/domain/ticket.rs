//! A ticket and its state machine: available, held by one order until a
//! deadline, or sold. Every operation here is a plain function on
//! plain data; the ticket actor calls them one message at a time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    CancelReason, DomainError, EventDate, EventId, Order, OrderId, OrderStatus, OrderTicket,
    PaymentRef, Price, SeatPosition, TicketId, Timestamp, Title, UserId,
};

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketStatus {
    /// Free to reserve.
    Available,
    /// Held by an order until it is paid, cancelled or expires.
    Reserved,
    /// Paid for.
    Sold,
}

impl TicketStatus {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Available => "available",
            TicketStatus::Reserved => "reserved",
            TicketStatus::Sold => "sold",
        }
    }
}

/// One ticket for sale, as stored and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Its id.
    pub id: TicketId,
    /// The event's name.
    pub title: Title,
    /// Its price.
    pub price: Price,
    /// The event's start, if known.
    pub date: EventDate,
    /// The seller.
    pub seller: UserId,
    /// 0 at creation, one more per change.
    pub version: u64,
    /// Where it stands.
    pub status: TicketStatus,
    /// The order holding or owning it; `None` when available.
    pub order_id: Option<OrderId>,
    /// The event it is a seat of; `None` for a ticket sold on its own.
    /// (`serde(default)`: exports of schema 1 have no such field.)
    #[serde(default)]
    pub event_id: Option<EventId>,
    /// Where in the event's map the seat is; `None` off an event.
    #[serde(default)]
    pub seat: Option<SeatPosition>,
}

/// A ticket together with the order that holds or bought it (if any): the
/// whole state one ticket actor owns, and what every rule about a ticket's
/// sale is decided on. (Not `Seat`: seats of an event are tickets, each
/// with a state of its own.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketState {
    /// The ticket.
    pub ticket: Ticket,
    /// Its live order: `Some` exactly when the ticket is reserved or sold.
    pub order: Option<Order>,
}

/// What a successful operation changed, to be stored and published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Orders whose record changed, in the order they changed.
    pub orders: Vec<Order>,
    /// The ticket after each of its changes, in order (a lapsed hold released
    /// on the way to a new reservation is a change of its own, with its own
    /// version, and is published as such). The last one is the ticket now.
    pub tickets: Vec<Ticket>,
}

impl Changes {
    /// The ticket as it stands after all the changes, if it changed.
    pub fn final_ticket(&self) -> Option<&Ticket> {
        self.tickets.last()
    }
}

impl Ticket {
    /// A new ticket, available, version 0.
    pub fn new(id: TicketId, seller: UserId, title: Title, price: Price, date: EventDate) -> Self {
        Ticket {
            id,
            title,
            price,
            date,
            seller,
            version: 0,
            status: TicketStatus::Available,
            order_id: None,
            event_id: None,
            seat: None,
        }
    }

    /// Only its seller may edit or delete a ticket: the one place that rule
    /// lives.
    pub fn check_seller(&self, by: UserId) -> Result<(), DomainError> {
        if self.seller == by {
            Ok(())
        } else {
            Err(DomainError::NotOwner)
        }
    }

    /// The ticket as an order records it.
    pub fn snapshot(&self) -> OrderTicket {
        OrderTicket {
            id: self.id,
            title: self.title.clone(),
            price: self.price,
            date: self.date,
            version: self.version,
            event_id: self.event_id,
            seat: self.seat.clone(),
        }
    }
}

impl TicketState {
    /// The hold's deadline, when the ticket is held.
    pub fn hold_deadline(&self) -> Option<(OrderId, Timestamp)> {
        match &self.order {
            Some(o) if o.status == OrderStatus::Created => Some((o.id, o.expires_at)),
            _ => None,
        }
    }

    /// Releases the ticket if it is held past its deadline at `now`.
    pub fn expire_if_due(&mut self, now: Timestamp, changes: &mut Changes) {
        if let Some((_, deadline)) = self.hold_deadline() {
            if now >= deadline {
                self.release(CancelReason::Expired, changes);
            }
        }
    }

    fn release(&mut self, reason: CancelReason, changes: &mut Changes) {
        if let Some(mut order) = self.order.take() {
            self.ticket.version += 1;
            self.ticket.status = TicketStatus::Available;
            self.ticket.order_id = None;
            order.status = OrderStatus::Cancelled;
            order.cancel_reason = Some(reason);
            order.version += 1;
            order.tickets[0].version = self.ticket.version;
            changes.orders.push(order);
            changes.tickets.push(self.ticket.clone());
        }
    }

    /// Holds the ticket for `buyer` until `now + window`. A hold already past
    /// its deadline is released first, even if its timer has not fired.
    pub fn reserve(
        &mut self,
        order_id: OrderId,
        buyer: UserId,
        now: Timestamp,
        window: Duration,
    ) -> Result<Changes, DomainError> {
        let mut changes = Changes::default();
        self.expire_if_due(now, &mut changes);
        if self.order.is_some() {
            return Err(DomainError::AlreadyReserved);
        }
        self.ticket.version += 1;
        self.ticket.status = TicketStatus::Reserved;
        self.ticket.order_id = Some(order_id);
        let order = Order::hold(order_id, buyer, vec![self.ticket.snapshot()], now, window);
        self.order = Some(order.clone());
        changes.orders.push(order);
        changes.tickets.push(self.ticket.clone());
        Ok(changes)
    }

    /// The buyer cancels their order. Cancelling an order that no longer
    /// holds the ticket changes nothing (it was already cancelled).
    pub fn cancel(&mut self, order_id: OrderId, by: UserId) -> Result<Changes, DomainError> {
        let mut changes = Changes::default();
        match &self.order {
            Some(o) if o.id == order_id => {
                o.check_buyer(by)?;
                if o.status == OrderStatus::Complete {
                    return Err(DomainError::CancelPaid);
                }
                self.release(CancelReason::Buyer, &mut changes);
            }
            _ => {}
        }
        Ok(changes)
    }

    /// Starts paying for `order_id` by `by` at `now`: first releases the
    /// ticket if the hold has lapsed (a change returned, to be stored, even
    /// when the payment is then refused as cancelled), then says what to
    /// charge. Nothing is marked paid until [`TicketState::complete_payment`].
    pub fn begin_payment(
        &mut self,
        order_id: OrderId,
        by: UserId,
        now: Timestamp,
    ) -> (Changes, Result<Price, DomainError>) {
        let mut changes = Changes::default();
        self.expire_if_due(now, &mut changes);
        let result = match &self.order {
            Some(o) if o.id == order_id => o.check_buyer(by).and_then(|()| {
                if o.status == OrderStatus::Complete {
                    Err(DomainError::AlreadyPaid)
                } else {
                    Ok(o.total())
                }
            }),
            _ => Err(DomainError::PayCancelled),
        };
        (changes, result)
    }

    /// Marks the held order paid (by `payment`) and the ticket sold. Call
    /// after a successful charge for an order that `begin_payment` accepted.
    pub fn complete_payment(&mut self, order_id: OrderId, payment: PaymentRef) -> Changes {
        let mut changes = Changes::default();
        if let Some(order) = self.order.as_mut().filter(|o| o.id == order_id) {
            self.ticket.version += 1;
            self.ticket.status = TicketStatus::Sold;
            order.status = OrderStatus::Complete;
            order.payment = Some(payment);
            order.version += 1;
            order.tickets[0].version = self.ticket.version;
            changes.orders.push(order.clone());
            changes.tickets.push(self.ticket.clone());
        }
        changes
    }

    /// The seller edits an available ticket.
    pub fn edit(
        &mut self,
        by: UserId,
        title: Title,
        price: Price,
        date: EventDate,
        now: Timestamp,
    ) -> Result<Changes, DomainError> {
        self.ticket.check_seller(by)?;
        let mut changes = Changes::default();
        self.expire_if_due(now, &mut changes);
        if self.order.is_some() {
            return Err(DomainError::EditWhileReserved);
        }
        self.ticket.title = title;
        self.ticket.price = price;
        self.ticket.date = date;
        self.ticket.version += 1;
        changes.tickets.push(self.ticket.clone());
        Ok(changes)
    }

    /// Readies an available ticket for deletion by its seller: releases a
    /// lapsed hold on the way (returned, to be stored with the deletion) and
    /// refuses a ticket still held or sold. The deletion itself is the
    /// caller's write.
    pub fn prepare_delete(&mut self, by: UserId, now: Timestamp) -> Result<Changes, DomainError> {
        self.ticket.check_seller(by)?;
        let mut changes = Changes::default();
        self.expire_if_due(now, &mut changes);
        if self.order.is_some() {
            return Err(DomainError::DeleteWhileReserved);
        }
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELLER: UserId = UserId(1);
    const ANN: UserId = UserId(2);
    const BOB: UserId = UserId(3);
    const WINDOW: Duration = Duration::from_secs(60);
    const PAID: PaymentRef = PaymentRef {
        id: crate::domain::PaymentId(7),
        paid_at: Timestamp(5),
    };

    fn fresh() -> TicketState {
        TicketState {
            ticket: Ticket::new(
                TicketId(10),
                SELLER,
                Title::parse("Concert").unwrap(),
                Price::from_cents(2000).unwrap(),
                EventDate(None),
            ),
            order: None,
        }
    }

    #[test]
    fn a_held_ticket_cannot_be_held_again_until_it_lapses() {
        let mut state = fresh();
        let t0 = Timestamp(1_000_000);
        let ch = state.reserve(OrderId(1), ANN, t0, WINDOW).unwrap();
        assert_eq!(ch.orders.len(), 1);
        assert_eq!(state.ticket.status, TicketStatus::Reserved);
        assert_eq!(state.ticket.version, 1);
        assert_eq!(state.order.as_ref().unwrap().expires_at, t0.plus(WINDOW));
        assert_eq!(
            state.reserve(OrderId(2), BOB, t0.plus(Duration::from_secs(59)), WINDOW),
            Err(DomainError::AlreadyReserved)
        );
        // At the deadline the hold no longer blocks, timer or not.
        let ch = state
            .reserve(OrderId(2), BOB, t0.plus(WINDOW), WINDOW)
            .unwrap();
        assert_eq!(ch.orders[0].status, OrderStatus::Cancelled);
        assert_eq!(ch.orders[0].id, OrderId(1));
        assert_eq!(ch.orders[1].id, OrderId(2));
        assert_eq!(
            state.ticket.version, 3,
            "release and reservation are two changes"
        );
        assert_eq!(state.ticket.order_id, Some(OrderId(2)));
    }

    #[test]
    fn cancel_releases_and_is_idempotent_but_not_for_others_or_after_payment() {
        let mut state = fresh();
        state
            .reserve(OrderId(1), ANN, Timestamp(0), WINDOW)
            .unwrap();
        assert_eq!(state.cancel(OrderId(1), BOB), Err(DomainError::NotOwner));
        let ch = state.cancel(OrderId(1), ANN).unwrap();
        assert_eq!(ch.orders[0].status, OrderStatus::Cancelled);
        assert_eq!(state.ticket.status, TicketStatus::Available);
        assert_eq!(state.ticket.version, 2);
        assert_eq!(state.cancel(OrderId(1), ANN).unwrap(), Changes::default());

        state
            .reserve(OrderId(2), ANN, Timestamp(0), WINDOW)
            .unwrap();
        state
            .begin_payment(OrderId(2), ANN, Timestamp(1))
            .1
            .unwrap();
        state.complete_payment(OrderId(2), PAID);
        assert_eq!(state.ticket.status, TicketStatus::Sold);
        assert_eq!(state.cancel(OrderId(2), ANN), Err(DomainError::CancelPaid));
    }

    #[test]
    fn payment_rules() {
        let mut state = fresh();
        state
            .reserve(OrderId(1), ANN, Timestamp(0), WINDOW)
            .unwrap();
        assert_eq!(
            state
                .begin_payment(OrderId(1), BOB, Timestamp(1))
                .1
                .unwrap_err(),
            DomainError::NotOwner
        );
        assert_eq!(
            state
                .begin_payment(OrderId(9), ANN, Timestamp(1))
                .1
                .unwrap_err(),
            DomainError::PayCancelled
        );
        let price = state
            .begin_payment(OrderId(1), ANN, Timestamp(1))
            .1
            .unwrap();
        assert_eq!(price.cents(), 2000);
        let ch = state.complete_payment(OrderId(1), PAID);
        assert_eq!(ch.orders[0].status, OrderStatus::Complete);
        assert_eq!(ch.orders[0].ticket().version, 2);
        assert_eq!(
            state
                .begin_payment(OrderId(1), ANN, Timestamp(2))
                .1
                .unwrap_err(),
            DomainError::AlreadyPaid
        );
    }

    #[test]
    fn paying_after_the_deadline_cancels_the_hold() {
        let mut state = fresh();
        state
            .reserve(OrderId(1), ANN, Timestamp(0), WINDOW)
            .unwrap();
        let late = Timestamp(0).plus(WINDOW);
        let (ch, res) = state.begin_payment(OrderId(1), ANN, late);
        assert_eq!(res.unwrap_err(), DomainError::PayCancelled);
        assert_eq!(ch.orders[0].status, OrderStatus::Cancelled);
        // The release is applied even though the payment was refused.
        assert_eq!(state.ticket.status, TicketStatus::Available);
    }

    #[test]
    fn a_sold_ticket_never_lapses() {
        let mut state = fresh();
        state
            .reserve(OrderId(1), ANN, Timestamp(0), WINDOW)
            .unwrap();
        state.complete_payment(OrderId(1), PAID);
        let mut ch = Changes::default();
        state.expire_if_due(Timestamp(i64::MAX), &mut ch);
        assert_eq!(ch, Changes::default());
        assert_eq!(state.ticket.status, TicketStatus::Sold);
        assert_eq!(state.hold_deadline(), None);
    }

    #[test]
    fn only_the_seller_edits_or_deletes_and_only_when_available() {
        let mut state = fresh();
        let title = Title::parse("New").unwrap();
        let price = Price::from_cents(500).unwrap();
        assert_eq!(
            state.edit(ANN, title.clone(), price, EventDate(None), Timestamp(0)),
            Err(DomainError::NotOwner)
        );
        state
            .edit(SELLER, title.clone(), price, EventDate(None), Timestamp(0))
            .unwrap();
        assert_eq!(state.ticket.version, 1);
        state
            .reserve(OrderId(1), ANN, Timestamp(0), WINDOW)
            .unwrap();
        assert_eq!(
            state.edit(SELLER, title, price, EventDate(None), Timestamp(1)),
            Err(DomainError::EditWhileReserved)
        );
        assert_eq!(
            state.prepare_delete(SELLER, Timestamp(1)),
            Err(DomainError::DeleteWhileReserved)
        );
        assert_eq!(
            state.prepare_delete(ANN, Timestamp(1)),
            Err(DomainError::NotOwner)
        );
        assert!(state
            .prepare_delete(SELLER, Timestamp(0).plus(WINDOW))
            .is_ok());
    }
}
