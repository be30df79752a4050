//! `GET /api/openapi.json` and `/api/docs/`: the document lists exactly the
//! routes the server answers, real responses match its schemas, the inputs
//! it documents as valid are exactly those the server takes at each bound,
//! and the routes that need a session say how to present one.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::helpers::*;

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
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/openapi.json"),
    ("get", "/api/docs/{file}"),
];

async fn document(app: &TestApp) -> Value {
    app.get("/api/openapi.json", Auth::None).await.json(200)
}

/// Checks `instance` against the document's schema for that response.
fn check(doc: &Value, method: &str, path: &str, status: u16, instance: &Value) {
    let schema = &doc["paths"][path][method]["responses"][status.to_string()]["content"]
        ["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "no JSON schema for {method} {path} {status}"
    );
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let validator = jsonschema::validator_for(&root)
        .unwrap_or_else(|e| panic!("{method} {path} {status}: bad schema: {e}"));
    // The schema is strict enough to refuse a wrong shape.
    assert!(
        !validator.is_valid(&json!({"id": 1, "errors": "no"})),
        "{method} {path} {status}: the schema accepts anything"
    );
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {errors:?}\n{instance}"
    );
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_responses_match_the_documented_schemas() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let client = plain_client();

    let signup = app
        .signup_raw(&client, &unique_email(), "password1")
        .await
        .json(201);
    check(&doc, "post", "/api/users/signup", 201, &signup);
    let seller = app.signup().await;
    let buyer = app.signup().await;
    let signin = app
        .signin_raw(&client, &seller.email, &seller.password)
        .await
        .json(200);
    check(&doc, "post", "/api/users/signin", 200, &signin);
    let me = app
        .get("/api/users/currentuser", Auth::Bearer(&seller))
        .await
        .json(200);
    check(&doc, "get", "/api/users/currentuser", 200, &me);
    let nobody = app
        .get("/api/users/currentuser", Auth::None)
        .await
        .json(200);
    check(&doc, "get", "/api/users/currentuser", 200, &nobody);

    let dated = app
        .post(
            "/api/tickets",
            Auth::Bearer(&seller),
            json!({"title": "Dated", "price": "12.50", "date": "2026-12-31T20:00:00Z"}),
        )
        .await
        .json(201);
    check(&doc, "post", "/api/tickets", 201, &dated);
    let ticket = app.create_ticket(&seller, "Plain", json!(20)).await;
    let id = ticket["id"].as_str().unwrap();
    let edited = app
        .put(
            &format!("/api/tickets/{id}"),
            Auth::Bearer(&seller),
            json!({"title": "Edited", "price": 21}),
        )
        .await
        .json(200);
    check(&doc, "put", "/api/tickets/{id}", 200, &edited);
    let order = app.reserve(&buyer, id).await;
    check(&doc, "post", "/api/orders", 201, &order);
    let oid = order["id"].as_str().unwrap();
    let shown = app
        .get(&format!("/api/tickets/{id}"), Auth::None)
        .await
        .json(200);
    check(&doc, "get", "/api/tickets/{id}", 200, &shown);
    let payment = app
        .post(
            "/api/payments",
            Auth::Bearer(&buyer),
            json!({"orderId": oid, "token": "tok_visa"}),
        )
        .await
        .json(201);
    check(&doc, "post", "/api/payments", 201, &payment);
    let list = app
        .get("/api/tickets?status=any", Auth::None)
        .await
        .json(200);
    check(&doc, "get", "/api/tickets", 200, &list);
    let orders = app.get("/api/orders", Auth::Bearer(&buyer)).await.json(200);
    check(&doc, "get", "/api/orders", 200, &orders);
    let one = app
        .get(&format!("/api/orders/{oid}"), Auth::Bearer(&buyer))
        .await
        .json(200);
    check(&doc, "get", "/api/orders/{id}", 200, &one);

    // Errors, in the documented shape.
    let invalid = app
        .post(
            "/api/tickets",
            Auth::Bearer(&seller),
            json!({"price": "abc"}),
        )
        .await
        .json(400);
    check(&doc, "post", "/api/tickets", 400, &invalid);
    let unauthorized = app.get("/api/orders", Auth::None).await.json(401);
    check(&doc, "get", "/api/orders", 401, &unauthorized);
    let missing = app
        .get("/api/tickets/0000000000000000", Auth::None)
        .await
        .json(404);
    check(&doc, "get", "/api/tickets/{id}", 404, &missing);
    let not_upgraded = app.get("/api/tickets/live", Auth::None).await.json(404);
    check(&doc, "get", "/api/tickets/live", 404, &not_upgraded);
    let bad_limit = app.get("/api/tickets?limit=0", Auth::None).await.json(400);
    check(&doc, "get", "/api/tickets", 400, &bad_limit);
    let declined = {
        let t = app.create_ticket(&seller, "Declined", json!(5)).await;
        let o = app.reserve(&buyer, t["id"].as_str().unwrap()).await;
        app.post(
            "/api/payments",
            Auth::Bearer(&buyer),
            json!({"orderId": o["id"], "token": "tok_chargeDeclined"}),
        )
        .await
        .json(402)
    };
    check(&doc, "post", "/api/payments", 402, &declined);
}

