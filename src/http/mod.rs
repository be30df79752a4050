//! The HTTP edge: parses and validates requests into typed values,
//! authenticates, calls the core through its handles, and turns the outcome
//! into the contract's responses. Connections are accepted and served by
//! hyper directly (`server`); under `/api/` a request is routed by one
//! `match` on method and path ([`api`]), which keeps 404s, 413s and 415s
//! uniform; the live WebSocket is tokio-tungstenite (`live`). warp serves
//! only the rest, through the filters of [`routes`]: `/healthz`,
//! `/metrics`, the UI's files and the JSON 404; its reply types are the
//! response type throughout.

pub mod auth;
pub mod error;
pub mod events;
pub mod inputs;
pub mod limits;
pub mod live;
pub mod openapi;
pub mod orders;
pub mod passwords;
pub mod payments;
pub mod request;
pub mod server;
pub mod slots;
pub mod tickets;
pub mod ui;
pub mod users;

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use std::sync::Arc;

use warp::http::{Method, StatusCode};
use warp::Filter;

use crate::actors::{Accounts, Core, Events, Live, Orders, Tickets};
use crate::domain::Email;
use auth::Tokens;
use error::ApiError;
use limits::RateLimit;
use passwords::Passwords;
use request::ApiRequest;

/// What a handler returns.
pub type Reply = Result<warp::reply::Response, ApiError>;

/// Abuse limits on the auth routes.
pub struct Limits {
    /// Signins plus signups per client address per minute.
    pub auth_per_addr: RateLimit<std::net::IpAddr>,
    /// Failed signins per email per minute.
    pub failed_signins: RateLimit<Email>,
    /// Count the address a trusted proxy put in `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
}

/// Everything handlers need, shared by all requests.
pub struct State {
    /// Tickets: sell, read, edit, delete.
    pub tickets: Tickets,
    /// Orders: reserve, read, cancel, pay.
    pub orders: Orders,
    /// Events: create, read, list, seats, delete.
    pub events: Events,
    /// Accounts and sessions.
    pub accounts: Accounts,
    /// Live subscriptions.
    pub live: Live,
    /// The core itself, for what is no command: `/healthz`, `/metrics` and
    /// request ids. Handlers go through the handles above.
    pub(crate) core: Arc<Core>,
    /// Session tokens.
    pub tokens: Tokens,
    /// Password hashing.
    pub passwords: Passwords,
    /// Rate limits.
    pub limits: Limits,
    /// How the cross-origin check tells the server's own origin.
    pub origin: auth::OriginPolicy,
}

/// Small response builders.
pub mod reply {
    use warp::http::{HeaderValue, StatusCode};
    use warp::Reply as _;

    /// A JSON body with `status`.
    pub fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> warp::reply::Response {
        warp::reply::with_status(warp::reply::json(body), status).into_response()
    }

    /// A JSON body already encoded: the shared bytes, not a copy.
    pub fn json_bytes(status: StatusCode, body: bytes::Bytes) -> warp::reply::Response {
        let mut res = warp::reply::Response::new(body.into());
        *res.status_mut() = status;
        res.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        res
    }

    /// No body.
    pub fn empty(status: StatusCode) -> warp::reply::Response {
        warp::reply::with_status(warp::reply(), status).into_response()
    }

    /// A 308 redirect to `to`.
    pub fn redirect(to: &'static str) -> warp::reply::Response {
        let mut res = empty(StatusCode::PERMANENT_REDIRECT);
        res.headers_mut()
            .insert("location", HeaderValue::from_static(to));
        res
    }

    /// Adds `Set-Cookie`.
    pub fn with_cookie(mut res: warp::reply::Response, cookie: &str) -> warp::reply::Response {
        if let Ok(v) = HeaderValue::from_str(cookie) {
            res.headers_mut().insert("set-cookie", v);
        }
        res
    }
}

