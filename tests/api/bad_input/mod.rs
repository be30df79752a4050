//! Hostile and malformed input: bad JSON, wrong content types, huge bodies,
//! odd ids, unknown routes. The server answers with the contract's error
//! shape and never with a 5xx (every response passes through `Api::send`).
//!
//! This module holds the oversized-body sender that other modules share
//! (`post_oversized`); each submodule one kind of bad input:
//! - `bodies`: malformed JSON, wrong media types, wrong field types;
//! - `sizes`: the 64 KiB body limit, and the connection after an early refusal;
//! - `routes`: odd ids, unknown routes and methods, whatever `Accept` says.

mod bodies;
mod routes;
mod sizes;

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

/// Sends an oversized body. The server may answer 413 and close before the
/// client has written the whole body, which some clients see as a broken
/// pipe; such attempts are retried (and counted), but a 413 must come back.
pub(crate) async fn post_oversized(app: &Api, path: &str, auth: Auth<'_>, body: String) -> Resp {
    // A client of its own, so a connection the server drops after its 413
    // is not reused by the rest of the test (see
    // `a_413_closes_the_connection_explicitly_or_keeps_it_usable`).
    let app = &Api::new(app.base.clone());
    for attempt in 1..=8 {
        let rb = app
            .request(Method::POST, path, auth)
            .header("content-type", "application/json")
            .body(body.clone());
        match rb.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let text = resp.text().await.unwrap_or_default();
                let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
                return Resp {
                    status,
                    headers,
                    text,
                    body,
                    what: format!("POST {path} (oversized body)"),
                };
            }
            Err(e) => {
                eprintln!(
                    "POST {path} oversized, attempt {attempt}: no response, transport error {e:?}"
                );
            }
        }
    }
    panic!("POST {path} with an oversized body: never got a response in 8 attempts (connection closed before the 413 could be read)");
}