/// Resolves `schema` when it is a `$ref` into the document's components.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r
                .strip_prefix("#/components/schemas/")
                .expect("a local $ref");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// A validator for `schema`, resolving `$ref`s against the document's
/// components and checking formats too (a strict client would).
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("bad schema {schema}: {e}"))
}

/// The JSON schema of the request body of `method path`.
fn body_schema<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let schema =
        &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    assert!(schema.is_object(), "{method} {path}: no JSON request body");
    schema
}

/// Property `name` of the request body of `method path`, resolved.
fn property<'a>(doc: &'a Value, method: &str, path: &str, name: &str) -> &'a Value {
    let body = resolve(doc, body_schema(doc, method, path));
    let p = &body["properties"][name];
    assert!(
        p.is_object(),
        "{method} {path}: no property {name} in {body}"
    );
    resolve(doc, p)
}

/// The number `key` of `schema`, which the document must give.
#[track_caller]
fn bound(schema: &Value, key: &str) -> f64 {
    schema[key]
        .as_f64()
        .unwrap_or_else(|| panic!("the document gives no {key} for {schema}"))
}

/// Sends `body` to `method path` after checking that the document puts it
/// `inside` its bounds (or outside them), then checks that the server
/// agrees: a 2xx inside, `refused` (a status, and the field an error names)
/// outside. A client generated from the document is hurt exactly when the
/// two disagree.
async fn agree(
    app: &TestApp,
    doc: &Value,
    (method, path): (&str, &str),
    auth: Auth<'_>,
    body: Value,
    inside: bool,
    refused: (u16, Option<&str>),
) {
    let valid = validator(doc, body_schema(doc, method, path)).is_valid(&body);
    let short: String = body.to_string().chars().take(120).collect();
    assert_eq!(
        valid,
        inside,
        "{method} {path}: the document puts {short} {} its bounds",
        if valid { "inside" } else { "outside" }
    );
    let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let r = app.call(m, path, auth, Some(body)).await;
    if inside {
        assert!(
            (200..300).contains(&r.status),
            "{method} {path} {short}: documented as valid, refused with {} {}",
            r.status,
            r.text
        );
    } else {
        r.error(refused.0, None, refused.1);
    }
}

