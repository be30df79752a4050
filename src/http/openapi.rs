//! The OpenAPI 3.1 document (`GET /api/openapi.json`), generated from the
//! handlers' `#[utoipa::path]` annotations, the typed inputs they parse
//! (`inputs`) and the typed views they serialise (`crate::views`), and
//! Swagger UI at `/api/docs/`, served from the binary.

use std::sync::{Arc, OnceLock};

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};
use warp::http::{HeaderValue, StatusCode};
use warp::Reply as _;

use super::error::ApiError;
use super::inputs::{
    EventBody, OrderBody, PaymentBody, RowBody, SectionBody, SigninBody, SignupBody, TicketBody,
};
use super::{events, orders, payments, tickets, users};
use crate::views::{
    CurrentUser, ErrorBody, ErrorItem, EventView, Id, OrderStatusView, OrderTicketView, OrderView,
    PaymentView, RowView, SeatCountsView, SeatView, SectionView, Session, TicketStatusView,
    TicketView, UserView,
};

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
        description = "Sign up, sell tickets, put whole events on sale with their seat maps, hold seats for a limited time, pay, and watch seats live. Authenticate with the `session` cookie or `Authorization: Bearer <token>`."
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
        events::create,
        events::list,
        events::show,
        events::seats,
        events::delete,
        super::live::tickets,
        super::live::event,
        super::health,
        super::metrics_page,
        json,
        swagger,
    ),
    components(schemas(
        Id,
        TicketView,
        TicketStatusView,
        SeatView,
        OrderView,
        OrderTicketView,
        OrderStatusView,
        PaymentView,
        Session,
        UserView,
        CurrentUser,
        ErrorBody,
        ErrorItem,
        SignupBody,
        SigninBody,
        TicketBody,
        OrderBody,
        PaymentBody,
        EventView,
        SectionView,
        RowView,
        SeatCountsView,
        EventBody,
        SectionBody,
        RowBody
    )),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// Adds the two ways to present a session, which the routes' `security`
/// refer to: `bearerAuth` and `cookieAuth`.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearerAuth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "`Authorization: Bearer <token>`, the `token` of signup or signin (an HS256 JWT).",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookieAuth",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::auth::COOKIE,
                "The `session` cookie set by signup and signin. A POST, PUT or DELETE that carries it with an `Origin` other than the server's own is refused (403).",
            ))),
        );
    }
}

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
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations", operation_id = "openapiDocument",
    responses((status = 200, description = "This document", body = serde_json::Value)))]
pub fn json() -> warp::reply::Response {
    let mut res = warp::reply::with_status(document(), StatusCode::OK).into_response();
    res.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    res
}

/// `GET /api/docs/<tail>`: Swagger UI's files, embedded.
#[utoipa::path(get, path = "/api/docs/{file}", tag = "operations", operation_id = "swaggerUi",
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
