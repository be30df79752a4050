//! The order page and the orders list in a real browser: a paid order's
//! receipt, "Expired" apart from "Cancelled", "Reserve again" after either,
//! and a page that failed while the server was away loading by itself once
//! it is back.

use std::time::Duration;

use serde_json::{json, Value};

use crate::ensure;
use crate::harness::{guarded, tid, Browser, Env, TestResult};

/// The password of the users made through the API (`Api::sign_up`).
const API_PASSWORD: &str = "correct horse";

/// The order page's status badge.
fn order_status() -> String {
    format!("{} {}", tid("order"), tid("order-status"))
}

/// The order page showing `order`.
fn order_card(order: &str) -> String {
    format!("{}[data-order-id=\"{order}\"]", tid("order"))
}

/// The row of `order` in My orders.
fn order_row(order: &str) -> String {
    format!("{}[data-order-id=\"{order}\"]", tid("order-row"))
}

/// The trimmed text of every element matching `css`.
async fn texts(browser: &Browser, css: &str) -> TestResult<Vec<String>> {
    let v = browser
        .js(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent.trim());",
            vec![json!(css)],
        )
        .await?;
    Ok(v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default())
}

/// Waits for the order page of `order` to say `status`.
async fn open_order(browser: &Browser, order: &str, status: &str) -> TestResult {
    browser.goto(&format!("/orders/{order}")).await?;
    browser.wait_visible(&order_card(order)).await?;
    browser
        .wait_attr(&order_status(), "data-status", status)
        .await
}

// ------------------------------------------------------------ receipt

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_order_shows_its_receipt() {
    let env = Env::start("paid_order_shows_its_receipt", 900, &["buyer"]).await;
    let outcome = guarded(receipt(&env)).await;
    env.finish(outcome).await;
}

async fn receipt(env: &Env) -> TestResult {
    let browser = env.browser("buyer");
    let seller = env.api.sign_up("seller@example.com").await?;
    let jazz = env
        .api
        .sell(&seller, "Jazz night", "42.5", Some("2099-05-01T20:00:00Z"))
        .await?;
    let choir = env
        .api
        .sell(&seller, "Choir", "12", Some("2099-06-01T18:00:00Z"))
        .await?;
    let buyer = env.api.sign_up("buyer@example.com").await?;
    browser.sign_in(&buyer.email, API_PASSWORD).await?;

    // Paid through the API: the page shows what the server recorded.
    let order = env.api.reserve(&buyer, &jazz).await?;
    let payment = env.api.pay(&buyer, &order).await?;
    let api_order = env.api.order(&buyer, &order).await?;
    open_order(browser, &order, "complete").await?;
    browser.wait_visible(&tid("receipt")).await?;
    let shown_payment = browser.wait_visible(&tid("receipt-payment-id")).await?;
    ensure!(
        shown_payment == payment,
        "receipt payment reference {shown_payment:?}, the API paid with {payment:?}"
    );
    let number = browser.wait_visible(&tid("receipt-order-id")).await?;
    ensure!(
        number == order,
        "receipt order number {number:?}, order {order}"
    );
    for (testid, field) in [("receipt-created", "createdAt"), ("receipt-paid", "paidAt")] {
        let at = browser
            .attr(&format!("{} time", tid(testid)), "datetime")
            .await?;
        ensure!(
            api_order[field] == json!(at),
            "receipt {testid} at {at:?}, the API says {field} {}",
            api_order[field]
        );
    }
    let lines = browser
        .js(
            "return [...document.querySelectorAll(arguments[0])].map((tr) => ({
               id: tr.dataset.ticketId,
               title: tr.querySelector('a').textContent.trim(),
               price: tr.querySelector('[data-testid=\"receipt-price\"]').textContent.trim(),
             }));",
            vec![json!(tid("receipt-line"))],
        )
        .await?;
    ensure!(
        lines == json!([{ "id": jazz, "title": "Jazz night", "price": "$42.50" }]),
        "receipt lines {lines}"
    );
    let total = browser.wait_visible(&tid("receipt-total")).await?;
    ensure!(total == "$42.50", "receipt total {total:?}");
    ensure!(
        !browser.is_visible(&tid("payment-form")).await?,
        "a paid order still shows the payment form"
    );
    browser.shot("01-receipt").await?;

    // Paid on the page: the receipt follows at once, with the server's
    // payment reference.
    let order = env.api.reserve(&buyer, &choir).await?;
    open_order(browser, &order, "created").await?;
    browser.click(&tid("pay-button")).await?;
    browser
        .wait_attr(&order_status(), "data-status", "complete")
        .await?;
    let shown_payment = browser.wait_visible(&tid("receipt-payment-id")).await?;
    let api_order = env.api.order(&buyer, &order).await?;
    ensure!(
        api_order["paymentId"] == json!(shown_payment),
        "receipt after paying shows {shown_payment:?}, the API says {}",
        api_order["paymentId"]
    );
    let total = browser.wait_visible(&tid("receipt-total")).await?;
    ensure!(total == "$12.00", "receipt total {total:?}");
    browser.shot("02-receipt-after-paying").await?;
    Ok(())
}

