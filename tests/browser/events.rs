//! The events page and the live seat map in a real browser: two buyers on
//! one map (seats one takes turn held on the other's screen and cannot be
//! picked there), picking seats with the keyboard alone, and a hold of
//! several seats running out on both screens. Events are created through
//! the API (`POST /api/events`).

use std::time::Duration;

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::{json, Value};

use crate::ensure;
use crate::harness::{guarded, tid, ApiUser, Browser, Env, TestResult, LAYOUT_SHIFTS};

/// The password of the users made through the API (`Api::sign_up`).
const API_PASSWORD: &str = "correct horse";

/// The seat `number` of `row` in the section "Stalls".
fn seat(row: &str, number: u32) -> String {
    format!(
        "{}[data-section=\"Stalls\"][data-row=\"{row}\"][data-number=\"{number}\"]",
        tid("seat")
    )
}

/// Creates "Stalls" (rows A and B of 6 seats at 30) and "Floor" (50
/// standing places at 15) and returns the event's id.
async fn create_event(env: &Env, organiser: &ApiUser, name: &str) -> TestResult<String> {
    let body = json!({
        "name": name,
        "venue": "Town hall",
        "startsAt": "2099-06-01T19:30:00Z",
        "sections": [
            { "name": "Stalls", "price": "30", "rows": [
                { "label": "A", "seats": 6 }, { "label": "B", "seats": 6 } ] },
            { "name": "Floor", "price": "15", "capacity": 50 },
        ],
    });
    let event = env
        .api
        .expect(
            reqwest::Method::POST,
            "/events",
            Some(&organiser.token),
            Some(body),
            201,
        )
        .await?;
    event["id"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| format!("no id in {event}").into())
}

/// Opens the event's page and waits for its live snapshot.
async fn open_map(browser: &Browser, event: &str) -> TestResult {
    browser.goto(&format!("/events/{event}")).await?;
    browser
        .wait_attr(&tid("seat-map"), "data-ready", "true")
        .await?;
    browser
        .wait_attr(&tid("seat-map"), "data-live", "live")
        .await
}

/// The ticket id behind a seat of the map.
async fn ticket_of(browser: &Browser, seat_css: &str) -> TestResult<String> {
    browser.attr(seat_css, "data-ticket-id").await
}

/// The ticket ids listed in the summary of chosen seats.
async fn chosen(browser: &Browser) -> TestResult<Vec<String>> {
    let v = browser
        .js(
            "return [...document.querySelectorAll('[data-testid=\"summary-seat\"]')]
               .map((li) => li.dataset.ticketId);",
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(v)?)
}

/// Presses and releases one key in whatever has the focus.
async fn press(browser: &Browser, key: Key) -> TestResult {
    let k: char = key.into();
    let actions = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: k })
        .then(KeyAction::Up { value: k });
    browser.client().perform_actions(actions).await?;
    Ok(())
}

/// `data-testid`, section, row and number of the focused element.
async fn focused(browser: &Browser) -> TestResult<Value> {
    browser
        .js(
            "const el = document.activeElement;
             return el ? [el.dataset.testid ?? null, el.dataset.section ?? null,
                          el.dataset.row ?? null, el.dataset.number ?? null] : null;",
            vec![],
        )
        .await
}

/// The ids of an order's tickets, sorted.
fn order_ticket_ids(order: &Value) -> Vec<String> {
    let mut ids: Vec<String> = order["tickets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str().map(String::from))
        .collect();
    ids.sort();
    ids
}

// ------------------------------------------------------------ two buyers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_buyers_on_one_seat_map() {
    let env = Env::start("two_buyers_on_one_seat_map", 900, &["a", "b"]).await;
    let outcome = guarded(two_buyers(&env)).await;
    env.finish(outcome).await;
}

