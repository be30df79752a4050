//! Real-browser tests: headless Chromium, driven over WebDriver (chromedriver
//! and fantoccini), against the server running in-process on port 0 (or, to
//! stop and restart it under a running browser, the binary as a child
//! process). The order page's tests are in `browser/orders.rs`, the events
//! page's and the seat map's in `browser/events.rs`, the waiting room's in
//! `browser/queue.rs`.
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
#[path = "browser/queue.rs"]
mod queue;

use std::path::Path;
use std::time::Duration;

use harness::{guarded, tid, Env, TestResult};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";

/// The selector of the list row of one ticket.
fn row(ticket: &str) -> String {
    format!("{}[data-ticket-id=\"{ticket}\"]", tid("ticket-row"))
}

/// `data-status` of the first element matching `css`, or null.
const STATUS_OF: &str = "const el = document.querySelector(arguments[0]);
                         return el ? el.dataset.status : null;";

// ------------------------------------------------------------ 1

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_purchase_through_the_ui() {
    let env = Env::start("full_purchase_through_the_ui", 900, &["seller", "buyer"]).await;
    let outcome = guarded(full_purchase(&env)).await;
    env.finish(outcome).await;
}

async fn full_purchase(env: &Env) -> TestResult {
    let seller = env.browser("seller");
    let buyer = env.browser("buyer");

    // The seller signs up and puts a ticket on sale through the form.
    seller.sign_up("seller@example.com", PASSWORD).await?;
    seller.shot("01-seller-signed-up").await?;
    seller.click(&tid("nav-sell")).await?;
    seller.wait_route("/sell").await?;
    seller.fill(&tid("sell-title"), "Night concert").await?;
    seller.fill(&tid("sell-price"), "25.50").await?;
    // A datetime-local's keyboard entry depends on the browser's locale; set
    // its value the way the date picker does (the form reads `.value`).
    seller
        .js(
            "const input = document.querySelector(arguments[0]);
             input.value = arguments[1];
             input.dispatchEvent(new Event('input', { bubbles: true }));
             input.dispatchEvent(new Event('change', { bubbles: true }));
             return input.value;",
            vec![json!(tid("sell-date")), json!("2027-03-14T20:30")],
        )
        .await?;
    seller.shot("02-sell-form-filled").await?;
    seller.click(&tid("sell-submit")).await?;
    let route = seller.wait_route("/tickets/").await?;
    let ticket = route.trim_start_matches("/tickets/").to_string();
    let detail = format!("{}[data-ticket-id=\"{ticket}\"]", tid("ticket-detail"));
    seller
        .wait_attr(&detail, "data-status", "available")
        .await?;
    let title = seller.wait_visible(&format!("{detail} h1")).await?;
    ensure!(title == "Night concert", "seller sees title {title:?}");
    let price = seller.wait_visible(&tid("ticket-price")).await?;
    ensure!(price == "$25.50", "seller sees price {price:?}");
    let date = seller.attr(&format!("{detail} time"), "datetime").await?;
    // The browser runs in the machine's time zone: compare the instant.
    let typed = seller
        .js(
            "return new Date('2027-03-14T20:30').toISOString().replace(/\\.\\d{3}Z$/, 'Z');",
            vec![],
        )
        .await?;
    ensure!(
        json!(date) == typed,
        "ticket date {date} instead of {typed}"
    );
    ensure!(
        !seller.is_visible(&tid("reserve-button")).await?,
        "the seller is offered to reserve their own ticket"
    );
    seller.shot("03-ticket-on-sale").await?;

    // The buyer signs up in another browser, finds the ticket in the list
    // and reserves it.
    buyer.sign_up("buyer@example.com", PASSWORD).await?;
    buyer.goto("/").await?;
    buyer
        .wait_attr(&row(&ticket), "data-status", "available")
        .await?;
    buyer
        .click(&format!("{} {}", row(&ticket), tid("ticket-title")))
        .await?;
    buyer.wait_route(&format!("/tickets/{ticket}")).await?;
    buyer.shot("04-buyer-sees-ticket").await?;
    buyer.click(&tid("reserve-button")).await?;
    let route = buyer.wait_route("/orders/").await?;
    let order = route.trim_start_matches("/orders/").to_string();
    let status = format!("{} {}", tid("order"), tid("order-status"));
    buyer.wait_attr(&status, "data-status", "created").await?;
    let countdown = buyer
        .wait_js(
            "a running countdown of about 15:00",
            "const el = document.querySelector('[data-testid=\"countdown\"]');
             const t = el && !el.closest('[hidden]') ? el.textContent.trim() : '';
             return /^1[45]:[0-5]\\d$/.test(t) ? t : null;",
            vec![],
        )
        .await?;
    buyer.shot("05-reserved-countdown").await?;

    // The seller's page follows live.
    seller.wait_attr(&detail, "data-status", "reserved").await?;

    // A declined card first.
    buyer
        .select(&tid("payment-token"), "tok_chargeDeclined")
        .await?;
    buyer.click(&tid("pay-button")).await?;
    let declined = buyer.wait_visible(&tid("payment-error")).await?;
    ensure!(
        declined.to_lowercase().contains("declined"),
        "decline message {declined:?}"
    );
    ensure!(
        !buyer.is_visible(&tid("payment-success")).await?,
        "'Paid' shown after a declined card"
    );
    let after_decline = buyer.attr(&status, "data-status").await?;
    ensure!(
        after_decline != "complete",
        "order {after_decline} after a declined card"
    );
    buyer.shot("06-card-declined").await?;

    // Then a good card.
    buyer.select(&tid("payment-token"), "tok_visa").await?;
    buyer.click(&tid("pay-button")).await?;
    let paid = buyer.wait_visible(&tid("payment-success")).await?;
    ensure!(paid == "Paid", "success message {paid:?}");
    buyer.wait_attr(&status, "data-status", "complete").await?;
    ensure!(
        !buyer.is_visible(&tid("payment-error")).await?,
        "the decline message is still shown after paying"
    );
    buyer.shot("07-paid").await?;

    // My orders lists it as complete.
    buyer.click(&tid("nav-orders")).await?;
    buyer.wait_route("/orders").await?;
    let order_row = format!("{}[data-order-id=\"{order}\"]", tid("order-row"));
    buyer
        .wait_attr(&order_row, "data-status", "complete")
        .await?;
    let badge = buyer
        .wait_visible(&format!("{order_row} {}", tid("order-status")))
        .await?;
    ensure!(badge == "Paid", "order row badge {badge:?}");
    buyer.shot("08-my-orders").await?;

    // The seller saw it sell without reloading; the API agrees.
    seller.wait_attr(&detail, "data-status", "sold").await?;
    seller.shot("09-seller-sees-sold").await?;
    let t = env.api.ticket(&ticket).await?;
    ensure!(t["status"] == "sold", "API: ticket {t}");
    ensure!(
        t["orderId"] == json!(order),
        "API: ticket {t}, order {order}"
    );
    eprintln!("full purchase: countdown showed {countdown}, decline said {declined:?}");
    Ok(())
}

