//! `/api/payments`: pay for a held order with a card token.

use warp::http::StatusCode;

use super::orders::order_id;
use super::request::{ApiRequest, Fields};
use super::{reply, Reply, State};

/// POST `/api/payments` `{orderId, token}` → 201 `{id, orderId}`.
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