// ------------------------------------------------------------ expired, cancelled

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_cancelled_orders_say_which() {
    let env = Env::start("expired_and_cancelled_orders_say_which", 3, &["buyer"]).await;
    let outcome = guarded(expired_and_cancelled(&env)).await;
    env.finish(outcome).await;
}

async fn expired_and_cancelled(env: &Env) -> TestResult {
    let browser = env.browser("buyer");
    let seller = env.api.sign_up("seller@example.com").await?;
    let lapsing = env
        .api
        .sell(&seller, "Ballet", "30", Some("2099-05-01T20:00:00Z"))
        .await?;
    let dropped = env
        .api
        .sell(&seller, "Circus", "20", Some("2099-05-02T20:00:00Z"))
        .await?;
    let buyer = env.api.sign_up("buyer@example.com").await?;
    browser.sign_in(&buyer.email, API_PASSWORD).await?;

    let cancelled = env.api.reserve(&buyer, &dropped).await?;
    env.api.cancel(&buyer, &cancelled).await?;
    let expired = env.api.reserve(&buyer, &lapsing).await?;

    // The hold runs out on the page: "Expired", and no way to pay.
    open_order(browser, &expired, "cancelled").await?;
    let badge = browser.wait_visible(&order_status()).await?;
    ensure!(
        badge == "Expired",
        "an expired order's badge reads {badge:?}"
    );
    browser.wait_visible(&tid("hold-expired")).await?;
    ensure!(
        !browser.is_visible(&tid("payment-form")).await?,
        "an expired order shows the payment form"
    );
    browser.wait_visible(&tid("reserve-again")).await?;
    browser.shot("01-expired").await?;

    // Cancelled by its buyer: "Cancelled", no payment form either.
    open_order(browser, &cancelled, "cancelled").await?;
    let badge = browser.wait_visible(&order_status()).await?;
    ensure!(
        badge == "Cancelled",
        "a cancelled order's badge reads {badge:?}"
    );
    browser.wait_visible(&tid("order-cancelled")).await?;
    ensure!(
        !browser.is_visible(&tid("payment-form")).await?
            && !browser.is_visible(&tid("hold-expired")).await?,
        "a cancelled order shows the payment form or says it expired"
    );
    browser.wait_visible(&tid("reserve-again")).await?;
    browser.shot("02-cancelled").await?;

    // The list says the same.
    browser.click(&tid("nav-orders")).await?;
    browser.wait_visible(&order_row(&expired)).await?;
    let badges = [
        texts(
            browser,
            &format!("{} {}", order_row(&expired), tid("order-status")),
        )
        .await?,
        texts(
            browser,
            &format!("{} {}", order_row(&cancelled), tid("order-status")),
        )
        .await?,
    ];
    ensure!(
        badges == [vec!["Expired".to_string()], vec!["Cancelled".to_string()]],
        "the list's badges (expired, cancelled): {badges:?}"
    );
    browser.shot("03-list").await?;
    Ok(())
}

// ------------------------------------------------------------ reserve again

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_again_after_cancelling() {
    let env = Env::start("reserve_again_after_cancelling", 900, &["buyer"]).await;
    let outcome = guarded(reserve_again(&env)).await;
    env.finish(outcome).await;
}

