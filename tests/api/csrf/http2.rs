//! Over cleartext HTTP/2 there is no `Host` header: the `:authority` is
//! the own origin, and an untrusted `X-Forwarded-Host` does not override it.

use super::*;

/// One request over cleartext HTTP/2 with prior knowledge, as a browser's
/// HTTP/2 request reaches a server behind an h2c proxy: no `Host` header,
/// the authority in `:authority`. The status and the JSON body.
async fn h2_request(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    use http_body_util::{BodyExt as _, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(conn);
    let method = hyper::Method::from_bytes(method.as_str().as_bytes()).unwrap();
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", app.addr));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            bytes::Bytes::from(b.to_string())
        }
        None => bytes::Bytes::new(),
    };
    let req = req.body(Full::new(body)).unwrap();
    assert!(req.headers().get("host").is_none());
    let res = tokio::time::timeout(REQUEST_TIMEOUT, sender.send_request(req))
        .await
        .expect("HTTP/2 request timed out")
        .expect("HTTP/2 request");
    assert_eq!(
        res.version(),
        hyper::Version::HTTP_2,
        "the server spoke HTTP/2"
    );
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    assert!(status < 500, "HTTP/2 {path}: {status}");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_the_authority_is_the_own_origin() {
    let app = spawn_app().await;
    let seller = app.signup().await;
    let cookie = format!("session={}", seller.token);
    let own = app.origin();
    let ticket = json!({"title": "Over HTTP/2", "price": 4});

    let (status, t) = h2_request(
        &app,
        Method::POST,
        "/api/tickets",
        &[("cookie", &cookie), ("origin", &own)],
        Some(ticket.clone()),
    )
    .await;
    assert_eq!(status, 201, "same-origin cookie write over HTTP/2: {t}");
    let tid = id_of(&t);
    let (status, _) = h2_request(
        &app,
        Method::PUT,
        &format!("/api/tickets/{tid}"),
        &[("cookie", &cookie), ("origin", &own)],
        Some(json!({"title": "Edited over HTTP/2", "price": 5})),
    )
    .await;
    assert_eq!(status, 200);
    for foreign in foreign_origins(&app) {
        let (status, body) = h2_request(
            &app,
            Method::POST,
            "/api/tickets",
            &[("cookie", &cookie), ("origin", &foreign)],
            Some(ticket.clone()),
        )
        .await;
        assert_eq!(status, 403, "Origin {foreign} over HTTP/2: {body}");
        assert!(body["errors"][0]["message"].is_string(), "{body}");
    }
    // An untrusted X-Forwarded-Host does not override :authority.
    let (status, _) = h2_request(
        &app,
        Method::POST,
        "/api/tickets",
        &[
            ("cookie", &cookie),
            ("origin", "http://evil.example"),
            ("x-forwarded-host", "evil.example"),
        ],
        Some(ticket.clone()),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = h2_request(
        &app,
        Method::DELETE,
        &format!("/api/tickets/{tid}"),
        &[("cookie", &cookie), ("origin", &own)],
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(app.all_tickets().await.is_empty());
}