async fn two_buyers(env: &Env) -> TestResult {
    let (a, b) = (env.browser("a"), env.browser("b"));
    let organiser = env.api.sign_up("organiser@example.com").await?;
    let event = create_event(env, &organiser, "Spring concert").await?;
    let buyer_a = env.api.sign_up("a@example.com").await?;
    let buyer_b = env.api.sign_up("b@example.com").await?;
    a.sign_in(&buyer_a.email, API_PASSWORD).await?;
    b.sign_in(&buyer_b.email, API_PASSWORD).await?;

    // The events page lists it with its availability and leads to its map.
    a.click(&tid("nav-events")).await?;
    a.wait_route("/events").await?;
    let row = format!("{}[data-event-id=\"{event}\"]", tid("event-row"));
    let count = a
        .wait_visible(&format!("{row} {}", tid("event-availability")))
        .await?;
    ensure!(count == "62 of 62 available", "the list says {count:?}");
    a.click(&format!("{row} {}", tid("event-link"))).await?;
    a.wait_route(&format!("/events/{event}")).await?;
    open_map(a, &event).await?;
    open_map(b, &event).await?;
    let floor = a.wait_visible(&tid("standing-count")).await?;
    ensure!(
        floor == "Floor: 50 of 50 places left",
        "the standing section says {floor:?}"
    );
    a.shot("01-map").await?;

    // B picks A4 first; then A picks A2, A3 and A4 and reserves them.
    b.click(&seat("A", 4)).await?;
    let a4 = ticket_of(b, &seat("A", 4)).await?;
    ensure!(chosen(b).await? == vec![a4.clone()], "B's choice");
    let mut taken = Vec::new();
    for n in 2..=4 {
        a.click(&seat("A", n)).await?;
        a.wait_attr(&seat("A", n), "data-selected", "true").await?;
        taken.push(ticket_of(a, &seat("A", n)).await?);
    }
    let total = a.wait_visible(&tid("summary-total")).await?;
    ensure!(total.contains("$90.00"), "A's total says {total:?}");
    let label = a.attr(&seat("A", 3), "aria-label").await?;
    ensure!(
        label == "Stalls row A seat 3, selected, $30.00",
        "seat label {label:?}"
    );
    a.shot("02-a-picked-three").await?;
    a.click(&tid("reserve-seats")).await?;
    let route = a.wait_route("/orders/").await?;
    let order_id = route.trim_start_matches("/orders/").to_string();
    let order = env.api.order(&buyer_a, &order_id).await?;
    taken.sort();
    ensure!(
        order_ticket_ids(&order) == taken,
        "A's order holds {order}, not {taken:?}"
    );

    // B sees the three turn held live, is told A4 went, and cannot pick them.
    for n in 2..=4 {
        b.wait_attr(&seat("A", n), "data-status", "reserved")
            .await?;
    }
    let told = b.wait_visible(&tid("reserve-seats-error")).await?;
    ensure!(
        told.contains("Stalls, row A, seat 4"),
        "B was told {told:?}"
    );
    ensure!(chosen(b).await?.is_empty(), "B still holds a taken seat");
    b.click(&seat("A", 3)).await?;
    b.click(&seat("A", 5)).await?;
    b.wait_attr(&seat("A", 5), "data-selected", "true").await?;
    let a5 = ticket_of(b, &seat("A", 5)).await?;
    ensure!(
        chosen(b).await? == vec![a5],
        "B could pick a held seat: {:?}",
        chosen(b).await?
    );
    ensure!(
        b.attr(&seat("A", 3), "aria-disabled").await? == "true",
        "a held seat is offered"
    );
    b.shot("03-b-sees-held").await?;

    // A pays once for the three; B sees them sold.
    a.wait_visible(&tid("order-seats")).await?;
    let pay = a.wait_visible(&tid("pay-button")).await?;
    ensure!(pay == "Pay $90.00", "the pay button says {pay:?}");
    a.click(&tid("pay-button")).await?;
    a.wait_visible(&tid("payment-success")).await?;
    let lines = a
        .wait_js(
            "three receipt lines",
            "const n = document.querySelectorAll('[data-testid=\"receipt-line\"]').length;
             return n === 3 ? n : null;",
            vec![],
        )
        .await?;
    a.shot("04-a-paid").await?;
    for n in 2..=4 {
        b.wait_attr(&seat("A", n), "data-status", "sold").await?;
    }
    eprintln!("two buyers: B was told {told:?}; receipt lines {lines}");
    Ok(())
}

// ------------------------------------------------------------ keyboard

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_picked_with_the_keyboard_alone() {
    let env = Env::start("seats_picked_with_the_keyboard_alone", 900, &["buyer"]).await;
    let outcome = guarded(keyboard(&env)).await;
    env.finish(outcome).await;
}

