//! The browser UI: the files of `web/`, embedded in the binary at build time
//! and served at `/` with their content types. Only the names listed here
//! are served, so no request path can reach anything else.

use warp::http::{HeaderValue, StatusCode};
use warp::Reply as _;

/// `(path, content type, bytes)` of every UI file.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../../web/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/app.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/api.js"),
    ),
    (
        "dom.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/dom.js"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/live.js"),
    ),
    (
        "views.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/views.js"),
    ),
    (
        "parts.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/parts.js"),
    ),
    (
        "tickets.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/tickets.js"),
    ),
    (
        "forms.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/forms.js"),
    ),
    (
        "orders.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/orders.js"),
    ),
    (
        "events.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/events.js"),
    ),
    (
        "seatmap.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/seatmap.js"),
    ),
    (
        "queue.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../web/queue.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../web/style.css"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../web/favicon.svg"),
    ),
];

/// The file at `path` (`""` is `index.html`), if it is one of ours.
pub fn file(path: &str) -> Option<warp::reply::Response> {
    let name = if path.is_empty() { "index.html" } else { path };
    let (_, content_type, bytes) = FILES.iter().find(|(n, _, _)| *n == name)?;
    let mut res = warp::reply::with_status(*bytes, StatusCode::OK).into_response();
    let headers = res.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; \
             style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    Some(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_files_are_served() {
        assert!(file("").is_some());
        assert!(file("app.js").is_some());
        for bad in [
            "../Cargo.toml",
            "/etc/passwd",
            "web/index.html",
            "src/main.rs",
            "index.html/..",
        ] {
            assert!(file(bad).is_none(), "{bad}");
        }
    }
}