// ------------------------------------------------------------ 2

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_see_a_reservation_live() {
    let env = Env::start("two_browsers_see_a_reservation_live", 900, &["a", "b"]).await;
    let outcome = guarded(reservation_live(&env)).await;
    env.finish(outcome).await;
}

async fn reservation_live(env: &Env) -> TestResult {
    let a = env.browser("a");
    let b = env.browser("b");
    let seller = env.api.sign_up("seller@example.com").await?;
    let ticket = env
        .api
        .sell(
            &seller,
            "Jazz at the Blue Room",
            "40",
            Some("2027-02-05T21:00:00Z"),
        )
        .await?;
    let other = env
        .api
        .sell(&seller, "Comedy night", "18", Some("2027-02-06T20:00:00Z"))
        .await?;

    b.sign_up("b@example.com", PASSWORD).await?;
    for browser in [a, b] {
        browser.goto("/").await?;
        browser.wait_live().await?;
        browser
            .wait_attr(&row(&ticket), "data-status", "available")
            .await?;
        browser
            .wait_attr(&row(&other), "data-status", "available")
            .await?;
    }

    // In A: note when the row turns reserved, and that the page never reloads.
    a.js(
        "window.__sameDocument = true;
         window.__reservedSeenAt = null;
         const sel = arguments[0];
         const check = () => {
           const li = document.querySelector(sel);
           if (li && li.dataset.status === 'reserved' && window.__reservedSeenAt === null) {
             window.__reservedSeenAt = Date.now();
           }
         };
         new MutationObserver(check).observe(document.body, {
           subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'],
         });",
        vec![json!(row(&ticket))],
    )
    .await?;
    a.shot("01-a-before").await?;

    // B opens the ticket from the list; note when the server acknowledges
    // B's reservation (the response to POST /api/orders reaches the page).
    b.click(&format!("{} {}", row(&ticket), tid("ticket-title")))
        .await?;
    b.wait_route(&format!("/tickets/{ticket}")).await?;
    b.js(
        "window.__reserveAckAt = null;
         const original = window.fetch;
         window.__reserveClickAt = null;
         document.addEventListener('click', (e) => {
           if (e.target.closest('[data-testid=\"reserve-button\"]')) window.__reserveClickAt ??= Date.now();
         }, true);
         window.fetch = async (...args) => {
           const response = await original(...args);
           const url = String(args[0]);
           if (/\\/api\\/orders$/.test(url) && args[1]?.method === 'POST') {
             window.__reserveAckAt = Date.now();
             window.__reserveStatus = response.status;
           }
           return response;
         };",
        vec![],
    )
    .await?;
    b.click(&tid("reserve-button")).await?;
    let ack = b
        .wait_js(
            "B's reservation to be acknowledged",
            "return window.__reserveAckAt && { at: window.__reserveAckAt,
                                                status: window.__reserveStatus,
                                                clicked: window.__reserveClickAt };",
            vec![],
        )
        .await?;
    ensure!(ack["status"] == 201, "POST /api/orders answered {ack}");
    let ack_at = ack["at"].as_f64().unwrap_or_default();

    // A sees it without a reload, within a second of the acknowledgement.
    let seen = a
        .wait_js_for(
            "A's row to turn reserved",
            Duration::from_secs(5),
            "return window.__reservedSeenAt;",
            vec![],
        )
        .await?;
    let seen_at = seen.as_f64().unwrap_or_default();
    let latency_ms = seen_at - ack_at;
    let from_click_ms = seen_at - ack["clicked"].as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "live latency: A showed the reservation {latency_ms:.0} ms after B's POST /api/orders was \
         answered (negative: the push arrived before the response), {from_click_ms:.0} ms after \
         B clicked Reserve"
    );
    ensure!(
        latency_ms.is_finite() && latency_ms <= 1000.0,
        "A saw the reservation {latency_ms} ms after it was acknowledged"
    );
    let same = a
        .js("return window.__sameDocument === true;", vec![])
        .await?;
    ensure!(same == json!(true), "A's page was reloaded");
    ensure!(
        a.js(STATUS_OF, vec![json!(row(&other))]).await? == json!("available"),
        "the other ticket changed too"
    );
    a.wait_live().await?;
    let badge = a
        .wait_visible(&format!("{} {}", row(&ticket), tid("ticket-status")))
        .await?;
    ensure!(badge == "reserved", "A's badge says {badge:?}");
    a.shot("02-a-sees-reserved").await?;
    b.wait_route("/orders/").await?;
    b.wait_visible(&tid("countdown")).await?;
    b.shot("03-b-order").await?;
    Ok(())
}

