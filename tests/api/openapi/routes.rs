//! The document's routes: exactly those the server answers, one operation
//! id each, Swagger UI served from the binary; and every route that needs
//! a session declares how to present one.

use std::collections::BTreeSet;

use super::*;

/// Every route the server answers (the contract's, plus operations).
const ANSWERED: &[(&str, &str)] = &[
    ("post", "/api/users/signup"),
    ("post", "/api/users/signin"),
    ("post", "/api/users/signout"),
    ("get", "/api/users/currentuser"),
    ("post", "/api/tickets"),
    ("get", "/api/tickets"),
    ("get", "/api/tickets/{id}"),
    ("put", "/api/tickets/{id}"),
    ("delete", "/api/tickets/{id}"),
    ("get", "/api/tickets/live"),
    ("post", "/api/orders"),
    ("get", "/api/orders"),
    ("get", "/api/orders/{id}"),
    ("delete", "/api/orders/{id}"),
    ("post", "/api/payments"),
    ("post", "/api/events"),
    ("get", "/api/events"),
    ("get", "/api/events/{id}"),
    ("delete", "/api/events/{id}"),
    ("get", "/api/events/{id}/seats"),
    ("get", "/api/events/{id}/live"),
    ("post", "/api/events/{id}/queue"),
    ("get", "/api/events/{id}/queue"),
    ("get", "/api/events/{id}/queue/live"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/openapi.json"),
    ("get", "/api/docs/{file}"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_lists_exactly_the_routes_the_server_answers() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "post", "put", "delete", "patch"].contains(&m.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let answered: BTreeSet<(String, String)> = ANSWERED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, answered);

    // Generated clients name a method after each operation: one name each.
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|ops| ops.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), answered.len(), "every operation has an id");
    assert_eq!(unique.len(), ids.len(), "operation ids repeat: {ids:?}");

    // Swagger UI comes from the binary and points at the document.
    let page = plain_client()
        .get(app.url("/api/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("swagger"));
    let init = plain_client()
        .get(app.url("/api/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/openapi.json"));
}

/// Routes that read a session when one comes but also serve without.
const READS_SESSION: &[(&str, &str)] = &[
    ("post", "/api/users/signout"),
    ("get", "/api/users/currentuser"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_that_need_a_session_declare_how_to_present_it() {
    let app = spawn_app().await;
    let doc = document(&app).await;

    // The two ways: a bearer JWT, and the cookie the server really sets.
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearerAuth"]["type"], "http", "{schemes}");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer", "{schemes}");
    assert_eq!(schemes["bearerAuth"]["bearerFormat"], "JWT", "{schemes}");
    assert_eq!(schemes["cookieAuth"]["type"], "apiKey", "{schemes}");
    assert_eq!(schemes["cookieAuth"]["in"], "cookie", "{schemes}");
    let set_cookie = app
        .signup_raw(&plain_client(), &unique_email(), "password1")
        .await
        .set_cookies()
        .join("; ");
    let name = schemes["cookieAuth"]["name"]
        .as_str()
        .expect("a cookie name");
    assert!(
        set_cookie.starts_with(&format!("{name}=")),
        "documented cookie {name}, the server sets {set_cookie}"
    );

    // Each route without credentials: a 401 means it needs a session, and
    // then the document must say so (and not offer `{}`, no security).
    let (seller, ticket) = app.some_ticket().await;
    let held = app.create_ticket(&seller, "Held", json!(3)).await;
    let order = app.reserve(&seller, &id_of(&held)).await;
    for (method, path) in ANSWERED {
        let concrete = path.replace("{file}", "").replace(
            "{id}",
            &id_of(if path.contains("orders") {
                &order
            } else {
                &ticket
            }),
        );
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let body = (*method != "get").then(|| json!({}));
        let r = if path.ends_with("/queue/live") {
            // Answered only as an upgrade (a plain GET is no route).
            let rb = app
                .request(m, &concrete, Auth::None)
                .header("connection", "upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
            app.send(format!("upgrade {concrete}"), rb).await
        } else {
            app.call(m, &concrete, Auth::None, body).await
        };
        let declared: Vec<Value> = doc["paths"][path][method]["security"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let both = [json!({"bearerAuth": []}), json!({"cookieAuth": []})];
        if r.status == 401 {
            assert_eq!(declared, both, "{method} {path} needs a session");
        } else if READS_SESSION.contains(&(method, path)) {
            let optional = [both[0].clone(), both[1].clone(), json!({})];
            assert_eq!(declared, optional, "{method} {path} reads a session");
        } else {
            assert!(
                declared.is_empty(),
                "{method} {path} answers {} without a session but declares {declared:?}",
                r.status
            );
        }
    }
}
