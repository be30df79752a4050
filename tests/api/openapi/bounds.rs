//! The inputs the document gives as valid (lengths, prices, ids, card
//! tokens, the list query) are exactly those the server takes: a value
//! just inside each bound is taken, one just outside refused.

use super::*;

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
