//! Buying one ticket in real browsers: a seller puts it on sale through the
//! form and a buyer reserves it, is declined, then pays, with the seller's
//! page following live; and a hold that runs out on screen, after which
//! paying is refused and the ticket is listed again.

use std::time::Duration;

use serde_json::{json, Value};

use crate::ensure;
use crate::harness::{guarded, tid, Env, TestResult};
use crate::{row, PASSWORD};

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
