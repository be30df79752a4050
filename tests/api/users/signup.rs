//! `POST /api/users/signup`: the 201 with its session cookie, emails trimmed
//! and compared without case, invalid or missing fields named, one error
//! per field, and a taken email refused.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_returns_201_with_id_email_token_and_a_session_cookie() {
    let app = spawn_app().await;
    let email = unique_email();
    let jar = cookie_client();
    let r = app.signup_raw(&jar, &email, "password123").await;
    let body = r.json(201);
    let id = body["id"].as_str().expect("id is a string");
    assert!(!id.is_empty());
    assert_eq!(body["email"], json!(email));
    let token = body["token"].as_str().expect("token is a string");
    assert_eq!(
        token.split('.').count(),
        3,
        "token is a compact JWT: {token}"
    );
    for key in body.as_object().unwrap().keys() {
        assert!(
            !key.to_ascii_lowercase().contains("password"),
            "signup leaks a password field: {body}"
        );
    }

    let (value, attrs) = session_cookie(&r)
        .unwrap_or_else(|| panic!("no `session` cookie set by signup: {:?}", r.set_cookies()));
    assert_eq!(
        value, token,
        "the cookie holds the token returned in the body"
    );
    assert!(
        has_attr(&attrs, "HttpOnly"),
        "cookie not HttpOnly: {attrs:?}"
    );
    assert!(
        has_attr(&attrs, "SameSite=Lax"),
        "cookie not SameSite=Lax: {attrs:?}"
    );
    assert!(has_attr(&attrs, "Path=/"), "cookie not Path=/: {attrs:?}");
    assert!(
        !has_attr(&attrs, "Secure"),
        "Secure set without HTTPS: {attrs:?}"
    );

    let user = User {
        id: id.to_string(),
        email: email.clone(),
        password: "password123".into(),
        token: token.to_string(),
        jar,
    };
    for mode in MODES {
        let cu = app.current_user(mode.auth(&user)).await;
        assert_eq!(cu, json!({"id": id, "email": email}), "{mode:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emails_are_trimmed_and_compared_case_insensitively() {
    let app = spawn_app().await;
    let base = unique_email();
    let shouty = format!("  {}  ", base.to_ascii_uppercase());
    let jar = cookie_client();
    let body = app.signup_raw(&jar, &shouty, "password123").await.json(201);
    let stored = body["email"].as_str().unwrap().to_string();
    assert_eq!(stored, stored.trim(), "stored email is trimmed");
    assert!(stored.eq_ignore_ascii_case(&base), "{stored} vs {base}");
    let id = body["id"].as_str().unwrap().to_string();

    for dup in [
        base.clone(),
        format!("\t{base} "),
        base.to_ascii_uppercase(),
    ] {
        app.signup_raw(&plain_client(), &dup, "password456")
            .await
            .error(400, Some("Email in use"), None);
    }
    for variant in [base.clone(), format!(" {} ", base.to_ascii_uppercase())] {
        let u = app.signin(&variant, "password123").await;
        assert_eq!(u.id, id, "signin as {variant:?} finds the same user");
        assert!(u.email.eq_ignore_ascii_case(&base));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_refuses_invalid_emails_with_field_email() {
    let app = spawn_app().await;
    for bad in [
        "",
        "   ",
        "plainaddress",
        "@example.com",
        "user@",
        "user@@example.com",
        "us er@example.com",
        "user@exa mple.com",
        "user@example.com\nBcc: x@example.com",
    ] {
        app.signup_raw(&plain_client(), bad, "password123")
            .await
            .error(400, None, Some("email"));
    }
    let long = format!("{}@example.com", "a".repeat(400));
    app.signup_raw(&plain_client(), &long, "password123")
        .await
        .error(400, None, Some("email"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_without_email_or_password_names_the_missing_field() {
    let app = spawn_app().await;
    app.post(
        "/api/users/signup",
        Auth::None,
        json!({"password": "password123"}),
    )
    .await
    .error(400, None, Some("email"));
    app.post(
        "/api/users/signup",
        Auth::None,
        json!({"email": unique_email()}),
    )
    .await
    .error(400, None, Some("password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_with_wrong_types_is_400() {
    let app = spawn_app().await;
    for body in [
        json!({"email": 42, "password": "password123"}),
        json!({"email": unique_email(), "password": 12345678}),
        json!({"email": null, "password": "password123"}),
        json!({"email": [unique_email()], "password": "password123"}),
        json!({}),
        json!([]),
        json!("email"),
    ] {
        app.post("/api/users/signup", Auth::None, body)
            .await
            .error(400, None, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signup_reports_one_error_per_invalid_field() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/users/signup",
            Auth::None,
            json!({"email": "nope", "password": "short"}),
        )
        .await;
    r.error(400, None, Some("email"));
    r.error(400, None, Some("password"));
    let fields = r.error_fields();
    assert_eq!(
        fields.iter().filter(|f| *f == "email").count(),
        1,
        "{}",
        r.text
    );
    assert_eq!(
        fields.iter().filter(|f| *f == "password").count(),
        1,
        "{}",
        r.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_signup_is_email_in_use_and_keeps_the_first_password() {
    let app = spawn_app().await;
    let u = app.signup().await;
    app.signup_raw(&plain_client(), &u.email, "another password")
        .await
        .error(400, Some("Email in use"), None);
    app.signin_raw(&plain_client(), &u.email, "another password")
        .await
        .error(400, Some("Invalid credentials"), None);
    let again = app.signin(&u.email, &u.password).await;
    assert_eq!(again.id, u.id);
}