async fn keyboard(env: &Env) -> TestResult {
    let browser = env.browser("buyer");
    let organiser = env.api.sign_up("organiser@example.com").await?;
    let event = create_event(env, &organiser, "String quartet").await?;
    let buyer = env.api.sign_up("buyer@example.com").await?;
    // Someone holds A1: the keyboard stop is the first free seat, A2.
    let first = env
        .api
        .expect(
            reqwest::Method::GET,
            &format!("/events/{event}/seats"),
            None,
            None,
            200,
        )
        .await?;
    let a1 = first[0]["id"].as_str().unwrap_or_default().to_string();
    let other = env.api.sign_up("other@example.com").await?;
    env.api
        .expect(
            reqwest::Method::POST,
            "/orders",
            Some(&other.token),
            Some(json!({ "ticketIds": [a1] })),
            201,
        )
        .await?;

    browser.sign_in(&buyer.email, API_PASSWORD).await?;
    open_map(browser, &event).await?;
    browser
        .wait_attr(&seat("A", 1), "data-status", "reserved")
        .await?;

    // Tab from the top of the page until the map has the focus.
    browser
        .js(
            "document.activeElement?.blur(); window.scrollTo(0, 0);",
            vec![],
        )
        .await?;
    let mut at = Value::Null;
    for _ in 0..40 {
        press(browser, Key::Tab).await?;
        at = focused(browser).await?;
        if at[0] == "seat" {
            break;
        }
    }
    ensure!(
        at == json!(["seat", "Stalls", "A", "2"]),
        "Tab reached {at} instead of seat A2"
    );
    // A2 (Enter), then down to B2 and right to B3 (Space), back left to B2
    // (Enter).
    press(browser, Key::Enter).await?;
    press(browser, Key::Down).await?;
    press(browser, Key::Right).await?;
    press(browser, Key::Space).await?;
    press(browser, Key::Left).await?;
    press(browser, Key::Enter).await?;
    // Left from A2 stops at A1, which is held: Enter there does nothing.
    press(browser, Key::Up).await?;
    press(browser, Key::Left).await?;
    at = focused(browser).await?;
    ensure!(at == json!(["seat", "Stalls", "A", "1"]), "focus on {at}");
    press(browser, Key::Enter).await?;
    let mut want = Vec::new();
    for (row, n) in [("A", 2), ("B", 2), ("B", 3)] {
        browser
            .wait_attr(&seat(row, n), "data-selected", "true")
            .await?;
        want.push(ticket_of(browser, &seat(row, n)).await?);
    }
    let mut picked = chosen(browser).await?;
    picked.sort();
    want.sort();
    ensure!(picked == want, "picked {picked:?}, wanted {want:?}");
    browser.shot("01-picked-by-keyboard").await?;

    // Tab on to Reserve and press Enter.
    for _ in 0..20 {
        press(browser, Key::Tab).await?;
        if focused(browser).await?[0] == "reserve-seats" {
            break;
        }
    }
    ensure!(
        focused(browser).await?[0] == "reserve-seats",
        "Tab never reached Reserve"
    );
    press(browser, Key::Enter).await?;
    let route = browser.wait_route("/orders/").await?;
    let order = env
        .api
        .order(&buyer, route.trim_start_matches("/orders/"))
        .await?;
    ensure!(
        order_ticket_ids(&order) == want,
        "the order holds {order}, not {want:?}"
    );
    ensure!(
        order["total"].as_f64() == Some(90.0),
        "order total {}",
        order["total"]
    );
    browser.shot("02-order").await?;
    Ok(())
}

// ------------------------------------------------------------ expiry

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_of_several_seats_expires_on_both_screens() {
    let env = Env::start(
        "hold_of_several_seats_expires_on_both_screens",
        3,
        &["a", "b"],
    )
    .await;
    let outcome = guarded(several_expire(&env)).await;
    env.finish(outcome).await;
}

