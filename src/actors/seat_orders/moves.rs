//! Moves of a placed order of seats: its expiry (one timer per held
//! order), its cancel and its payment, each moving every seat in one write
//! under the order's lock.

use std::sync::Arc;
use std::time::Duration;

use super::{writes, SeatOrders};
use crate::actors::CommandError;
use crate::domain::{
    seat_order, CancelReason, Changes, DomainError, Order, OrderId, Payment, PaymentId, PaymentRef,
    TicketState, Timestamp, UserId,
};
use crate::storage::Write;

impl SeatOrders {
    /// Expires the order `order_id` at `deadline`, on an arbiter.
    pub(super) fn arm(self: &Arc<Self>, order_id: OrderId, deadline: Timestamp) {
        let this = self.clone();
        let due = self.core.clock.sleep_until(deadline);
        self.router.spawn(async move {
            due.await;
            this.expire(order_id).await;
        });
    }

    /// The hold of `order_id` is due: releases every seat if the order is
    /// still held past its deadline; retries every second while storage
    /// refuses.
    async fn expire(self: Arc<Self>, order_id: OrderId) {
        loop {
            let _order = self.orders.write(order_id).await;
            let Some(order) = self.core.read_model.order(order_id) else {
                return;
            };
            if !order.is_held() {
                return;
            }
            if self.core.clock.now() < order.expires_at {
                self.arm(order_id, order.expires_at);
                return;
            }
            match self.release(&order, CancelReason::Expired).await {
                Ok(()) => {
                    metrics::counter!("holds_expired_total").increment(1);
                    return;
                }
                Err(e) => {
                    tracing::warn!(order = %order_id, error = %e, "hold expiry not stored; retrying");
                }
            }
            drop(_order);
            // A retry delay, not a deadline: real time.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// The order `id` as last committed, with its lock held until the
    /// guard is dropped.
    async fn locked(
        &self,
        id: OrderId,
    ) -> Result<(Order, crate::actors::keyed_locks::Held<OrderId>), CommandError> {
        let lock = self.orders.write(id).await;
        let order = self
            .core
            .read_model
            .order(id)
            .ok_or(CommandError::NotFound)?;
        Ok((order, lock))
    }

    /// The seats of `order` as last committed.
    fn seats_of(&self, order: &Order) -> Option<Vec<TicketState>> {
        order
            .tickets
            .iter()
            .map(|t| self.core.read_model.ticket_state(t.id))
            .collect()
    }

    /// Stores `changes` of `order`'s seats (plus `extra`), then publishes
    /// them and tells the seats' running actors.
    async fn commit_moves(
        &self,
        order: &Order,
        seats: Vec<TicketState>,
        changes: Changes,
        extra: Option<Write>,
    ) -> Result<(), CommandError> {
        self.core.storage.commit(writes(&changes, extra)).await?;
        let event = order.event_id().expect("an order of seats");
        self.core
            .read_model
            .put_seats(event, &changes.tickets, &changes.orders);
        let queued = self
            .core
            .read_model
            .event_map(event)
            .is_some_and(|m| m.event().queue);
        if queued && changes.orders.iter().any(|o| !o.is_held()) {
            self.lines.order_news(event, order.buyer, order.id, true);
        }
        self.settle(None, seats.into_iter().map(|s| (s.ticket.id, Some(s))));
        Ok(())
    }

    /// Releases every seat of `order` for `reason` (nothing if it no longer
    /// holds them). Call under the order's lock.
    async fn release(&self, order: &Order, reason: CancelReason) -> Result<(), CommandError> {
        let Some(mut seats) = self.seats_of(order) else {
            return Ok(());
        };
        let changes = seat_order::release(&mut seats, order, reason)?;
        if changes.orders.is_empty() {
            return Ok(());
        }
        self.commit_moves(order, seats, changes, None).await
    }

    /// The buyer cancels an order of seats: every seat is released.
    pub async fn cancel(self: &Arc<Self>, id: OrderId, by: UserId) -> Result<(), CommandError> {
        let this = self.clone();
        Self::detached(async move {
            let (order, _lock) = this.locked(id).await?;
            order.check_buyer(by)?;
            this.release(&order, CancelReason::Buyer).await
        })
        .await
    }

    /// The buyer pays an order of seats: one charge of its total, then
    /// every seat sold in one write. A lapsed hold is released and refused.
    pub async fn pay(
        self: &Arc<Self>,
        id: OrderId,
        by: UserId,
        token: String,
    ) -> Result<Payment, CommandError> {
        let this = self.clone();
        Self::detached(async move {
            let (order, _lock) = this.locked(id).await?;
            let now = this.core.clock.now();
            let total = match seat_order::payable(&order, by, now) {
                Ok(total) => total,
                Err(e) => {
                    if order.is_held() && order.check_buyer(by).is_ok() {
                        // Lapsed: released now, as its timer would.
                        this.release(&order, CancelReason::Expired).await?;
                    }
                    return Err(e.into());
                }
            };
            let charged = this.core.gateway.charge(&token, total, id).await;
            let charge_id = match charged {
                Ok(charge_id) => charge_id,
                Err(e) => {
                    metrics::counter!("payments_total", "outcome" => "refused").increment(1);
                    return Err(e.into());
                }
            };
            metrics::counter!("payments_total", "outcome" => "charged").increment(1);
            let payment = Payment {
                id: PaymentId(this.core.ids.next()),
                order_id: id,
                charge_id,
                amount: total,
                created_at: this.core.clock.now(),
            };
            let mut seats = this.seats_of(&order).ok_or(DomainError::PayCancelled)?;
            let paid = PaymentRef {
                id: payment.id,
                paid_at: payment.created_at,
            };
            let changes = seat_order::complete(&mut seats, &order, paid)?;
            this.commit_moves(
                &order,
                seats,
                changes,
                Some(Write::Payment(payment.clone())),
            )
            .await?;
            Ok(payment)
        })
        .await
    }
}
