//! The domain's one error enum: every rule a request can break.

/// A rule of the domain refused an operation, or a value failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A value did not parse; `field` names the input it came from.
    #[error("{message}")]
    Invalid {
        /// The request field the value came from.
        field: &'static str,
        /// A message a person can act on.
        message: &'static str,
    },
    /// The ticket is held or sold, so it cannot be reserved.
    #[error("Ticket is already reserved")]
    AlreadyReserved,
    /// The ticket is held or sold, so its seller cannot edit it.
    #[error("Cannot edit a reserved ticket")]
    EditWhileReserved,
    /// The ticket is held or sold, so its seller cannot delete it.
    #[error("Cannot delete a reserved ticket")]
    DeleteWhileReserved,
    /// The order was cancelled (by its buyer or by expiry).
    #[error("Cannot pay for an cancelled order")]
    PayCancelled,
    /// The order is already paid.
    #[error("Order has already been paid")]
    AlreadyPaid,
    /// A paid order cannot be cancelled.
    #[error("Cannot cancel a paid order")]
    CancelPaid,
    /// Another account already uses this email.
    #[error("Email in use")]
    EmailInUse,
    /// The caller is not the owner of the resource.
    #[error("Not authorized")]
    NotOwner,
    /// Fewer seats are free than a best-available order asked for.
    #[error("Not enough seats available")]
    NotEnoughSeats,
    /// The buyer would hold or own more seats of the event than allowed.
    #[error("Seat limit reached for this event")]
    SeatLimit,
    /// The event's seats are not on sale yet.
    #[error("Not on sale yet")]
    NotOnSale,
    /// A queued event's order came without a valid admission pass.
    #[error("Wait for your turn in the queue")]
    QueuePassRequired,
    /// A seat's ticket is edited or deleted only through its event.
    #[error("Seats are changed through their event")]
    SeatOfEvent,
    /// The event has no waiting room.
    #[error("This event has no queue")]
    NoQueue,
    /// An event with seats held or sold cannot be deleted.
    #[error("Cannot delete an event with reserved or sold seats")]
    EventHasOrders,
}
