//! The OpenAPI 3.1 document (`GET /api/openapi.json`), generated from the
//! handlers' `#[utoipa::path]` annotations and the typed views they
//! serialise, and Swagger UI at `/api/docs/`, served from the binary.

use std::sync::{Arc, OnceLock};

use serde::Serialize;
use utoipa::{IntoResponses, OpenApi, ToSchema};
use warp::http::{HeaderValue, StatusCode};
use warp::Reply as _;

use super::error::ApiError;
use super::{orders, payments, tickets, users};
use crate::views::{
    OrderStatusView, OrderTicketView, OrderView, PaymentView, TicketStatusView, TicketView,
};

/// `{email, password}` for signup and signin.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Credentials {
    /// An email address (trimmed, compared case-insensitively).
    email: String,
    /// 8 to 72 bytes.
    password: String,
}

/// `{title, price, date?}` to sell or edit a ticket.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TicketInput {
    /// 1 to 200 characters after trimming.
    title: String,
    /// A number or numeric string, above 0, at most 1,000,000, two decimals.
    #[schema(value_type = f64, example = 12.5)]
    price: serde_json::Value,
    /// RFC 3339, or null.
    #[schema(format = DateTime)]
    date: Option<String>,
}

/// `{ticketId}` to reserve.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OrderInput {
    /// The ticket to hold.
    #[schema(rename = "ticketId")]
    ticket_id: String,
}

/// `{orderId, token}` to pay.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PaymentInput {
    /// The order to pay.
    #[schema(rename = "orderId")]
    order_id: String,
    /// A card token: `tok_visa` succeeds, `tok_chargeDeclined` is declined.
    token: String,
}

/// `{id, email, token}` after signup or signin.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// The account's id.
    pub id: String,
    /// Its email.
    pub email: String,
    /// The session token (also set as the `session` cookie).
    pub token: String,
}

/// `{id, email}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// The account's id.
    pub id: String,
    /// Its email.
    pub email: String,
}

/// `{"currentUser": {id, email} | null}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentUser {
    /// The signed-in user, or null.
    #[serde(rename = "currentUser")]
    #[schema(required = true)]
    pub current_user: Option<UserView>,
}

/// One error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorItem {
    /// What went wrong.
    pub message: String,
    /// The input field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `{"errors": [{message, field?}]}`: every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// One entry per problem (per invalid field for validation errors).
    pub errors: Vec<ErrorItem>,
}

/// The refusals every state-changing route can answer, listed once.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum WriteRefusals {
    /// Cookie-authenticated request from another origin
    #[response(status = 403)]
    CrossOrigin(ErrorBody),
    /// Body did not arrive in time (connection closed)
    #[response(status = 408)]
    TooSlow(ErrorBody),
    /// Body over 64 KiB
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// Body is not application/json
    #[response(status = 415)]
    NotJson(ErrorBody),
    /// Storage cannot take writes (signup and signin: also no CPU for a password hash now, with Retry-After)
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The refusals of a state-changing route that takes no body (no 413 or
/// 415 to answer), listed once.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum BodilessWriteRefusals {
    /// Cookie-authenticated request from another origin
    #[response(status = 403)]
    CrossOrigin(ErrorBody),
    /// Storage cannot take writes
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// The document's root.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "ticketing",
        description = "Sign up, sell tickets, hold a seat for a limited time, pay, and watch seats live. Authenticate with the `session` cookie or `Authorization: Bearer <token>`."
    ),
    paths(
        users::signup,
        users::signin,
        users::signout,
        users::current_user,
        tickets::create,
        tickets::list,
        tickets::show,
        tickets::update,
        tickets::delete,
        orders::create,
        orders::list,
        orders::show,
        orders::cancel,
        payments::create,
        super::live::accept,
        super::health,
        super::metrics_page,
        json,
        swagger,
    ),
    components(schemas(
        TicketView,
        TicketStatusView,
        OrderView,
        OrderTicketView,
        OrderStatusView,
        PaymentView,
        Session,
        UserView,
        CurrentUser,
        ErrorBody,
        ErrorItem,
        Credentials,
        TicketInput,
        OrderInput,
        PaymentInput
    ))
)]
pub struct ApiDoc;

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .expect("the OpenAPI document serialises")
    })
}

/// `GET /api/openapi.json`.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "This document", body = serde_json::Value)))]
pub fn json() -> warp::reply::Response {
    let mut res = warp::reply::with_status(document(), StatusCode::OK).into_response();
    res.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    res
}

/// `GET /api/docs/<tail>`: Swagger UI's files, embedded.
#[utoipa::path(get, path = "/api/docs/{file}", tag = "operations",
    params(("file" = String, Path, description = "A Swagger UI file; empty for its page")),
    responses((status = 200, description = "Swagger UI", content_type = "text/html", body = String), (status = 404, body = ErrorBody)))]
pub fn swagger(tail: &str) -> Result<warp::reply::Response, ApiError> {
    static CONFIG: OnceLock<Arc<utoipa_swagger_ui::Config<'static>>> = OnceLock::new();
    let config = CONFIG
        .get_or_init(|| Arc::new(utoipa_swagger_ui::Config::from("/api/openapi.json")))
        .clone();
    let file = utoipa_swagger_ui::serve(tail, config)
        .map_err(|e| ApiError::Internal(format!("swagger ui: {e}")))?
        .ok_or(ApiError::NotFound)?;
    let mut res = warp::reply::with_status(file.bytes.into_owned(), StatusCode::OK).into_response();
    if let Ok(ct) = HeaderValue::from_str(&file.content_type) {
        res.headers_mut().insert("content-type", ct);
    }
    if file.gzpipped {
        res.headers_mut()
            .insert("content-encoding", HeaderValue::from_static("gzip"));
    }
    Ok(res)
}