/// Routes one `/api/` request.
async fn dispatch(state: Arc<State>, mut req: ApiRequest) -> Reply {
    auth::check_origin(&req, state.origin)?;
    let segments = std::mem::take(&mut req.segments);
    let path: Vec<&str> = segments.iter().map(String::as_str).collect();
    let s = &*state;
    match (&req.method.clone(), path.as_slice()) {
        (&Method::POST, ["users", "signup"]) => users::signup(s, req).await,
        (&Method::POST, ["users", "signin"]) => users::signin(s, req).await,
        (&Method::POST, ["users", "signout"]) => users::signout(s, req).await,
        (&Method::GET, ["users", "currentuser"]) => users::current_user(s, req).await,
        (&Method::POST, ["tickets"]) => tickets::create(s, req).await,
        (&Method::GET, ["tickets"]) => tickets::list(s, req).await,
        (&Method::GET, ["tickets", id]) => tickets::show(s, id).await,
        (&Method::PUT, ["tickets", id]) => tickets::update(s, req, id).await,
        (&Method::DELETE, ["tickets", id]) => tickets::delete(s, req, id).await,
        (&Method::POST, ["events"]) => events::create(s, req).await,
        (&Method::GET, ["events"]) => events::list(s, req).await,
        (&Method::GET, ["events", id]) => events::show(s, id).await,
        (&Method::DELETE, ["events", id]) => events::delete(s, req, id).await,
        (&Method::GET, ["events", id, "seats"]) => events::seats(s, req, id).await,
        (&Method::POST, ["orders"]) => orders::create(s, req).await,
        (&Method::GET, ["orders"]) => orders::list(s, req).await,
        (&Method::GET, ["orders", id]) => orders::show(s, req, id).await,
        (&Method::DELETE, ["orders", id]) => orders::cancel(s, req, id).await,
        (&Method::POST, ["payments"]) => payments::create(s, req).await,
        (&Method::GET, ["openapi.json"]) => Ok(openapi::json()),
        (&Method::GET, ["docs"]) if !req.path.ends_with('/') => Ok(reply::redirect("/api/docs/")),
        (&Method::GET, ["docs", tail @ ..]) => openapi::swagger(&tail.join("/")),
        _ => Err(ApiError::NotFound),
    }
}

/// `GET /healthz`: 200 while storage takes writes, else 503.
#[utoipa::path(get, path = "/healthz", tag = "operations", operation_id = "health",
    responses(
        (status = 200, description = "Serving, and storage takes writes", body = serde_json::Value),
        (status = 503, description = "Storage cannot take writes (reads go on)", body = serde_json::Value)
    ))]
pub fn health(state: &State) -> warp::reply::Response {
    if state.core.storage().is_writable() {
        reply::json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
    } else {
        reply::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"status": "unavailable", "errors": [{"message": ApiError::Unavailable.to_string()}]}),
        )
    }
}

/// `GET /metrics`: Prometheus text.
#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub fn metrics_page(state: &State) -> warp::reply::Response {
    let body = crate::metrics::render(&state.core, state.tickets.running());
    let mut res = warp::reply::Reply::into_response(body);
    res.headers_mut().insert(
        "content-type",
        warp::http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// Whether `path` is under `/api` (answered by [`api`], not by warp's
/// routes).
pub fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// Answers a request under `/api`: read into an [`ApiRequest`] (its headers
/// moved, not cloned; its body within `deadline`), dispatched, and any error
/// or panic turned into the contract's error response.
pub async fn api(
    state: Arc<State>,
    req: hyper::Request<hyper::body::Incoming>,
    remote: std::net::SocketAddr,
    deadline: request::BodyDeadline,
) -> warp::reply::Response {
    let (parts, body) = req.into_parts();
    let handled = async move {
        let query = parts.uri.query().map(str::to_owned);
        let req = ApiRequest::read(
            parts.method,
            parts.uri.path(),
            query,
            parts.headers,
            remote,
            body,
            deadline,
        )
        .await?
        .with_target_authority(parts.uri.authority().cloned());
        dispatch(state, req).await
    };
    // A bug must cost one request a 500, never the connection.
    match AssertUnwindSafe(handled).catch_unwind().await {
        Ok(result) => result.unwrap_or_else(ApiError::into_response),
        Err(_) => ApiError::Internal("a request handler panicked".into()).into_response(),
    }
}

/// The routes outside `/api`: health, metrics, the UI, and 404 (the live
/// WebSocket upgrade and `/api` are taken before these, in [`server`]).
pub fn routes(
    state: Arc<State>,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone + Send + Sync + 'static
{
    let with_state = warp::any().map(move || state.clone());
    let health = warp::path("healthz")
        .and(warp::path::end())
        .and(warp::get().or(warp::head()).unify())
        .and(with_state.clone())
        .map(|s: Arc<State>| health(&s));
    let metrics = warp::path("metrics")
        .and(warp::path::end())
        .and(warp::get())
        .and(with_state.clone())
        .map(|s: Arc<State>| metrics_page(&s));
    let ui =
        warp::get()
            .and(warp::path::full())
            .and_then(|path: warp::path::FullPath| async move {
                ui::file(path.as_str().trim_start_matches('/')).ok_or_else(warp::reject::not_found)
            });
    health
        .or(metrics)
        .unify()
        .or(ui)
        .unify()
        .or(warp::any().map(|| ApiError::NotFound.into_response()))
        .unify()
}