async fn reserve_again(env: &Env) -> TestResult {
    let browser = env.browser("buyer");
    let seller = env.api.sign_up("seller@example.com").await?;
    let free = env
        .api
        .sell(&seller, "Opera", "55", Some("2099-05-01T20:00:00Z"))
        .await?;
    let contested = env
        .api
        .sell(&seller, "Derby", "80", Some("2099-05-02T20:00:00Z"))
        .await?;
    let buyer = env.api.sign_up("buyer@example.com").await?;
    let rival = env.api.sign_up("rival@example.com").await?;
    browser.sign_in(&buyer.email, API_PASSWORD).await?;

    // Cancelled on the page: the payment form goes, "Reserve again" comes.
    let first = env.api.reserve(&buyer, &free).await?;
    open_order(browser, &first, "created").await?;
    browser.wait_visible(&tid("payment-form")).await?;
    browser.click(&tid("cancel-order-button")).await?;
    browser
        .wait_attr(&order_status(), "data-status", "cancelled")
        .await?;
    ensure!(
        !browser.is_visible(&tid("payment-form")).await?,
        "the payment form stays after cancelling"
    );
    browser.click(&tid("reserve-again")).await?;
    let route = browser
        .wait_js(
            "a new order's page",
            "const r = location.hash.replace(/^#/, '');
             return r.startsWith('/orders/') && r !== arguments[0] ? r : null;",
            vec![json!(format!("/orders/{first}"))],
        )
        .await?;
    let second = route
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("/orders/")
        .to_string();
    browser
        .wait_attr(&order_card(&second), "data-status", "created")
        .await?;
    browser.wait_visible(&tid("payment-form")).await?;
    let api_order = env.api.order(&buyer, &second).await?;
    ensure!(
        api_order["status"] == "created" && api_order["ticket"]["id"] == json!(free),
        "the new order: {api_order}"
    );
    browser.shot("01-reserved-again").await?;

    // Taken meanwhile: a clear message, and no new order.
    let lost = env.api.reserve(&buyer, &contested).await?;
    env.api.cancel(&buyer, &lost).await?;
    env.api.reserve(&rival, &contested).await?;
    open_order(browser, &lost, "cancelled").await?;
    browser.click(&tid("reserve-again")).await?;
    let message = browser.wait_visible(&tid("reserve-again-error")).await?;
    ensure!(
        message.contains("taken"),
        "reserving a taken ticket again says {message:?}"
    );
    let route = browser.wait_route("/orders/").await?;
    ensure!(route == format!("/orders/{lost}"), "moved to {route}");
    browser.shot("02-taken").await?;
    Ok(())
}

// ------------------------------------------------------------ server away

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_loads_by_itself_when_the_server_is_back() {
    let env = Env::start_child(
        "page_loads_by_itself_when_the_server_is_back",
        900,
        &["buyer"],
    )
    .await;
    let outcome = guarded(server_back(&env)).await;
    env.finish(outcome).await;
}

async fn server_back(env: &Env) -> TestResult {
    let browser = env.browser("buyer");
    let seller = env.api.sign_up("seller@example.com").await?;
    let ticket = env
        .api
        .sell(&seller, "Late show", "15", Some("2099-05-01T22:00:00Z"))
        .await?;
    let buyer = env.api.sign_up("buyer@example.com").await?;
    let order = env.api.reserve(&buyer, &ticket).await?;
    browser.sign_in(&buyer.email, API_PASSWORD).await?;
    browser.goto("/").await?;
    browser.wait_live().await?;

    env.stop_server().await?;
    browser
        .wait_attr(&tid("live-indicator"), "data-state", "reconnecting")
        .await?;
    // Go to the order within the open page: it cannot load.
    browser
        .js(
            "location.hash = arguments[0];",
            vec![json!(format!("#/orders/{order}"))],
        )
        .await?;
    browser.wait_visible(&tid("page-error")).await?;
    browser.wait_visible(&tid("page-error-auto")).await?;
    browser.shot("01-server-away").await?;

    // Back on the same port and data: the page loads without a click.
    env.start_server()?;
    browser
        .wait_js_for(
            "the order page to load by itself",
            Duration::from_secs(30),
            "const el = document.querySelector(arguments[0]);
             return !!el && el.dataset.status === 'created';",
            vec![json!(order_card(&order))],
        )
        .await?;
    browser.wait_live().await?;
    ensure!(
        !browser.is_visible(&tid("page-error")).await?,
        "the error is still shown"
    );
    browser.shot("02-loaded").await?;
    Ok(())
}