// ------------------------------------------------------------ 3

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_expires_on_screen() {
    let env = Env::start("hold_expires_on_screen", 3, &["buyer"]).await;
    let outcome = guarded(hold_expires(&env)).await;
    env.finish(outcome).await;
}

async fn hold_expires(env: &Env) -> TestResult {
    let buyer = env.browser("buyer");
    let seller = env.api.sign_up("seller@example.com").await?;
    let ticket = env
        .api
        .sell(
            &seller,
            "Opera: La Traviata",
            "95",
            Some("2027-04-02T19:00:00Z"),
        )
        .await?;

    buyer.sign_up("buyer@example.com", PASSWORD).await?;
    buyer.goto(&format!("/tickets/{ticket}")).await?;
    buyer.wait_visible(&tid("reserve-button")).await?;
    // Record every value the countdown shows (polling could miss the few
    // seconds on a busy machine); the order page renders into this document.
    buyer
        .js(
            "window.__countdowns = [];
             window.__statuses = [];
             new MutationObserver(() => {
               const el = document.querySelector('[data-testid=\"countdown\"]');
               if (el && !el.closest('[hidden]')) {
                 const t = el.textContent.trim();
                 if (/^\\d\\d:\\d\\d$/.test(t) && window.__countdowns.at(-1) !== t) window.__countdowns.push(t);
               }
               const st = document.querySelector('[data-testid=\"order\"] [data-testid=\"order-status\"]');
               if (st && window.__statuses.at(-1) !== st.dataset.status) window.__statuses.push(st.dataset.status);
             }).observe(document.getElementById('view'), { subtree: true, childList: true, characterData: true, attributes: true });",
            vec![],
        )
        .await?;
    buyer.click(&tid("reserve-button")).await?;
    let route = buyer.wait_route("/orders/").await?;
    let order = route.trim_start_matches("/orders/").to_string();
    let status = format!("{} {}", tid("order"), tid("order-status"));

    // The countdown runs down from 00:03 while the order is held.
    let running = buyer
        .wait_js_for(
            "the countdown to run",
            Duration::from_secs(3),
            "const el = document.querySelector('[data-testid=\"countdown\"]');
             const t = el && !el.closest('[hidden]') ? el.textContent.trim() : '';
             return /^00:0[1-3]$/.test(t) ? t : null;",
            vec![],
        )
        .await;
    if running.is_ok() {
        buyer.shot("01-countdown").await?;
    }

    // Then the hold runs out on screen, and the server agrees.
    let expired = buyer.wait_visible(&tid("hold-expired")).await?;
    ensure!(expired.contains("expired"), "hold-expired says {expired:?}");
    let countdown = buyer.wait_visible(&tid("countdown")).await?;
    ensure!(
        countdown == "00:00",
        "countdown shows {countdown:?} after expiry"
    );
    buyer.wait_attr(&status, "data-status", "cancelled").await?;
    let badge = buyer.wait_visible(&status).await?;
    ensure!(badge == "Expired", "order badge {badge:?}");
    buyer.shot("02-expired").await?;
    let seen = buyer
        .js("return [window.__countdowns, window.__statuses];", vec![])
        .await?;
    let shown: Vec<&str> = seen[0]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    ensure!(
        shown
            .iter()
            .any(|t| ["00:03", "00:02", "00:01"].contains(t)),
        "the countdown never showed the hold running: {shown:?}"
    );
    ensure!(
        shown.windows(2).all(|w| w[0] > w[1]) && shown.last() == Some(&"00:00"),
        "the countdown did not run down to 00:00: {shown:?}"
    );
    ensure!(
        seen[1] == json!(["created", "cancelled"]),
        "order statuses shown: {}",
        seen[1]
    );

    // Paying is impossible: the controls are disabled, and the server
    // refuses the payment even when the page sends it anyway.
    let controls = buyer
        .js(
            "const pay = document.querySelector('[data-testid=\"pay-button\"]');
             const token = document.querySelector('[data-testid=\"payment-token\"]');
             return { pay: !pay || pay.disabled || !!pay.closest('[hidden]'),
                      token: !token || token.disabled || !!token.closest('[hidden]') };",
            vec![],
        )
        .await?;
    ensure!(
        controls == json!({ "pay": true, "token": true }),
        "payment controls still usable after expiry: {controls}"
    );
    let _ = buyer
        .client()
        .find(fantoccini::Locator::Css(&tid("pay-button")))
        .await?
        .click()
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ensure!(
        !buyer.is_visible(&tid("payment-success")).await?,
        "'Paid' shown for an expired hold"
    );
    let forced = buyer
        .js_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/payments', {
               method: 'POST', credentials: 'same-origin',
               headers: { 'Content-Type': 'application/json' },
               body: JSON.stringify({ orderId: arguments[0], token: 'tok_visa' }),
             }).then(async (r) => done({ status: r.status, body: await r.text() }),
                     (e) => done({ error: String(e) }));",
            vec![json!(order)],
        )
        .await?;
    ensure!(
        forced["status"] == 400,
        "paying an expired order answered {forced}"
    );

    // The list shows the ticket available again.
    buyer.click(&tid("nav-tickets")).await?;
    buyer
        .wait_attr(&row(&ticket), "data-status", "available")
        .await?;
    buyer.shot("03-available-again").await?;
    let t = env.api.ticket(&ticket).await?;
    ensure!(
        t["status"] == "available" && t["orderId"] == Value::Null,
        "API: ticket {t}"
    );
    eprintln!("hold expiry: countdown showed {shown:?}, then {expired:?}; paying anyway: {forced}");
    Ok(())
}

