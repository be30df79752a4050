//! Real-browser tests: headless Chromium, driven over WebDriver (chromedriver
//! and fantoccini), against the server running in-process on port 0 (or, to
//! stop and restart it under a running browser, the binary as a child
//! process). Buying a ticket and a hold running out are in
//! `browser/purchase.rs`, the ticket list's tests in `browser/ticket_list.rs`,
//! the sell form's in `browser/sell_form.rs`, the order page's in
//! `browser/orders.rs`, the events page's and the seat map's in
//! `browser/events.rs`, the waiting room's in `browser/queue.rs`. This file
//! holds what they share: the password of the users made in the browser and
//! the selector of a ticket's row.
//!
//! They need Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them) and fail with a clear message when those are missing. Each test
//! starts its own server, its own chromedriver on a free port and its own
//! browsers (fresh profiles), so the tests can run concurrently. Screenshots
//! of the steps go to `target/screenshots/<test>-<step>.png`.
//!
//! `readme_screenshot_of_the_ticket_list` also writes `docs/ui.png` when that
//! file is missing or `UPDATE_UI_SCREENSHOT=1` is set.

#[path = "support/child.rs"]
mod child;
#[path = "api/client.rs"]
mod client;
#[path = "browser/events.rs"]
mod events;
#[path = "browser/harness.rs"]
mod harness;
#[path = "browser/orders.rs"]
mod orders;
#[path = "browser/purchase.rs"]
mod purchase;
#[path = "browser/queue.rs"]
mod queue;
#[path = "browser/sell_form.rs"]
mod sell_form;
#[path = "browser/ticket_list.rs"]
mod ticket_list;

use harness::tid;

/// The password of the users who sign up through the browser forms.
const PASSWORD: &str = "correct horse battery";

/// The selector of the list row of one ticket.
fn row(ticket: &str) -> String {
    format!("{}[data-ticket-id=\"{ticket}\"]", tid("ticket-row"))
}
