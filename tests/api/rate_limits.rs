//! Rate limits on authentication: failed signins per email, and signins plus
//! signups per client address; 429 with `Retry-After`.

use serde_json::json;

use crate::helpers::*;

#[track_caller]
fn assert_429(r: &Resp) {
    r.error(429, None, None);
    let ra = r
        .header("retry-after")
        .unwrap_or_else(|| panic!("{}: 429 without Retry-After", r.what));
    let secs: u64 = ra
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{}: Retry-After is not delta-seconds: {ra:?}", r.what));
    assert!(
        (1..=60).contains(&secs),
        "{}: Retry-After {secs} outside 1..=60",
        r.what
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fourth_failed_signin_for_an_email_is_429() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.limits.failed_signins_per_email = 3).await;
    let u = app.signup().await;
    let variants = [
        u.email.clone(),
        u.email.to_ascii_uppercase(),
        format!("  {}  ", u.email),
    ];
    for v in &variants {
        app.signin_raw(&plain_client(), v, "wrong password")
            .await
            .error(400, Some("Invalid credentials"), None);
    }
    let r = app
        .signin_raw(&plain_client(), &u.email, "wrong password")
        .await;
    assert_429(&r);
    let r = app
        .signin_raw(
            &plain_client(),
            &u.email.to_ascii_uppercase(),
            "wrong password",
        )
        .await;
    assert_429(&r);
    // Another account is not affected, nor is a session already open.
    let other = app.signup().await;
    app.signin(&other.email, &other.password).await;
    assert_eq!(app.current_user(Auth::Bearer(&u)).await["id"], json!(u.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_email_refuses_even_the_right_password() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.limits.failed_signins_per_email = 3).await;
    let u = app.signup().await;
    for _ in 0..4 {
        app.signin_raw(&plain_client(), &u.email, "wrong password")
            .await;
    }
    let r = app.signin_raw(&plain_client(), &u.email, &u.password).await;
    assert_429(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_emails_are_limited_like_known_ones() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.limits.failed_signins_per_email = 3).await;
    let ghost = unique_email();
    for _ in 0..3 {
        app.signin_raw(&plain_client(), &ghost, "wrong password")
            .await
            .error(400, Some("Invalid credentials"), None);
    }
    assert_429(
        &app.signin_raw(&plain_client(), &ghost, "wrong password")
            .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_requests_per_address_are_limited() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.limits.auth_per_addr = 5).await;
    let first = app.signup().await;
    for _ in 0..3 {
        app.signup().await;
    }
    app.signin(&first.email, &first.password).await;
    // Five auth requests done: the sixth, signup or signin, is refused.
    let r = app
        .signup_raw(&plain_client(), &unique_email(), "password123")
        .await;
    assert_429(&r);
    let r = app
        .signin_raw(&plain_client(), &first.email, &first.password)
        .await;
    assert_429(&r);
    // Other routes are not limited, and open sessions keep working.
    app.get("/api/tickets", Auth::None).await.expect(200);
    app.post(
        "/api/tickets",
        Auth::Bearer(&first),
        json!({"title": "Still", "price": 1}),
    )
    .await
    .expect(201);
    assert_eq!(
        app.current_user(Auth::Bearer(&first)).await["id"],
        json!(first.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_signups_count_against_the_address() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.limits.auth_per_addr = 3).await;
    for _ in 0..3 {
        app.signup_raw(&plain_client(), "not-an-email", "password123")
            .await
            .error(400, None, Some("email"));
    }
    assert_429(
        &app.signup_raw(&plain_client(), &unique_email(), "password123")
            .await,
    );
}

/// The address limit keys on the connection's address: a client cannot
/// escape it by sending a made-up `X-Forwarded-For` on every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spoofed_forwarded_for_does_not_escape_the_address_limit() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.limits.auth_per_addr = 3).await;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let rb = app
            .http
            .post(app.url("/api/users/signup"))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .header("forwarded", format!("for=203.0.113.{i}"))
            .header("x-real-ip", format!("203.0.113.{i}"))
            .json(&json!({"email": unique_email(), "password": "password123"}));
        statuses.push(
            app.send(format!("signup {i} with spoofed XFF"), rb)
                .await
                .status,
        );
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
}

/// Behind a trusted proxy, each client address the proxy appends is limited
/// on its own, and what the client itself put before it does not count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_appended_address_is_limited() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| {
        s.limits.auth_per_addr = 2;
        s.limits.trust_forwarded_for = true;
    })
    .await;
    let mut statuses = Vec::new();
    for (forged, client) in [
        ("1.1.1.1", "203.0.113.7"),
        ("2.2.2.2", "203.0.113.7"),
        ("3.3.3.3", "203.0.113.7"),
        ("1.1.1.1", "203.0.113.8"),
    ] {
        let rb = app
            .http
            .post(app.url("/api/users/signup"))
            .header("x-forwarded-for", format!("{forged}, {client}"))
            .json(&json!({"email": unique_email(), "password": "password123"}));
        statuses.push(
            app.send(format!("signup via proxy for {client}"), rb)
                .await
                .status,
        );
    }
    assert_eq!(statuses, [201, 201, 429, 201]);
}

/// Guesses sent all at once must not slip past the per-email limit: of 20
/// concurrent wrong-password signins, at most `failed_signins_per_email`
/// get to try a password (400); the others are 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_guesses_cannot_exceed_the_failed_signin_limit() {
    let app = spawn_app_with(LONG_HOLD_SECS, |s| s.limits.failed_signins_per_email = 3).await;
    let u = app.signup().await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let mut set = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (api, email, barrier) = (app.api.clone(), u.email.clone(), barrier.clone());
        set.spawn(async move {
            barrier.wait().await;
            api.signin_raw(&plain_client(), &email, &format!("guess number {i}"))
                .await
        });
    }
    let (mut tried, mut limited) = (0, 0);
    while let Some(r) = set.join_next().await {
        let r = r.unwrap();
        match r.status {
            400 => {
                r.error(400, Some("Invalid credentials"), None);
                tried += 1;
            }
            429 => {
                assert_429(&r);
                limited += 1;
            }
            s => panic!("unexpected {s}: {}", r.text),
        }
    }
    assert!(
        tried <= 3,
        "{tried} password guesses were checked (limit 3), {limited} refused with 429"
    );
}
