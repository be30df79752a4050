//! The HTTP layer's one error enum, and the only place errors become status
//! codes and the contract's `{"errors": [{"message", "field"}]}` body.

use std::borrow::Cow;

use crate::views::{ErrorBody, ErrorItem};
use warp::http::StatusCode;
use warp::Reply;

use super::request::BodyLimit;
use crate::actors::CommandError;
use crate::domain::DomainError;
use crate::payments::PaymentError;
use crate::storage::StorageError;

/// Why a request failed, as the client will see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with one entry per invalid field: the field's name, or its path
    /// inside the body (`sections[2].price`), and the message.
    #[error("invalid input")]
    Invalid(Vec<(Cow<'static, str>, String)>),
    /// 400: a rule of the domain, or malformed input without a field.
    #[error("{0}")]
    BadRequest(String),
    /// 401: not signed in, or not allowed to touch that resource.
    #[error("Not authorized")]
    Unauthorized,
    /// 402: the card was declined.
    #[error("{0}")]
    PaymentDeclined(String),
    /// 403: a cookie-authenticated request from another origin.
    #[error("Cross-origin request refused")]
    CrossOrigin,
    /// 403: a rule that waits for its turn (a queued event's order without
    /// an admission pass).
    #[error("{0}")]
    Forbidden(String),
    /// 404: unknown id or route.
    #[error("Not found")]
    NotFound,
    /// 408: the body did not arrive within its deadline (a client trickling
    /// it in to hold the connection, or one too slow to serve).
    #[error("Request body did not arrive in time")]
    RequestTimeout,
    /// 413: body over the route's limit.
    #[error("Request body is larger than {}", .0.label)]
    PayloadTooLarge(BodyLimit),
    /// 415: a body that is not JSON.
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// 429 with `Retry-After` seconds.
    #[error("Too many requests; try again later")]
    TooManyRequests(u64),
    /// 503: storage cannot take writes now.
    #[error("Storage cannot take writes right now; try again later")]
    Unavailable,
    /// 503 with `Retry-After`: no CPU to spare for a password hash now.
    #[error("Too busy to check passwords right now; try again later")]
    Busy,
    /// 503: the payment gateway cannot be reached.
    #[error("Payment gateway unavailable; try again later")]
    GatewayUnavailable,
    /// 500: a bug or an unexpected failure; details are logged, not sent.
    #[error("Something went wrong")]
    Internal(String),
}

impl ApiError {
    /// A 400 for one field.
    pub fn field(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![(field.into(), message.into())])
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::PaymentDeclined(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::CrossOrigin | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable | ApiError::Busy | ApiError::GatewayUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response: status, `{errors: [...]}`, and `Retry-After` for 429
    /// and for a busy 503.
    pub fn into_response(self) -> warp::reply::Response {
        let item = |message: String, field: Option<&str>| ErrorItem {
            message,
            field: field.map(str::to_owned),
        };
        let errors = match &self {
            ApiError::Invalid(fields) => fields
                .iter()
                .map(|(f, m)| item(m.clone(), Some(f)))
                .collect(),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                vec![item(self.to_string(), None)]
            }
            other => vec![item(other.to_string(), None)],
        };
        let status = self.status();
        let mut res = warp::reply::with_status(warp::reply::json(&ErrorBody { errors }), status)
            .into_response();
        if let ApiError::PayloadTooLarge(_) | ApiError::RequestTimeout = self {
            // The unread body is still in the connection: close it (HTTP/2
            // drops the header and resets just that stream).
            res.headers_mut()
                .insert("connection", warp::http::HeaderValue::from_static("close"));
        }
        let retry_after = match self {
            ApiError::TooManyRequests(secs) => Some(secs.max(1)),
            ApiError::Busy => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert("retry-after", warp::http::HeaderValue::from(secs));
        }
        res
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid { field, message } => ApiError::field(field, message),
            DomainError::NotOwner => ApiError::Unauthorized,
            DomainError::QueuePassRequired => ApiError::Forbidden(e.to_string()),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(detail) => {
                tracing::warn!(%detail, "write refused: storage unavailable");
                ApiError::Unavailable
            }
            // The store went away while committing (a sync failed, the
            // database dropped the connection at COMMIT and did not come
            // back to say how it ended): the write was not made visible, and
            // the client hears what it hears of any outage. A retry is
            // safe for the server's state: it reads only what is visible.
            StorageError::Uncertain(detail) => {
                tracing::error!(%detail, "write refused: its outcome in the store is unknown");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Domain(d) => d.into(),
            CommandError::Storage(s) => s.into(),
            CommandError::Payment(PaymentError::Declined) => {
                ApiError::PaymentDeclined(PaymentError::Declined.to_string())
            }
            CommandError::Payment(PaymentError::InvalidToken) => {
                ApiError::field("token", PaymentError::InvalidToken.to_string())
            }
            CommandError::Payment(PaymentError::Unavailable(detail)) => {
                tracing::warn!(%detail, "payment gateway unavailable");
                ApiError::GatewayUnavailable
            }
            CommandError::NotFound => ApiError::NotFound,
            CommandError::ShuttingDown => ApiError::Unavailable,
        }
    }
}
