//! The sell form in a real browser: a half-typed date and a date in the
//! past are refused with an error on the date and no ticket made, tickets
//! whose date has passed are shown as past and cannot be reserved, and a
//! field's error goes once the field is fixed.

use std::time::Duration;

use serde_json::json;

use crate::ensure;
use crate::harness::{self, guarded, tid, Env, TestResult};
use crate::{row, PASSWORD};

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
