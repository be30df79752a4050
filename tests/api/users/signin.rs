//! `POST /api/users/signin`: the 200 with a working cookie and token, every
//! failure the same `Invalid credentials`, and invalid input a 400. (That
//! failures cost the same time too is tested in `tests/timing.rs`.)

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_returns_200_with_a_working_cookie_and_token() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let jar = cookie_client();
    let r = app.signin_raw(&jar, &u.email, &u.password).await;
    let body = r.json(200);
    assert_eq!(body["id"], json!(u.id));
    assert_eq!(body["email"], json!(u.email));
    let token = body["token"].as_str().expect("token").to_string();
    let (value, attrs) = session_cookie(&r).expect("signin sets the session cookie");
    assert_eq!(value, token);
    assert!(
        has_attr(&attrs, "HttpOnly")
            && has_attr(&attrs, "SameSite=Lax")
            && has_attr(&attrs, "Path=/")
    );
    let s = User {
        token,
        jar,
        ..u.clone()
    };
    for mode in MODES {
        assert_eq!(
            app.current_user(mode.auth(&s)).await["id"],
            json!(u.id),
            "{mode:?}"
        );
        app.post(
            "/api/tickets",
            mode.auth(&s),
            json!({"title": "t", "price": 1}),
        )
        .await
        .expect(201);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_failures_are_invalid_credentials_alike() {
    let app = spawn_app().await;
    let u = app.signup().await;
    let wrong = app
        .signin_raw(&plain_client(), &u.email, "wrong password")
        .await;
    wrong.error(400, Some("Invalid credentials"), None);
    assert!(
        session_cookie(&wrong).is_none(),
        "failed signin sets a session cookie"
    );
    let unknown = app
        .signin_raw(&plain_client(), &unique_email(), "wrong password")
        .await;
    unknown.error(400, Some("Invalid credentials"), None);
    assert_eq!(
        wrong.body, unknown.body,
        "responses reveal nothing about accounts"
    );
    assert!(session_cookie(&unknown).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_with_invalid_input_is_400() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for body in [
        json!({"email": u.email}),
        json!({"password": u.password}),
        json!({}),
        json!({"email": 1, "password": u.password}),
        json!({"email": u.email, "password": null}),
        json!({"email": "not an email", "password": u.password}),
    ] {
        app.post("/api/users/signin", Auth::None, body)
            .await
            .error(400, None, None);
    }
}
