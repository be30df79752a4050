//! One API request as the handlers see it: method, path, query, headers,
//! client address, and a body read up front, at most 64 KiB and within its
//! deadline ([`BodyDeadline`]), handed out only as JSON.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::{Body as _, Incoming};
use serde_json::{Map, Value};
use warp::http::{HeaderMap, Method};

use super::error::ApiError;

/// Largest accepted body.
pub const MAX_BODY: usize = 64 * 1024;

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
    body: Bytes,
}

impl ApiRequest {
    /// Assembles a request from its parts, reading the whole body first (at
    /// most 64 KiB, else 413; within `deadline`, else 408): a request
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
        if declared.is_some_and(|len| len > MAX_BODY as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        let body = read_body(body, deadline).await?;
        let segments = path
            .trim_start_matches("/api")
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
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
            body,
        })
    }

    /// A header as text, if present and printable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Reads the body as a JSON object. An empty body reads as `{}`; a body
    /// must be `application/json` (415), valid JSON (400) and an object (400).
    pub fn json(&self) -> Result<Map<String, Value>, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        if !self.is_json() {
            return Err(ApiError::UnsupportedMediaType);
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(ApiError::BadRequest("Body must be a JSON object".into())),
            Err(e) => Err(ApiError::BadRequest(format!("Body is not valid JSON: {e}"))),
        }
    }

    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// `application/json`, with or without parameters such as `charset`.
    fn is_json(&self) -> bool {
        self.header("content-type")
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
    }
}

/// Reads the body within `deadline`. A frame that is already there is taken
/// without arming a timer (the usual small body arrives with its headers).
async fn read_body(mut body: Incoming, deadline: BodyDeadline) -> Result<Bytes, ApiError> {
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
        if buf.len() + chunk.len() > MAX_BODY {
            return Err(ApiError::PayloadTooLarge);
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

/// Typed field extraction from a JSON body, collecting one error per field.
pub struct Fields<'a> {
    map: &'a Map<String, Value>,
    errors: Vec<(&'static str, String)>,
}

impl<'a> Fields<'a> {
    /// Starts reading `map`.
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Fields {
            map,
            errors: Vec::new(),
        }
    }

    /// The raw value of `name`.
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.map.get(name)
    }

    /// A required string; `message` when missing, empty or not a string.
    pub fn string(&mut self, name: &'static str, message: &str) -> Option<&'a str> {
        match self.map.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
            _ => {
                self.errors.push((name, message.to_owned()));
                None
            }
        }
    }

    /// Parses a value with `parse`, recording its domain error.
    pub fn parse<T>(&mut self, result: Result<T, crate::domain::DomainError>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(crate::domain::DomainError::Invalid { field, message }) => {
                self.errors.push((field, message.to_owned()));
                None
            }
            Err(other) => {
                self.errors.push(("", other.to_string()));
                None
            }
        }
    }

    /// `Ok` when no field failed, else the 400 listing each failure.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Invalid(self.errors))
        }
    }
}
