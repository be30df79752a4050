//! The model of acknowledged state: what the clients were told by a 2xx
//! (and what they asked for that is still unanswered), the yardstick a
//! restarted server is measured against.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

/// One ticket as the clients know it.
#[derive(Debug, Clone)]
pub struct TicketM {
    /// The worker (user) who put it on sale.
    pub seller: usize,
    /// Title and price of the last acknowledged create or edit.
    pub title: String,
    /// The price, as the server last echoed it.
    pub price: Value,
    /// An edit in flight (or left unanswered by the kill).
    pub pending_edit: Option<(String, Value)>,
    /// The version the server must have reached: the highest one any 2xx
    /// reported or implied, or a restarted server showed.
    pub min_version: u64,
    /// A 204 to DELETE was received.
    pub deleted: bool,
    /// A DELETE is in flight or was left unanswered.
    pub pending_delete: bool,
    /// Best guess of the status, for choosing operations.
    pub hint: &'static str,
}

/// One order as the clients know it.
#[derive(Debug, Clone)]
pub struct OrderM {
    /// The worker (user) who placed it.
    pub buyer: usize,
    /// The id of the ticket it holds or bought.
    pub ticket: String,
    /// `created`, `cancelled` or `complete`, as last acknowledged.
    pub status: &'static str,
    /// When its hold runs out.
    pub expires_at: OffsetDateTime,
    /// The ticket's version once this order held it.
    pub held_version: u64,
    /// A cancel is in flight or was left unanswered.
    pub pending_cancel: bool,
    /// A payment is in flight or was left unanswered.
    pub pending_pay: bool,
}

/// Everything the clients were told, shared by them under a lock.
#[derive(Default)]
pub struct Model {
    /// ticket id -> ticket.
    pub tickets: HashMap<String, TicketM>,
    /// order id -> order.
    pub orders: HashMap<String, OrderM>,
    /// (seller, title) of creates left unanswered.
    pub pending_creates: Vec<(usize, String)>,
    /// (buyer, ticket id) of reservations left unanswered.
    pub pending_reserves: Vec<(usize, String)>,
    /// payment id -> order id, from 201s.
    pub payments: HashMap<String, String>,
    /// Acknowledged writes since the last verification.
    pub acked: u64,
    /// Requests sent since the last verification.
    pub sent: u64,
}

impl Model {
    /// The tickets worker `w` put on sale and has not deleted (nor sent a
    /// DELETE for): the ones it may edit or delete.
    pub fn mine(&self, w: usize) -> Vec<String> {
        self.tickets
            .iter()
            .filter(|(_, t)| t.seller == w && !t.deleted && !t.pending_delete)
            .map(|(id, _)| id.clone())
            .collect()
    }
}

/// Counts over the whole run, for the closing summary.
#[derive(Default, Debug)]
pub struct Totals {
    /// Kill cycles done.
    pub cycles: u64,
    /// Acknowledged writes checked after a restart.
    pub acked_checked: u64,
    /// Requests sent.
    pub requests: u64,
    /// Requests left unanswered by a kill.
    pub unanswered: u64,
    /// Of those, the ones a restarted server showed applied.
    pub unanswered_applied: u64,
    /// Restarts that had to wait for stale holds to be released.
    pub stale_holds_released: u64,
}

/// A status the server reported, as the model's static string; an unknown
/// one fails the test.
pub fn status_str(s: &str) -> &'static str {
    match s {
        "created" => "created",
        "cancelled" => "cancelled",
        "complete" => "complete",
        "awaiting:payment" => "awaiting:payment",
        "available" => "available",
        "reserved" => "reserved",
        "sold" => "sold",
        other => panic!("unknown status {other:?}"),
    }
}

/// Whether an order in this status holds its ticket.
pub fn is_live(order_status: &str) -> bool {
    matches!(order_status, "created" | "awaiting:payment" | "complete")
}
