//! `/api/payments`: pay for a held order with a card token.

#[allow(unused_imports)]
use super::openapi::{ErrorBody, PaymentInput, WriteRefusals};
#[allow(unused_imports)]
use crate::views::PaymentView;
use warp::http::StatusCode;

use super::orders::order_id;
use super::request::{ApiRequest, Fields};
use super::{reply, Reply, State};

/// POST `/api/payments` `{orderId, token}` → 201 `{id, orderId}`.
#[utoipa::path(post, path = "/api/payments", tag = "payments", request_body = PaymentInput,
    responses(
        (status = 201, description = "Paid; the order is complete and the ticket sold", body = PaymentView),
        (status = 400, description = "Invalid input or a rule of the domain", body = ErrorBody),
        (status = 401, description = "Not signed in, or not allowed to touch it", body = ErrorBody),
        (status = 404, description = "No such id", body = ErrorBody),
        (status = 402, description = "Card declined", body = ErrorBody),
        WriteRefusals
    ))]
pub async fn create(state: &State, req: ApiRequest) -> Reply {
    let caller = state.tokens.require(&req)?;
    let body = req.json()?;
    let mut f = Fields::new(&body);
    let order = f
        .string("orderId", "OrderId must be provided")
        .map(str::to_owned);
    let token = f
        .string("token", "Token must be provided")
        .map(str::to_owned);
    f.finish()?;
    let order = order_id(order.expect("checked").trim())?;
    let payment = state
        .orders
        .pay(order, caller.user_id, token.expect("checked"))
        .await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &crate::views::payment(&payment),
    ))
}