// ------------------------------------------------------------ 4

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_screenshot_of_the_ticket_list() {
    let env = Env::start("readme_screenshot_of_the_ticket_list", 900, &["visitor"]).await;
    let outcome = guarded(readme_screenshot(&env)).await;
    env.finish(outcome).await;
}

async fn readme_screenshot(env: &Env) -> TestResult {
    let visitor = env.browser("visitor");
    let api = &env.api;
    let ann = api.sign_up("ann@example.com").await?;
    let bob = api.sign_up("bob@example.com").await?;
    let me = api.sign_up("sam@example.com").await?;

    // A few tickets in every state, some of them the visitor's own.
    let concert = api
        .sell(
            &ann,
            "Night concert: The Lanterns",
            "25.50",
            Some("2027-01-15T20:00:00Z"),
        )
        .await?;
    let jazz = api
        .sell(
            &ann,
            "Jazz at the Blue Room",
            "40",
            Some("2027-02-05T21:00:00Z"),
        )
        .await?;
    let marathon = api
        .sell(
            &ann,
            "City Marathon grandstand",
            "12",
            Some("2027-04-18T08:30:00Z"),
        )
        .await?;
    let opera = api
        .sell(
            &bob,
            "Opera: La Traviata",
            "95",
            Some("2027-04-02T19:00:00Z"),
        )
        .await?;
    let comedy = api
        .sell(&bob, "Comedy night", "18", Some("2027-02-06T20:00:00Z"))
        .await?;
    let final_ = api
        .sell(
            &bob,
            "Cup final, north stand",
            "120",
            Some("2027-05-22T17:00:00Z"),
        )
        .await?;
    let festival = api
        .sell(&me, "Indie film festival pass", "60", None)
        .await?;

    let order = api.reserve(&bob, &jazz).await?;
    api.pay(&bob, &order).await?;
    api.reserve(&me, &marathon).await?;
    api.reserve(&ann, &comedy).await?;
    let order = api.reserve(&me, &final_).await?;
    api.pay(&me, &order).await?;

    visitor.sign_in(&me.email, "correct horse").await?;
    visitor.goto("/").await?;
    visitor.wait_live().await?;
    let expected = [
        (&concert, "available"),
        (&jazz, "sold"),
        (&marathon, "reserved"),
        (&opera, "available"),
        (&comedy, "reserved"),
        (&final_, "sold"),
        (&festival, "available"),
    ];
    for (id, status) in expected {
        visitor.wait_attr(&row(id), "data-status", status).await?;
    }
    // The visitor's own relations are marked once their orders are known.
    visitor
        .wait_attr(
            &format!("{} {}", row(&marathon), tid("ticket-relation")),
            "data-relation",
            "buyer",
        )
        .await?;
    visitor
        .wait_attr(
            &format!("{} {}", row(&festival), tid("ticket-relation")),
            "data-relation",
            "seller",
        )
        .await?;
    // Dismiss the "Signed in as ..." message.
    visitor.click(".alert-close").await?;
    visitor
        .wait_js(
            "the alert to go",
            "return !document.querySelector('[data-testid=\"alert\"]');",
            vec![],
        )
        .await?;
    // Settle: no flash animation, no focus ring, no caret.
    visitor
        .js(
            "document.activeElement?.blur();
             for (const el of document.querySelectorAll('.flash')) el.classList.remove('flash');",
            vec![],
        )
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let viewport = visitor
        .js("return [window.innerWidth, window.innerHeight];", vec![])
        .await?;
    ensure!(
        viewport == json!([1280, 900]),
        "viewport is {viewport}, not 1280x900"
    );
    let path = visitor.shot("ticket-list").await?;
    let png = std::fs::read(&path)?;
    ensure!(
        png.len() < 300 * 1024,
        "screenshot is {} KB, over 300 KB",
        png.len() / 1024
    );

    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ui.png");
    let update = std::env::var("UPDATE_UI_SCREENSHOT").is_ok_and(|v| v == "1");
    if update || !docs.exists() {
        std::fs::create_dir_all(docs.parent().expect("docs/"))?;
        std::fs::write(&docs, &png)?;
        eprintln!("wrote {} ({} KB)", docs.display(), png.len() / 1024);
    }
    Ok(())
}