/// A fresh email of exactly `len` characters that the document's pattern
/// allows: a 64-character local part and domain labels of at most 63.
fn email_of_len(len: usize) -> String {
    let unique = unique_email().replace(['@', '.'], "");
    let local = format!("{unique:a<64}");
    let mut rest = len - local.len() - 1 - ".com".len();
    let mut labels = Vec::new();
    while rest > 63 {
        labels.push("b".repeat(62));
        rest -= 63;
    }
    labels.push("b".repeat(rest));
    let email = format!("{local}@{}.com", labels.join("."));
    assert_eq!(email.len(), len);
    email
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_input_bounds_are_the_servers() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let signup = ("post", "/api/users/signup");

    // Passwords: minLength and maxLength, in bytes for ASCII.
    let password = property(&doc, "post", signup.1, "password");
    let (min, max) = (
        bound(password, "minLength") as usize,
        bound(password, "maxLength") as usize,
    );
    for (len, inside) in [(min - 1, false), (min, true), (max, true), (max + 1, false)] {
        let body = json!({"email": unique_email(), "password": "p".repeat(len)});
        agree(
            &app,
            &doc,
            signup,
            Auth::None,
            body,
            inside,
            (400, Some("password")),
        )
        .await;
    }

    // Emails: format, maxLength, and the 64 bytes before the `@`.
    let email = property(&doc, "post", signup.1, "email");
    assert_eq!(email["format"], "email", "{email}");
    let max = bound(email, "maxLength") as usize;
    let long_local = format!("{}@example.com", "a".repeat(65));
    for (address, inside) in [
        (email_of_len(max), true),
        (email_of_len(max + 1), false),
        (long_local, false),
        ("ann@localhost".to_owned(), false),
        ("ann@-example.com".to_owned(), false),
    ] {
        let body = json!({"email": address, "password": "password1"});
        agree(
            &app,
            &doc,
            signup,
            Auth::None,
            body,
            inside,
            (400, Some("email")),
        )
        .await;
    }

    // Signin: any password that is not empty reaches the credentials check
    // (one of spaces is compared as written, like any other).
    let user = app.signup().await;
    let signin = ("post", "/api/users/signin");
    for (password, inside) in [(user.password.as_str(), true), ("", false)] {
        let body = json!({"email": user.email, "password": password});
        agree(
            &app,
            &doc,
            signin,
            Auth::None,
            body,
            inside,
            (400, Some("password")),
        )
        .await;
    }

    // Titles: minLength, maxLength, and not blank or with control characters.
    let create = ("post", "/api/tickets");
    let title = property(&doc, "post", create.1, "title");
    let (min, max) = (
        bound(title, "minLength") as usize,
        bound(title, "maxLength") as usize,
    );
    let bell = "a\u{7}b".to_owned();
    for (title, inside) in [
        ("x".repeat(min), true),
        ("x".repeat(min - 1), false),
        ("é".repeat(max), true),
        ("x".repeat(max + 1), false),
        ("   ".to_owned(), false),
        (bell, false),
    ] {
        let body = json!({"title": title, "price": 1});
        let auth = Auth::Bearer(&user);
        agree(&app, &doc, create, auth, body, inside, (400, Some("title"))).await;
    }

    // Prices as numbers: exclusiveMinimum, maximum, multipleOf.
    let price = property(&doc, "post", create.1, "price");
    let forms = price["oneOf"]
        .as_array()
        .expect("price: a number or a string");
    let number = forms
        .iter()
        .find(|f| f["type"] == "number")
        .expect("price as a number");
    let (floor, ceiling, step) = (
        bound(number, "exclusiveMinimum"),
        bound(number, "maximum"),
        bound(number, "multipleOf"),
    );
    let strings = ["0.01", "12.50", "999999.99", "1000000", "1000000.00"];
    let refused_strings = ["0", "0.00", "1000000.01", "1.005", "1e-3", "-1", " ", "abc"];
    let probes = [
        (json!(floor), false),
        (json!(floor + step), true),
        (json!(12.5), true),
        (json!(ceiling), true),
        (json!(ceiling + step), false),
        (json!(1.0 + step / 2.0), false),
        (json!(-1), false),
    ]
    .into_iter()
    .chain(strings.map(|s| (json!(s), true)))
    .chain(refused_strings.map(|s| (json!(s), false)));
    for (price, inside) in probes {
        let body = json!({"title": "Priced", "price": price});
        let auth = Auth::Bearer(&user);
        agree(&app, &doc, create, auth, body, inside, (400, Some("price"))).await;
    }

    // Ids: a ticket id of another shape is no such ticket.
    let seller = app.signup().await;
    let ticket = app.create_ticket(&seller, "Held", json!(5)).await;
    let id = id_of(&ticket);
    let order = ("post", "/api/orders");
    for (ticket_id, inside, status) in [
        (id.to_uppercase(), false, 404),
        (id[1..].to_owned(), false, 404),
        (String::new(), false, 400),
        (id.clone(), true, 201),
    ] {
        let body = json!({"ticketId": ticket_id});
        let auth = Auth::Bearer(&user);
        agree(&app, &doc, order, auth, body, inside, (status, None)).await;
    }

    // Card tokens: minLength, maxLength and the test gateway's prefix.
    let pay = ("post", "/api/payments");
    let token = property(&doc, "post", pay.1, "token");
    let (min, max) = (
        bound(token, "minLength") as usize,
        bound(token, "maxLength") as usize,
    );
    let token_of = |len: usize| format!("tok_{}", "v".repeat(len - 4));
    for (token, inside) in [
        (token_of(min - 1), false),
        (token_of(max + 1), false),
        ("card_12345".to_owned(), false),
        (token_of(min), true),
        (token_of(max), true),
    ] {
        let t = app.create_ticket(&seller, "Paid", json!(5)).await;
        let o = app.reserve(&user, &id_of(&t)).await;
        let body = json!({"orderId": id_of(&o), "token": token});
        let auth = Auth::Bearer(&user);
        agree(&app, &doc, pay, auth, body, inside, (400, Some("token"))).await;
    }

    // The list query: limit's minimum and maximum, status's values.
    let params = doc["paths"]["/api/tickets"]["get"]["parameters"]
        .as_array()
        .expect("parameters of GET /api/tickets");
    let param = |name: &str| {
        let p = params.iter().find(|p| p["name"] == name);
        resolve(
            &doc,
            &p.unwrap_or_else(|| panic!("no {name} parameter"))["schema"],
        )
    };
    let limit = param("limit");
    let (min, max) = (
        bound(limit, "minimum") as i64,
        bound(limit, "maximum") as i64,
    );
    let probes = [
        ("limit", json!(min - 1), false),
        ("limit", json!(min), true),
        ("limit", json!(max), true),
        ("limit", json!(max + 1), false),
        ("status", json!("any"), true),
        ("status", json!("available"), true),
        ("status", json!("sold"), false),
        ("after", json!(id), true),
        ("after", json!("nope"), false),
    ];
    for (name, value, inside) in probes {
        let valid = validator(&doc, param(name)).is_valid(&value);
        assert_eq!(valid, inside, "the document puts {name}={value} wrongly");
        let raw = value.as_str().map_or(value.to_string(), str::to_owned);
        let r = app
            .get(&format!("/api/tickets?{name}={raw}"), Auth::None)
            .await;
        if inside {
            r.expect(200);
        } else {
            r.error(400, None, Some(name));
        }
    }
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
        let r = app.call(m, &concrete, Auth::None, body).await;
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

/// The `(field, message)` of every error of a 400.
fn problems(r: &Resp) -> Vec<(String, String)> {
    r.error(400, None, None);
    r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field = e["field"].as_str().unwrap_or("").to_owned();
            (field, e["message"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typed_inputs_answer_wrong_json_types_with_the_contracts_messages() {
    let app = spawn_app().await;
    let user = app.signup().await;
    let expect = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(f, m)| (f.to_string(), m.to_string()))
            .collect()
    };
    let auth = Auth::Bearer(&user);

    let r = app
        .post(
            "/api/tickets",
            auth,
            json!({"title": 5, "price": {"a": 1}, "date": 5}),
        )
        .await;
    assert_eq!(
        problems(&r),
        expect(&[
            ("title", "Title is required"),
            ("price", "Price must be a number"),
            ("date", "Date must be an RFC 3339 date-time"),
        ])
    );
    for body in [json!({"ticketId": 5}), json!({"ticketId": "  "}), json!({})] {
        let r = app.post("/api/orders", auth, body).await;
        assert_eq!(
            problems(&r),
            expect(&[("ticketId", "TicketId must be provided")])
        );
    }
    let r = app
        .post(
            "/api/payments",
            auth,
            json!({"orderId": [1], "token": null}),
        )
        .await;
    assert_eq!(
        problems(&r),
        expect(&[
            ("orderId", "OrderId must be provided"),
            ("token", "Token must be provided"),
        ])
    );
    let r = app
        .post(
            "/api/users/signup",
            Auth::None,
            json!({"email": 5, "password": 5}),
        )
        .await;
    assert_eq!(
        problems(&r),
        expect(&[
            ("email", "Email must be valid"),
            ("password", "Password must be between 8 and 72 bytes"),
        ])
    );

    // One entry per invalid field, also where the first used to hide the
    // others.
    let r = app
        .post(
            "/api/users/signin",
            Auth::None,
            json!({"email": "nope", "password": ""}),
        )
        .await;
    assert_eq!(
        problems(&r),
        expect(&[
            ("email", "Email must be valid"),
            ("password", "You must supply a password"),
        ])
    );
    let r = app
        .get("/api/tickets?status=sold&limit=0&after=x", Auth::None)
        .await;
    assert_eq!(
        problems(&r),
        expect(&[
            ("status", "Status must be available or any"),
            ("limit", "Limit must be 1 to 1000"),
            ("after", "After must be a ticket id"),
        ])
    );

    // A field given twice is refused, not guessed at (a proxy in front may
    // have read the other one).
    let r = app
        .post_text(
            "/api/tickets",
            auth,
            r#"{"title": "First", "title": "Second", "price": 1}"#,
        )
        .await;
    r.error(400, None, None);
    assert!(r.text.contains("duplicate field `title`"), "{}", r.text);
    assert!(app.all_tickets().await.is_empty());
}
