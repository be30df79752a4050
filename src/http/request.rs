//! One API request as the handlers see it: method, path, query, headers,
//! authority, client address, and a body read on demand, at most 64 KiB,
//! only as JSON.

use std::collections::HashMap;
use std::net::SocketAddr;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use serde_json::{Map, Value};
use warp::http::uri::Authority;
use warp::http::{HeaderMap, Method};

use super::error::ApiError;

/// Largest accepted body.
pub const MAX_BODY: usize = 64 * 1024;

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
    /// Assembles a request from what warp extracted, reading the whole body
    /// first (at most 64 KiB, else 413): a request refused before its body
    /// was read would otherwise leave the body in the connection and break
    /// keep-alive.
    pub async fn read(
        method: Method,
        path: &str,
        query: Option<String>,
        headers: HeaderMap,
        remote: SocketAddr,
        body: Incoming,
    ) -> Result<Self, ApiError> {
        let declared = headers
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|l| l.parse::<u64>().ok());
        if declared.is_some_and(|len| len > MAX_BODY as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        let body = read_body(body).await?;
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

async fn read_body(mut body: Incoming) -> Result<Bytes, ApiError> {
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
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