// ------------------------------------------------------------ sell form

/// Sets a datetime-local's value the way its picker does.
const SET_DATE: &str = "const input = document.querySelector(arguments[0]);
                        input.value = arguments[1];
                        input.dispatchEvent(new Event('input', { bubbles: true }));
                        input.dispatchEvent(new Event('change', { bubbles: true }));
                        return input.value;";

/// Signs `browser` up and opens the sell form with a title and a price.
async fn open_sell_form(browser: &harness::Browser, email: &str) -> TestResult {
    browser.sign_up(email, PASSWORD).await?;
    browser.goto("/sell").await?;
    browser.wait_route("/sell").await?;
    browser.fill(&tid("sell-title"), "Chamber music").await?;
    browser.fill(&tid("sell-price"), "30").await?;
    Ok(())
}

/// Submits the sell form and checks it stays, with an error on the date and
/// no ticket created.
async fn date_refused(env: &Env, browser: &harness::Browser, step: &str) -> TestResult<String> {
    browser.click(&tid("sell-submit")).await?;
    let error = browser.wait_visible(&tid("field-error-date")).await?;
    browser.shot(step).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let route = browser.wait_route("/").await?;
    ensure!(route == "/sell", "the form went on to {route}");
    let tickets = env.api.tickets().await?;
    ensure!(tickets.is_empty(), "tickets were created: {tickets:?}");
    Ok(error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_typed_date_is_refused() {
    let env = Env::start("half_typed_date_is_refused", 900, &["seller"]).await;
    let outcome = guarded(half_typed_date(&env)).await;
    env.finish(outcome).await;
}

async fn half_typed_date(env: &Env) -> TestResult {
    let seller = env.browser("seller");
    open_sell_form(seller, "seller@example.com").await?;
    // Type the month only: the input's value stays "" but it is not empty.
    seller.fill(&tid("sell-date"), "03").await?;
    let state = seller
        .js(
            "const i = document.querySelector(arguments[0]);
             return [i.value, i.validity.badInput];",
            vec![json!(tid("sell-date"))],
        )
        .await?;
    ensure!(
        state == json!(["", true]),
        "the date input is not half-typed: {state}"
    );
    let error = date_refused(env, seller, "01-half-typed-date").await?;
    ensure!(error.contains("complete date"), "date error says {error:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_dates_are_refused_and_shown_as_past() {
    let env = Env::start("past_dates_are_refused_and_shown_as_past", 900, &["seller"]).await;
    let outcome = guarded(past_dates(&env)).await;
    env.finish(outcome).await;
}

async fn past_dates(env: &Env) -> TestResult {
    let seller = env.browser("seller");
    open_sell_form(seller, "seller@example.com").await?;
    seller
        .js(
            SET_DATE,
            vec![json!(tid("sell-date")), json!("2020-05-01T20:00")],
        )
        .await?;
    let error = date_refused(env, seller, "01-past-date").await?;
    ensure!(error.contains("passed"), "date error says {error:?}");

    // Tickets whose date has passed (sold through the API) are listed as past
    // and cannot be reserved from the UI.
    let other = env.api.sign_up("other@example.com").await?;
    let past = env
        .api
        .sell(
            &other,
            "Last year's gala",
            "40",
            Some("2020-05-01T20:00:00Z"),
        )
        .await?;
    let future = env
        .api
        .sell(
            &other,
            "Next year's gala",
            "40",
            Some("2099-05-01T20:00:00Z"),
        )
        .await?;
    seller.goto("/").await?;
    seller
        .wait_attr(&row(&past), "data-status", "available")
        .await?;
    seller
        .wait_attr(&row(&future), "data-status", "available")
        .await?;
    let mark = seller
        .wait_visible(&format!("{} {}", row(&past), tid("ticket-past")))
        .await?;
    ensure!(mark == "Past", "past mark says {mark:?}");
    ensure!(
        !seller
            .is_visible(&format!("{} {}", row(&future), tid("ticket-past")))
            .await?,
        "a future ticket is marked past"
    );
    seller.shot("02-list-with-past").await?;
    seller.goto(&format!("/tickets/{past}")).await?;
    seller.wait_visible(&tid("ticket-past")).await?;
    let note = seller.wait_visible(&tid("ticket-note")).await?;
    ensure!(
        !seller.is_visible(&tid("reserve-button")).await?,
        "a past ticket offers to reserve ({note:?})"
    );
    seller.goto(&format!("/tickets/{future}")).await?;
    seller.wait_visible(&tid("reserve-button")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_field_loses_its_error() {
    let env = Env::start("fixed_field_loses_its_error", 900, &["seller"]).await;
    let outcome = guarded(fixed_field(&env)).await;
    env.finish(outcome).await;
}

async fn fixed_field(env: &Env) -> TestResult {
    let seller = env.browser("seller");
    open_sell_form(seller, "seller@example.com").await?;
    seller.fill(&tid("sell-title"), "").await?;
    seller.click(&tid("sell-submit")).await?;
    let error = seller.wait_visible(&tid("field-error-title")).await?;
    seller.shot("01-title-error").await?;
    seller.fill(&tid("sell-title"), "Chamber music").await?;
    seller
        .wait_js(
            "the title's error to go",
            "const e = document.querySelector(arguments[0]);
             const i = document.querySelector(arguments[1]);
             return e.hidden && !i.hasAttribute('aria-invalid') ? true : null;",
            vec![json!(tid("field-error-title")), json!(tid("sell-title"))],
        )
        .await?;
    seller.shot("02-title-fixed").await?;
    eprintln!("fixed field: the error was {error:?}");
    Ok(())
}

// ------------------------------------------------------------ header

/// The layout shifts recorded since the page loaded (buffered entries),
/// with the elements that moved, and the header's box now.
const SHIFTS: &str = "const done = arguments[arguments.length - 1];
    const entries = [];
    new PerformanceObserver((list) => entries.push(...list.getEntries()))
      .observe({ type: 'layout-shift', buffered: true });
    setTimeout(() => {
      const r = document.querySelector('.site-header').getBoundingClientRect();
      done({
        total: entries.filter((e) => !e.hadRecentInput).reduce((s, e) => s + e.value, 0),
        moved: entries.flatMap((e) => (e.sources || []).map((s) =>
          s.node ? (s.node.className || s.node.nodeName) + '' : '?')),
        header: [r.x, r.y, r.width, r.height],
      });
    }, 300);";

/// Loads the page afresh and returns what [`SHIFTS`] measured, once the
/// ticket list and the live badge are in.
async fn measure_load(browser: &harness::Browser, base: &str, ticket: &str) -> TestResult<Value> {
    browser.client().goto(&format!("{base}/#/")).await?;
    browser.client().refresh().await?;
    browser
        .wait_attr(&row(ticket), "data-status", "available")
        .await?;
    browser.wait_live().await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    browser.js_async(SHIFTS, vec![]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_does_not_shift_on_load() {
    let env = Env::start("header_does_not_shift_on_load", 900, &["visitor"]).await;
    let outcome = guarded(header_shift(&env)).await;
    env.finish(outcome).await;
}

async fn header_shift(env: &Env) -> TestResult {
    let visitor = env.browser("visitor");
    let seller = env.api.sign_up("seller@example.com").await?;
    let ticket = env
        .api
        .sell(
            &seller,
            "Harbour festival",
            "18",
            Some("2099-07-01T18:00:00Z"),
        )
        .await?;
    visitor.goto("/").await?;
    let base = visitor
        .js("return location.origin;", vec![])
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Signed out, then signed in: the header's end differs between the two.
    let out = measure_load(visitor, &base, &ticket).await?;
    visitor.shot("01-signed-out").await?;
    visitor
        .sign_up("someone.with.a.long.address@example.com", PASSWORD)
        .await?;
    let signed_in = measure_load(visitor, &base, &ticket).await?;
    visitor.shot("02-signed-in").await?;
    for (who, m) in [("signed out", &out), ("signed in", &signed_in)] {
        let total = m["total"].as_f64().unwrap_or(f64::MAX);
        let small = total < 0.01;
        ensure!(
            small,
            "{who}: layout shift {total} on load (moved: {})",
            m["moved"]
        );
    }
    ensure!(
        out["header"] == signed_in["header"],
        "the header's box differs: signed out {}, signed in {}",
        out["header"],
        signed_in["header"]
    );
    eprintln!("header: {out} / {signed_in}");
    Ok(())
}
