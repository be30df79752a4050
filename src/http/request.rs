//! One API request as the handlers see it: method, path, query, headers,
//! authority, client address, and a body read up front, at most its route's
//! [`BodyLimit`] (64 KiB; 1 MiB for an event's map) and within its deadline
//! ([`BodyDeadline`]), handed out only as JSON.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::{Body as _, Incoming};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::error::Category;
use serde_json::{Map, Value};
use warp::http::uri::Authority;
use warp::http::{HeaderMap, Method};

use super::error::ApiError;

/// The largest body a route takes, and how a 413 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    /// Bytes at most.
    pub bytes: usize,
    /// The limit as a person reads it (`64 KiB`).
    pub label: &'static str,
}

/// The limit of every route but one.
pub const MAX_BODY: BodyLimit = BodyLimit {
    bytes: 64 * 1024,
    label: "64 KiB",
};

/// The limit of `POST /api/events`: a whole event's map (up to 10,000 rows)
/// comes in one body.
pub const MAX_EVENT_BODY: BodyLimit = BodyLimit {
    bytes: 1024 * 1024,
    label: "1 MiB",
};

impl BodyLimit {
    /// The limit of the route `method` with `segments` after `/api/` (as
    /// `dispatch` routes them).
    pub fn of(method: &Method, segments: &[String]) -> Self {
        if method == Method::POST && segments == ["events"] {
            MAX_EVENT_BODY
        } else {
            MAX_BODY
        }
    }
}

/// How long a request body may take to arrive, counted from the end of its
/// headers: `base` for any body, plus a second for every `min_bytes_per_sec`
/// bytes received. A client trickling bytes in (each one resets the idle
/// timeout) is cut off with 408; a slow but steady upload of any allowed
/// size, at `min_bytes_per_sec` or better, always finishes.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline {
    /// Time any body gets.
    pub base: Duration,
    /// The rate a long body must keep up.
    pub min_bytes_per_sec: u64,
}

impl BodyDeadline {
    /// The time allowed, from the end of the headers, once `received` bytes
    /// have arrived.
    fn allowance(self, received: usize) -> Duration {
        let earned = received as u64 * 1000 / self.min_bytes_per_sec.max(1);
        self.base + Duration::from_millis(earned)
    }
}

/// A request under `/api/`.
pub struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path as sent.
    pub path: String,
    /// Path segments after `/api/`.
    pub segments: Vec<String>,
    /// Query parameters (the last value wins).
    pub query: HashMap<String, String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// The client's address.
    pub remote: SocketAddr,
    /// The request target's authority: HTTP/2's `:authority`, or that of an
    /// HTTP/1 absolute-form target; `None` for the usual HTTP/1 target.
    target_authority: Option<Authority>,
    body: Bytes,
}

