//! Cross-site request refusal: a state-changing request that carries the
//! session cookie and a foreign `Origin` is 403; the server's own origin
//! (scheme, host and port: the request's `Host` or HTTP/2 `:authority`, or
//! a trusted proxy's `X-Forwarded-Host` and `X-Forwarded-Proto`) and Bearer
//! requests are allowed.
//!
//! This module holds the helpers several files share (a request with the
//! user's cookie and a given `Origin`, origins that are not the server's);
//! each submodule one part of the check:
//! - `scope`: which requests it refuses (cookie writes) and which it lets
//!   through (same origin, Bearer, reads);
//! - `own_origin`: what counts as the server's own origin (scheme, host and
//!   port; a trusted proxy's headers; secure cookies);
//! - `http2`: the same over HTTP/2, where `:authority` stands for `Host`.

mod http2;
mod own_origin;
mod scope;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// Sends with the user's cookie jar and the given Origin (and extra headers).
async fn with_origin(
    app: &Api,
    u: &User,
    method: Method,
    path: &str,
    origin: &str,
    extra: &[(&str, &str)],
    body: Option<Value>,
) -> Resp {
    let mut rb = app
        .request(method.clone(), path, Auth::Cookie(u))
        .header("origin", origin);
    for (k, v) in extra {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    app.send(format!("{method} {path} Origin {origin}"), rb)
        .await
}

fn foreign_origins(app: &Api) -> Vec<String> {
    let own = app.origin();
    let port = own.rsplit(':').next().unwrap().to_string();
    vec![
        "http://evil.example".into(),
        "null".into(),
        "http://127.0.0.1:1".into(),
        format!("http://localhost:{port}"),
        format!("{own}.evil.example"),
        format!("http://evil.example:{port}"),
    ]
}
