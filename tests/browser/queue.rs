//! The waiting room in a real browser: three buyers join the line of a
//! queued event before its on-sale, the draw admits one (active buyers 1),
//! whose seat map opens by itself; it buys, and the next is admitted live
//! while the third waits; every seat held, then sold, is shown plainly. A
//! pass left unused runs out and closes the map. And the waiting room's page
//! does not shift as it loads.

use std::time::Duration;

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::ensure;
use crate::harness::{guarded, tid, ApiUser, Browser, Env, TestResult, LAYOUT_SHIFTS};

/// The password of the users made through the API (`Api::sign_up`).
const API_PASSWORD: &str = "correct horse";

/// How long after its creation the test event goes on sale: time for three
/// browsers to open its page and join the line.
const ON_SALE_IN: Duration = Duration::from_secs(15);

/// How long a pass lasts unused in these tests.
const PASS_SECS: u64 = 120;

/// `now + after` in RFC 3339, whole seconds.
fn rfc3339_in(after: Duration) -> TestResult<String> {
    let at = (OffsetDateTime::now_utc() + after).replace_nanosecond(0)?;
    Ok(at.format(&Rfc3339)?)
}

/// Creates a queued event with one row of four seats at 30, on sale at
/// `on_sale_at`, and returns its id.
async fn create_queued_event(
    env: &Env,
    organiser: &ApiUser,
    on_sale_at: &str,
) -> TestResult<String> {
    let body = json!({
        "name": "Midnight premiere",
        "venue": "Grand cinema",
        "startsAt": "2099-06-01T23:00:00Z",
        "onSaleAt": on_sale_at,
        "queue": true,
        "sections": [{ "name": "Stalls", "price": "30", "rows": [{ "label": "A", "seats": 4 }] }],
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

/// What the waiting room shows: status, position and ahead (its data
/// attributes), its texts, the progress bar, whether the map is visible,
/// whether the page is still the one loaded before the marker was set, and
/// the panel's height.
const ROOM: &str = "const room = document.querySelector('[data-testid=\"queue-room\"]');
    if (!room) return null;
    const text = (id) => document.querySelector(`[data-testid=\"${id}\"]`)?.textContent.trim() ?? null;
    const shown = (id) => {
      const el = document.querySelector(`[data-testid=\"${id}\"]`);
      return !!el && !el.closest('[hidden]') && el.getClientRects().length > 0;
    };
    return {
      status: room.dataset.status, position: room.dataset.position ?? '', ahead: room.dataset.ahead ?? '',
      title: text('queue-title'), message: text('queue-message'),
      place: text('queue-position'), aheadText: text('queue-ahead'), eta: text('queue-eta'),
      progress: document.querySelector('[data-testid=\"queue-progress\"]')?.value ?? null,
      held: shown('queue-held'), join: shown('queue-join'), map: shown('seat-map'),
      countdown: shown('queue-pass-countdown') ? text('queue-pass-countdown') : null,
      sameDocument: window.__sameDocument === true,
      height: room.getBoundingClientRect().height,
    };";

/// Waits until the waiting room of `browser` has `status` and returns it.
async fn wait_status(browser: &Browser, status: &str, limit: Duration) -> TestResult<Value> {
    let script = format!(
        "const r = (() => {{ {ROOM} }})(); return r && r.status === arguments[0] ? r : null;"
    );
    browser
        .wait_js_for(
            &format!("the waiting room to say {status}"),
            limit,
            &script,
            vec![json!(status)],
        )
        .await
}

/// Waits until the seat map of `browser` is drawn from its live snapshot.
async fn wait_map(browser: &Browser) -> TestResult {
    browser
        .wait_attr(&tid("seat-map"), "data-ready", "true")
        .await?;
    browser
        .wait_attr(&tid("seat-map"), "data-live", "live")
        .await
}

/// Pays for the order shown on `browser`'s page with the default card.
async fn pay(browser: &Browser) -> TestResult {
    browser.click(&tid("pay-button")).await?;
    browser.wait_visible(&tid("payment-success")).await?;
    Ok(())
}

/// The API's view of `user`'s entry.
async fn entry(env: &Env, user: &ApiUser, event: &str) -> TestResult<Value> {
    env.api
        .expect(
            reqwest::Method::GET,
            &format!("/events/{event}/queue"),
            Some(&user.token),
            None,
            200,
        )
        .await
}

// ------------------------------------------------------------ three in line

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_buyers_wait_and_are_admitted_in_turn() {
    let env = Env::start_with(
        "three_buyers_wait_and_are_admitted_in_turn",
        900,
        &["a", "b", "c"],
        |s| {
            s.queue.active_buyers = 1;
            s.queue.pass_secs = PASS_SECS;
        },
    )
    .await;
    let outcome = guarded(three_in_line(&env)).await;
    env.finish(outcome).await;
}

async fn three_in_line(env: &Env) -> TestResult {
    let organiser = env.api.sign_up("organiser@example.com").await?;
    let mut buyers = Vec::new();
    for who in ["a", "b", "c"] {
        let user = env.api.sign_up(&format!("{who}@example.com")).await?;
        env.browser(who).sign_in(&user.email, API_PASSWORD).await?;
        buyers.push((env.browser(who), user));
    }
    let on_sale_at = rfc3339_in(ON_SALE_IN)?;
    let event = create_queued_event(env, &organiser, &on_sale_at).await?;

    // The panel's height in every state but `admitted` (which shrinks it to
    // the pass): the same, whatever it says, so nothing around it moves.
    let mut heights = Vec::new();

    // Each opens the event: the waiting room instead of the map; joins.
    for (browser, _) in &buyers {
        browser.goto(&format!("/events/{event}")).await?;
        let before = wait_status(browser, "out", Duration::from_secs(10)).await?;
        ensure!(
            before["join"] == true && before["map"] == false,
            "{}: before joining {before}",
            browser.who
        );
        browser.click(&tid("queue-join")).await?;
        let joined = wait_status(browser, "waiting", Duration::from_secs(10)).await?;
        heights.push(("out", before["height"].clone()));
        heights.push(("before the draw", joined["height"].clone()));
        ensure!(
            joined["position"] == "" && joined["join"] == false && joined["map"] == false,
            "{}: joined {joined}",
            browser.who
        );
        let message = joined["message"].as_str().unwrap_or_default();
        ensure!(
            message.contains("Places are drawn at"),
            "{}: before the draw the room says {message:?} (on sale at {on_sale_at}: \
             did joining take longer than {ON_SALE_IN:?}?)",
            browser.who
        );
    }
    buyers[0].0.shot("01-waiting-for-the-draw").await?;

    // A reload finds the same entry: still in line, not offered to join.
    let c = buyers[2].0;
    c.client().refresh().await?;
    let again = wait_status(c, "waiting", Duration::from_secs(10)).await?;
    ensure!(again["join"] == false, "c after a reload: {again}");
    for (browser, _) in &buyers {
        browser.js("window.__sameDocument = true;", vec![]).await?;
    }

    // The draw: one is admitted and its map opens by itself; the others
    // wait with 0 and 1 ahead.
    buyers[0]
        .0
        .wait_js_for(
            "the draw to give a place",
            ON_SALE_IN + Duration::from_secs(10),
            "return document.querySelector('[data-testid=\"queue-room\"]')?.dataset.position || null;",
            vec![],
        )
        .await?;
    // Admission follows the draw: poll the three pages until they agree.
    let want = vec![
        (json!("admitted"), json!("1"), json!("0"), json!(true)),
        (json!("waiting"), json!("2"), json!("0"), json!(false)),
        (json!("waiting"), json!("3"), json!("1"), json!(false)),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let states = loop {
        let mut states = Vec::new();
        for (browser, user) in &buyers {
            states.push((*browser, user, browser.js(ROOM, vec![]).await?));
        }
        states.sort_by_key(|(_, _, s)| s["position"].as_str().unwrap_or("").to_string());
        let seen: Vec<_> = states
            .iter()
            .map(|(_, _, s)| {
                let f = |k: &str| s[k].clone();
                (f("status"), f("position"), f("ahead"), f("map"))
            })
            .collect();
        if seen == want {
            break states;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "after the draw (status, position, ahead, map): {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let [(first, first_user, admitted), (second, second_user, next), (third, third_user, last)] =
        <[_; 3]>::try_from(states).map_err(|_| "three entries")?;
    heights.push(("ahead 0", next["height"].clone()));
    heights.push(("ahead 1", last["height"].clone()));
    wait_map(first).await?;
    let countdown = admitted["countdown"].as_str().unwrap_or_default();
    ensure!(
        countdown.starts_with("01:") || countdown == "02:00",
        "{}: the pass's countdown says {countdown:?} ({PASS_SECS} s pass)",
        first.who
    );
    ensure!(admitted["sameDocument"] == true, "{}: reloaded", first.who);
    ensure!(
        next["place"] == "#2" && next["aheadText"] == "0" && next["progress"] == 100,
        "{}: {next}",
        second.who
    );
    ensure!(
        last["place"] == "#3" && last["aheadText"] == "1" && last["progress"] == 50,
        "{}: {last}",
        third.who
    );
    ensure!(
        !next["map"].as_bool().unwrap_or(true) && !last["map"].as_bool().unwrap_or(true),
        "a waiting buyer sees the map: {next} / {last}"
    );
    first.shot("02-first-admitted").await?;
    third.shot("03-third-waiting").await?;

    // The first buys seat A1 (its order carries the pass), and pays.
    let a1 = format!("{}[data-row=\"A\"][data-number=\"1\"]", tid("seat"));
    first.click(&a1).await?;
    first.wait_attr(&a1, "data-selected", "true").await?;
    first.click(&tid("reserve-seats")).await?;
    first.wait_route("/orders/").await?;
    pay(first).await?;
    let done = entry(env, first_user, &event).await?;
    ensure!(done["status"] == "done", "the first's entry: {done}");

    // The second is admitted live: its page opens the map without a reload;
    // the third is next.
    let now_in = wait_status(second, "admitted", Duration::from_secs(10)).await?;
    wait_map(second).await?;
    ensure!(now_in["sameDocument"] == true, "{}: reloaded", second.who);
    second.wait_attr(&a1, "data-status", "sold").await?;
    let last = third
        .wait_js(
            "the third to be next",
            &format!(
                "const r = (() => {{ {ROOM} }})();
                 return r && r.status === 'waiting' && r.ahead === '0' ? r : null;"
            ),
            vec![],
        )
        .await?;
    ensure!(
        last["place"] == "#3"
            && last["aheadText"] == "0"
            && last["progress"] == 100
            && !last["map"].as_bool().unwrap_or(true),
        "{}: {last}",
        third.who
    );
    let eta = last["eta"].as_str().unwrap_or_default();
    ensure!(
        eta == "estimating…" || eta.starts_with("about ") || eta == "any moment now",
        "the ETA says {eta:?}"
    );
    second.shot("04-second-admitted-live").await?;

    // The second holds the three seats left: the third is told the line
    // waits for a seat to come back; then it pays, and the line is sold out.
    second.select(&tid("best-quantity"), "3").await?;
    second.click(&tid("best-submit")).await?;
    second.wait_route("/orders/").await?;
    let waits = third
        .wait_js_for(
            "the third to be told every seat is held",
            Duration::from_secs(30),
            &format!(
                "const r = (() => {{ {ROOM} }})();
                 return r && r.status === 'waiting' && r.held ? r : null;"
            ),
            vec![],
        )
        .await?;
    third.shot("05-every-seat-held").await?;
    pay(second).await?;
    let over = wait_status(third, "soldout", Duration::from_secs(10)).await?;
    ensure!(
        over["title"] == "Sold out"
            && !over["held"].as_bool().unwrap_or(true)
            && !over["map"].as_bool().unwrap_or(true),
        "{}: {over}",
        third.who
    );
    third.shot("06-sold-out").await?;
    heights.push(("every seat held", waits["height"].clone()));
    heights.push(("sold out", over["height"].clone()));
    ensure!(
        heights.iter().all(|(_, h)| *h == heights[0].1),
        "the waiting room's height changes with its state: {heights:?}"
    );
    let sold_out = entry(env, third_user, &event).await?;
    ensure!(
        sold_out["status"] == "soldout",
        "the third's entry: {sold_out}"
    );
    let second_done = entry(env, second_user, &event).await?;
    ensure!(
        second_done["status"] == "done",
        "the second's entry: {second_done}"
    );
    eprintln!("waiting room: admitted {admitted}; held {waits}; sold out {over}");
    Ok(())
}

// ------------------------------------------------------------ layout shift

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_room_does_not_shift_on_load() {
    let env = Env::start("waiting_room_does_not_shift_on_load", 900, &["visitor"]).await;
    let outcome = guarded(no_shift(&env)).await;
    env.finish(outcome).await;
}

async fn no_shift(env: &Env) -> TestResult {
    let visitor = env.browser("visitor");
    let organiser = env.api.sign_up("organiser@example.com").await?;
    let event = create_queued_event(env, &organiser, "2099-05-01T18:00:00Z").await?;
    let user = env.api.sign_up("visitor@example.com").await?;
    visitor.sign_in(&user.email, API_PASSWORD).await?;
    visitor.goto(&format!("/events/{event}")).await?;
    wait_status(visitor, "out", Duration::from_secs(10)).await?;
    visitor.click(&tid("queue-join")).await?;
    wait_status(visitor, "waiting", Duration::from_secs(10)).await?;
    // A fresh load: the panel has its size before the entry arrives.
    visitor.client().refresh().await?;
    let shown = wait_status(visitor, "waiting", Duration::from_secs(10)).await?;
    visitor
        .wait_js(
            "the line's feed to be live",
            "return document.querySelector('[data-testid=\"map-live\"]')?.textContent === 'Live';",
            vec![],
        )
        .await?;
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
    eprintln!("waiting room page: {m}; room {shown}");
    Ok(())
}

// ------------------------------------------------------------ pass runs out

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_pass_runs_out_and_the_map_closes() {
    let env = Env::start_with(
        "unused_pass_runs_out_and_the_map_closes",
        900,
        &["buyer"],
        |s| s.queue.pass_secs = 3,
    )
    .await;
    let outcome = guarded(pass_runs_out(&env)).await;
    env.finish(outcome).await;
}

async fn pass_runs_out(env: &Env) -> TestResult {
    let browser = env.browser("buyer");
    let organiser = env.api.sign_up("organiser@example.com").await?;
    let user = env.api.sign_up("buyer@example.com").await?;
    browser.sign_in(&user.email, API_PASSWORD).await?;
    let event = create_queued_event(env, &organiser, &rfc3339_in(Duration::from_secs(4))?).await?;
    browser.goto(&format!("/events/{event}")).await?;
    wait_status(browser, "out", Duration::from_secs(10)).await?;
    browser.click(&tid("queue-join")).await?;

    // Admitted after the draw: the map opens and the 3 s pass counts down.
    let admitted = wait_status(browser, "admitted", Duration::from_secs(15)).await?;
    wait_map(browser).await?;
    let countdown = admitted["countdown"].as_str().unwrap_or_default();
    ensure!(
        ["00:03", "00:02", "00:01"].contains(&countdown),
        "the pass's countdown says {countdown:?}"
    );
    browser.shot("01-admitted").await?;

    // Unused, it runs out: the page says so plainly and the map closes.
    let expired = wait_status(browser, "expired", Duration::from_secs(10)).await?;
    ensure!(
        expired["title"] == "Your turn has passed"
            && expired["map"] == false
            && expired["join"] == false,
        "after the pass ran out: {expired}"
    );
    browser.shot("02-expired").await?;
    let api_entry = entry(env, &user, &event).await?;
    ensure!(api_entry["status"] == "expired", "the entry: {api_entry}");
    Ok(())
}