impl ApiRequest {
    /// Assembles a request from its parts, reading the whole body first (at
    /// most the route's [`BodyLimit`], else 413; within `deadline`, else
    /// 408): a request
    /// refused before its body was read would otherwise leave the body in
    /// the connection and break keep-alive.
    pub async fn read(
        method: Method,
        path: &str,
        query: Option<String>,
        headers: HeaderMap,
        remote: SocketAddr,
        body: Incoming,
        deadline: BodyDeadline,
    ) -> Result<Self, ApiError> {
        let declared = headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.parse::<u64>().ok());
        let segments: Vec<String> = path
            .trim_start_matches("/api")
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let limit = BodyLimit::of(&method, &segments);
        if declared.is_some_and(|len| len > limit.bytes as u64) {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        let body = read_body(body, limit, deadline).await?;
        let query = query
            .map(|q| {
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once('=').unwrap_or((p, ""));
                        (decode(k), decode(v))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(ApiRequest {
            method,
            path: path.to_owned(),
            segments,
            query,
            headers,
            remote,
            target_authority: None,
            body,
        })
    }

    /// Sets the target's authority, from the request's URI.
    pub fn with_target_authority(mut self, authority: Option<Authority>) -> Self {
        self.target_authority = authority;
        self
    }

    /// The authority (`host[:port]`) the client asked for: the target's
    /// (HTTP/2 requests carry it there and no `Host`; RFC 9112 says an
    /// absolute-form target wins over `Host` too), else the `Host` header.
    pub fn authority(&self) -> Option<&str> {
        self.target_authority
            .as_ref()
            .map(Authority::as_str)
            .or_else(|| self.header("host"))
    }

    /// A header as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Parses the body, a JSON object, into `T`. An empty body reads as
    /// `{}`; a body must be `application/json` (415), valid JSON (400) and
    /// an object (400: a derived struct would also read an array, by
    /// position). `T`'s fields are expected never to fail on a wrong JSON
    /// type (see `inputs`), so serde's messages only ever describe JSON
    /// that is malformed.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json(&self.body, self.is_json())
    }

    /// As [`ApiRequest::json`], then `then` on the value, both on the
    /// blocking pool: for a body large enough to hold an async thread for
    /// milliseconds (an event's map, up to 1 MiB).
    pub async fn json_blocking<T, R>(
        &self,
        then: impl FnOnce(T) -> Result<R, ApiError> + Send + 'static,
    ) -> Result<R, ApiError>
    where
        T: DeserializeOwned,
        R: Send + 'static,
    {
        let body = self.body.clone();
        let is_json = self.is_json();
        tokio::task::spawn_blocking(move || then(parse_json(&body, is_json)?))
            .await
            .map_err(|e| ApiError::Internal(format!("reading a body failed: {e}")))?
    }

    /// Parses the query parameters into `T`, whose fields are optional
    /// strings (the last value of a parameter given twice wins).
    pub fn query<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let params: Map<String, Value> = self
            .query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        serde_json::from_value(Value::Object(params))
            .map_err(|e| ApiError::BadRequest(format!("Query is not valid: {e}")))
    }

    /// `application/json`, with or without parameters such as `charset`.
    fn is_json(&self) -> bool {
        self.header("content-type")
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
    }
}

/// The body of [`ApiRequest::json`]: `is_json` says whether it came as
/// `application/json`.
fn parse_json<T: DeserializeOwned>(body: &[u8], is_json: bool) -> Result<T, ApiError> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    } else {
        body
    };
    let malformed = |e: serde_json::Error| match e.classify() {
        // Only a field given twice: every field reads any JSON type.
        Category::Data => ApiError::BadRequest(format!("Body is invalid: {e}")),
        _ => ApiError::BadRequest(format!("Body is not valid JSON: {e}")),
    };
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<IgnoredAny>(body) {
            Ok(_) => ApiError::BadRequest("Body must be a JSON object".into()),
            Err(e) => malformed(e),
        });
    }
    serde_json::from_slice(body).map_err(malformed)
}

/// Reads the body, at most `limit`, within `deadline`. A frame that is
/// already there is taken without arming a timer (the usual small body
/// arrives with its headers).
async fn read_body(
    mut body: Incoming,
    limit: BodyLimit,
    deadline: BodyDeadline,
) -> Result<Bytes, ApiError> {
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let started = tokio::time::Instant::now();
    let mut buf = BytesMut::new();
    loop {
        let until = started + deadline.allowance(buf.len());
        let Some(frame) = tokio::time::timeout_at(until, body.frame())
            .await
            .map_err(|_| ApiError::RequestTimeout)?
        else {
            break;
        };
        let frame =
            frame.map_err(|e| ApiError::BadRequest(format!("Body could not be read: {e}")))?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        if buf.len() + chunk.len() > limit.bytes {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Percent-decoding for query strings (`+` is a space).
fn decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escaped = (b == b'%')
            .then(|| Some(hex(*bytes.get(i + 1)?)? * 16 + hex(*bytes.get(i + 2)?)?))
            .flatten();
        match (b, escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 2;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
