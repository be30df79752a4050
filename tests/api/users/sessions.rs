//! Sessions: `currentuser` null without a valid one, signout clearing the
//! cookie and revoking that session only, and the `Secure` cookie setting.

use reqwest::Method;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn currentuser_is_null_without_a_valid_session() {
    let app = spawn_app().await;
    assert_eq!(app.current_user(Auth::None).await, Value::Null);
    let body = app
        .get("/api/users/currentuser", Auth::None)
        .await
        .json(200);
    assert_eq!(body, json!({"currentUser": null}));
    for junk in ["", "junk", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"] {
        assert_eq!(
            app.current_user(Auth::Token(junk)).await,
            Value::Null,
            "bearer {junk:?}"
        );
        assert_eq!(
            app.current_user(Auth::RawCookie(junk)).await,
            Value::Null,
            "cookie {junk:?}"
        );
    }
    let r = app
        .send(
            "GET currentuser with Basic auth".into(),
            app.http
                .get(app.url("/api/users/currentuser"))
                .header("authorization", "Basic dXNlcjpwYXNz"),
        )
        .await;
    assert_eq!(r.json(200), json!({"currentUser": null}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signout_clears_the_cookie_and_revokes_the_session() {
    let app = spawn_app().await;
    let u = app.signup().await;
    assert!(app.current_user(Auth::Cookie(&u)).await.is_object());

    let r = app
        .call(Method::POST, "/api/users/signout", Auth::Cookie(&u), None)
        .await;
    assert_eq!(r.json(200), json!({}));
    let (value, attrs) = session_cookie(&r).expect("signout sends a session cookie that clears it");
    let cleared = value.is_empty()
        || attrs.iter().any(|a| a.eq_ignore_ascii_case("Max-Age=0"))
        || attrs
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("expires=") && a.contains("1970"));
    assert!(
        cleared,
        "signout cookie does not clear the session: {value}; {attrs:?}"
    );

    // The browser forgets it...
    assert_eq!(app.current_user(Auth::Cookie(&u)).await, Value::Null);
    // ...and the server refuses the old token however it is presented.
    assert_eq!(app.current_user(Auth::Token(&u.token)).await, Value::Null);
    assert_eq!(
        app.current_user(Auth::RawCookie(&u.token)).await,
        Value::Null
    );
    for auth in [Auth::Token(&u.token), Auth::RawCookie(&u.token)] {
        app.post("/api/tickets", auth, json!({"title": "t", "price": 1}))
            .await
            .error(401, None, None);
        app.get("/api/orders", auth).await.error(401, None, None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signout_with_bearer_revokes_that_token() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let r = app
        .call(Method::POST, "/api/users/signout", Auth::Bearer(&u), None)
        .await;
    assert_eq!(r.json(200), json!({}));
    assert_eq!(app.current_user(Auth::Bearer(&u)).await, Value::Null);
    app.post(
        "/api/tickets",
        Auth::Bearer(&u),
        json!({"title": "t", "price": 1}),
    )
    .await
    .error(401, None, None);
    // The cookie carries the same session: revoked too.
    app.post(
        "/api/tickets",
        Auth::Cookie(&u),
        json!({"title": "t", "price": 1}),
    )
    .await
    .error(401, None, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signout_leaves_other_sessions_alone_and_signin_works_again() {
    let app = spawn_app().await;
    let a = app.signup().await;
    let b = app.signin(&a.email, &a.password).await;
    assert_ne!(a.token, b.token, "two sessions have two tokens");
    app.call(Method::POST, "/api/users/signout", Auth::Bearer(&a), None)
        .await
        .expect(200);
    assert_eq!(app.current_user(Auth::Bearer(&a)).await, Value::Null);
    assert_eq!(app.current_user(Auth::Bearer(&b)).await["id"], json!(a.id));
    app.post(
        "/api/tickets",
        Auth::Bearer(&b),
        json!({"title": "t", "price": 1}),
    )
    .await
    .expect(201);
    let c = app.signin(&a.email, &a.password).await;
    for mode in MODES {
        assert_eq!(app.current_user(mode.auth(&c)).await["id"], json!(a.id));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signout_without_a_session_is_200() {
    let app = spawn_app().await;
    let r = app
        .call(Method::POST, "/api/users/signout", Auth::None, None)
        .await;
    assert_eq!(r.json(200), json!({}));
    let r = app
        .call(
            Method::POST,
            "/api/users/signout",
            Auth::Token("garbage"),
            None,
        )
        .await;
    assert_eq!(r.json(200), json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookies_setting_marks_the_cookie_secure() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.server.secure_cookies = true).await;
    let r = app
        .signup_raw(&plain_client(), &unique_email(), "password123")
        .await;
    r.expect(201);
    let (_, attrs) = session_cookie(&r).expect("session cookie");
    assert!(has_attr(&attrs, "Secure"), "{attrs:?}");
    assert!(
        has_attr(&attrs, "HttpOnly") && has_attr(&attrs, "SameSite=Lax"),
        "{attrs:?}"
    );
}
