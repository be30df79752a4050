//! The ticket list in real browsers: a reservation made in one browser
//! shows in another's list within a second, without a reload; the README's
//! screenshot of the list, with tickets in every state; and the header not
//! shifting as the list loads, signed out or in.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::ensure;
use crate::harness::{self, guarded, tid, Env, TestResult};
use crate::{row, PASSWORD};

/// `data-status` of the first element matching `css`, or null.
const STATUS_OF: &str = "const el = document.querySelector(arguments[0]);
                         return el ? el.dataset.status : null;";

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