async fn several_expire(env: &Env) -> TestResult {
    let (a, b) = (env.browser("a"), env.browser("b"));
    let organiser = env.api.sign_up("organiser@example.com").await?;
    let event = create_event(env, &organiser, "Late show").await?;
    let buyer = env.api.sign_up("a@example.com").await?;
    a.sign_in(&buyer.email, API_PASSWORD).await?;
    open_map(a, &event).await?;
    open_map(b, &event).await?;
    // B records every status each seat of row B shows.
    b.js(
        "window.__seen = {};
         const note = () => {
           for (const s of document.querySelectorAll('[data-testid=\"seat\"][data-row=\"B\"]')) {
             const seen = (window.__seen[s.dataset.number] ??= []);
             if (seen.at(-1) !== s.dataset.status) seen.push(s.dataset.status);
           }
         };
         note();
         new MutationObserver(note).observe(document.getElementById('view'),
           { subtree: true, attributes: true, attributeFilter: ['data-status'] });",
        vec![],
    )
    .await?;

    for n in 1..=3 {
        a.click(&seat("B", n)).await?;
        a.wait_attr(&seat("B", n), "data-selected", "true").await?;
    }
    a.click(&tid("reserve-seats")).await?;
    a.wait_route("/orders/").await?;
    let listed = a
        .wait_js(
            "three seats on the order page",
            "const n = document.querySelectorAll('[data-testid=\"order-seat\"]').length;
             return n === 3 ? n : null;",
            vec![],
        )
        .await?;
    a.shot("01-held").await?;

    // The hold lapses: A's order says so, B's map frees the three.
    a.wait_js_for(
        "the order to say expired",
        Duration::from_secs(10),
        "const st = document.querySelector('[data-testid=\"order\"] [data-testid=\"order-status\"]');
         return st && st.dataset.reason === 'expired';",
        vec![],
    )
    .await?;
    a.wait_visible(&tid("hold-expired")).await?;
    a.shot("02-a-expired").await?;
    let seen = b
        .wait_js_for(
            "B's seats B1-B3 to be held, then free again",
            Duration::from_secs(10),
            "const s = window.__seen;
             const ok = ['1', '2', '3'].every((n) => (s[n] || []).join() === 'available,reserved,available');
             return ok ? s : null;",
            vec![],
        )
        .await?;
    ensure!(seen["4"] == json!(["available"]), "B4 changed too: {seen}");
    b.shot("03-b-free-again").await?;

    // A's way back to the event shows them free as well.
    a.click(".back a").await?;
    a.wait_route(&format!("/events/{event}")).await?;
    for n in 1..=3 {
        a.wait_attr(&seat("B", n), "data-status", "available")
            .await?;
    }
    a.shot("04-a-free-again").await?;
    eprintln!("expiry: order page listed {listed} seats; B saw {seen}");
    Ok(())
}

// ------------------------------------------------------------ layout shift

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_page_does_not_shift_on_load() {
    let env = Env::start("event_page_does_not_shift_on_load", 900, &["visitor"]).await;
    let outcome = guarded(no_shift(&env)).await;
    env.finish(outcome).await;
}

async fn no_shift(env: &Env) -> TestResult {
    let visitor = env.browser("visitor");
    let organiser = env.api.sign_up("organiser@example.com").await?;
    // On a phone-sized window the summary follows the map: a map that took
    // its size only when its seats arrived would push it down.
    visitor.client().set_window_size(480, 900).await?;
    let rows: Vec<Value> = ('A'..='F')
        .map(|label| json!({ "label": label.to_string(), "seats": 12 }))
        .collect();
    let body = json!({
        "name": "Harbour festival",
        "startsAt": "2099-07-01T18:00:00Z",
        "sections": [
            { "name": "Stalls", "price": "30", "rows": rows },
            { "name": "Floor", "price": "15", "capacity": 50 },
        ],
    });
    let created = env
        .api
        .expect(
            reqwest::Method::POST,
            "/events",
            Some(&organiser.token),
            Some(body),
            201,
        )
        .await?;
    let event = created["id"].as_str().unwrap_or_default().to_string();
    open_map(visitor, &event).await?;
    // A fresh load of the page itself: the map is drawn at its size before
    // the live snapshot colours it.
    visitor.client().refresh().await?;
    open_map(visitor, &event).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = visitor.js_async(LAYOUT_SHIFTS, vec![]).await?;
    let total = m["total"].as_f64().unwrap_or(f64::MAX);
    visitor.shot("01-loaded").await?;
    let small = total < 0.01;
    ensure!(
        small,
        "layout shift {total} on load (moved: {})",
        m["moved"]
    );
    eprintln!("event page: {m}");
    Ok(())
}
