//! `/api/payments`: pay for a held order with a card token.

use warp::http::StatusCode;

use super::inputs::PaymentBody;
use super::openapi::WriteRefusals;
use super::request::ApiRequest;
use super::{reply, Reply, State};
use crate::views::{ErrorBody, PaymentView};

/// POST `/api/payments` `{orderId, token}` → 201 `{id, orderId}`.
#[utoipa::path(post, path = "/api/payments", tag = "payments", operation_id = "createPayment",
    security(("bearerAuth" = []), ("cookieAuth" = [])),
    request_body = PaymentBody,
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
    let (order, token) = req.json::<PaymentBody>()?.validate()?;
    let payment = state.orders.pay(order, caller.user_id, token).await?;
    Ok(reply::json(
        StatusCode::CREATED,
        &crate::views::payment(&payment),
    ))
}
