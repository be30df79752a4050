//! Session tokens: forged, altered, wrongly signed, `alg: none`, expired.
//! An invalid token is no token: 401 on protected routes, `currentUser: null`.

use serde_json::{json, Value};
use ticketing::domain::Timestamp;

use crate::helpers::*;

const SECRET: &str = "integration-test-secret-0123456789abcdef";

async fn app_with_known_secret() -> TestApp {
    spawn_app_with(LONG_HOLD_SECS, |s| s.auth.jwt_secret = SECRET.to_string()).await
}

/// Asserts that `token` does not authenticate, as Bearer and as cookie.
async fn assert_refused(app: &Api, token: &str, what: &str) {
    for auth in [Auth::Token(token), Auth::RawCookie(token)] {
        let cu = app.get("/api/users/currentuser", auth).await;
        assert_eq!(cu.status, 200, "{what}: currentuser status");
        assert_eq!(
            cu.body,
            json!({"currentUser": null}),
            "{what}: currentuser accepted the token"
        );
        let r = app
            .post("/api/tickets", auth, json!({"title": "forged", "price": 1}))
            .await;
        assert_eq!(
            r.status, 401,
            "{what}: POST /api/tickets got {} {}",
            r.status, r.text
        );
        r.error(401, None, None);
        app.get("/api/orders", auth).await.error(401, None, None);
    }
}

async fn assert_accepted(app: &Api, token: &str, user: &User, what: &str) {
    let cu = app.current_user(Auth::Token(token)).await;
    assert_eq!(cu["id"], json!(user.id), "{what}: token refused");
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_hs256_jwts_with_an_expiry_signed_with_the_configured_secret() {
    let app = app_with_known_secret().await;
    let u = app.signup().await;
    let (header, claims) = jwt_decode(&u.token);
    assert_eq!(header["alg"], json!("HS256"), "{header}");
    let exp = claims["exp"]
        .as_i64()
        .unwrap_or_else(|| panic!("no numeric exp claim: {claims}"));
    let lifetime = exp - now();
    assert!(
        (86_400 - 60..=86_400 + 60).contains(&lifetime),
        "default lifetime is 24 h, got {lifetime} s"
    );
    let (h, p, s) = jwt_parts(&u.token);
    let expected = b64url(&hmac_sha256(
        SECRET.as_bytes(),
        format!("{h}.{p}").as_bytes(),
    ));
    assert_eq!(
        s, expected,
        "the token is signed with HMAC-SHA256 of auth.jwt_secret"
    );
    // Control for the forgeries below: the same claims re-encoded and signed
    // with the right key are accepted, so a refusal means the check works.
    let resigned = jwt_sign(&header, &claims, SECRET.as_bytes());
    assert_accepted(&app, &resigned, &u, "re-signed copy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_tokens_are_refused() {
    let app = app_with_known_secret().await;
    let u = app.signup().await;
    let (_, p, s) = jwt_parts(&u.token);
    for alg in ["none", "None", "NONE", "nOnE"] {
        let h = b64url(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
        assert_refused(&app, &format!("{h}.{p}."), &format!("alg {alg} unsigned")).await;
        assert_refused(
            &app,
            &format!("{h}.{p}.{s}"),
            &format!("alg {alg} with signature"),
        )
        .await;
    }
    let h = b64url(br#"{"typ":"JWT"}"#);
    assert_refused(&app, &format!("{h}.{p}."), "no alg").await;
    // The real token still works.
    assert_accepted(&app, &u.token, &u, "original").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_algorithms_are_refused() {
    let app = app_with_known_secret().await;
    let u = app.signup().await;
    let (header, claims) = jwt_decode(&u.token);
    for alg in ["HS384", "HS512", "RS256", "ES256", "PS256", "EdDSA"] {
        let mut h = header.clone();
        h["alg"] = json!(alg);
        // HMAC-SHA256 with the right key, under another alg's name.
        assert_refused(&app, &jwt_sign(&h, &claims, SECRET.as_bytes()), alg).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_or_wrongly_signed_tokens_are_refused() {
    let app = app_with_known_secret().await;
    let u = app.signup().await;
    let victim = app.signup().await;
    let (h, p, s) = jwt_parts(&u.token);
    let (header, claims) = jwt_decode(&u.token);

    // Altered claims, original signature.
    let mut altered = claims.clone();
    let obj = altered.as_object_mut().unwrap();
    let mut changed_identity = false;
    for v in obj.values_mut() {
        if v.as_str() == Some(u.id.as_str()) {
            *v = json!(victim.id);
            changed_identity = true;
        }
    }
    if !changed_identity {
        obj.insert("sub".into(), json!(victim.id));
    }
    let p2 = b64url(altered.to_string().as_bytes());
    assert_refused(
        &app,
        &format!("{h}.{p2}.{s}"),
        "claims pointing at another user",
    )
    .await;
    let mut longer = claims.clone();
    longer["exp"] = json!(claims["exp"].as_i64().unwrap_or(now()) + 365 * 86_400);
    let p3 = b64url(longer.to_string().as_bytes());
    assert_refused(&app, &format!("{h}.{p3}.{s}"), "extended exp").await;

    // Signature tampering.
    let mut sig = b64url_decode(&s);
    sig[0] ^= 1;
    assert_refused(
        &app,
        &format!("{h}.{p}.{}", b64url(&sig)),
        "flipped signature bit",
    )
    .await;
    assert_refused(&app, &format!("{h}.{p}."), "stripped signature").await;
    assert_refused(&app, &format!("{h}.{p}"), "two segments").await;
    assert_refused(&app, &format!("{h}.{p}.{s}.{s}"), "four segments").await;
    assert_refused(
        &app,
        &format!("{}.{p}.{s}", b64url(b"{}")),
        "header replaced",
    )
    .await;

    // A well-formed token signed with another key.
    for key in ["wrong-secret", "", SECRET.trim_end_matches('f')] {
        assert_refused(
            &app,
            &jwt_sign(&header, &claims, key.as_bytes()),
            &format!("key {key:?}"),
        )
        .await;
    }
    assert_accepted(&app, &u.token, &u, "original").await;
    assert_eq!(
        app.current_user(Auth::Bearer(&victim)).await["id"],
        json!(victim.id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_or_expiry_less_tokens_are_refused_even_when_correctly_signed() {
    let app = app_with_known_secret().await;
    let u = app.signup().await;
    let (header, claims) = jwt_decode(&u.token);
    for (what, exp) in [
        ("expired an hour ago", Some(now() - 3600)),
        ("expired 5 s ago", Some(now() - 5)),
        ("no exp", None),
    ] {
        let mut c = claims.clone();
        match exp {
            Some(e) => c["exp"] = json!(e),
            None => {
                c.as_object_mut().unwrap().remove("exp");
            }
        }
        assert_refused(&app, &jwt_sign(&header, &c, SECRET.as_bytes()), what).await;
    }
}

/// A token lives `session_secs` on the server's clock: its `exp` second
/// included, refused from the next one (leeway 0), whether it was used
/// before (and cached) or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expires_after_session_secs() {
    let app = spawn_app_on_manual_clock(LONG_HOLD_SECS, |s| s.auth.session_secs = HOLD_SECS).await;
    let u = app.signup().await;
    let unused = app.signin(&u.email, &u.password).await;
    let issued = app.clock().now();
    let (_, claims) = jwt_decode(&u.token);
    assert_eq!(claims["iat"], json!(issued.0 / 1000), "{claims}");
    let exp = issued.0 / 1000 + HOLD_SECS as i64;
    assert_eq!(claims["exp"], json!(exp), "{claims}");
    assert_accepted(&app, &u.token, &u, "fresh token").await;
    // The last millisecond of the `exp` second.
    app.clock().set(Timestamp(exp * 1000 + 999));
    assert_accepted(&app, &u.token, &u, "token in its exp second").await;
    app.clock().set(Timestamp((exp + 1) * 1000));
    assert_refused(&app, &u.token, "token past session_secs").await;
    assert_refused(&app, &unused.token, "unused token past session_secs").await;
    assert_eq!(app.current_user(Auth::Cookie(&u)).await, Value::Null);
    // Signing in again gives a working session.
    let again = app.signin(&u.email, &u.password).await;
    assert_accepted(&app, &again.token, &u, "new session").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_authorization_headers_are_no_session() {
    let app = spawn_app().await;
    let u = app.signup().await;
    for header in [
        "Bearer".to_string(),
        "Bearer ".to_string(),
        format!("Bearer {}x", u.token),
        format!("Bearer x{}", u.token),
        format!("Token {}", u.token),
        format!("Basic {}", u.token),
        format!("Bearer {}", "A".repeat(8000)),
    ] {
        let rb = app
            .http
            .get(app.url("/api/users/currentuser"))
            .header("authorization", header.as_str());
        let r = app
            .send(format!("currentuser with {:.30}", header), rb)
            .await;
        assert_eq!(r.json(200), json!({"currentUser": null}), "{header:.40}");
        let rb = app
            .http
            .post(app.url("/api/tickets"))
            .header("authorization", header.as_str())
            .json(&json!({"title": "x", "price": 1}));
        app.send(format!("POST ticket with {:.30}", header), rb)
            .await
            .error(401, None, None);
    }
    assert!(app.all_tickets().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_another_server_is_refused() {
    let a = spawn_app().await;
    let b = spawn_app().await;
    let u = a.signup().await;
    assert_refused(
        &b,
        &u.token,
        "token of another server (own generated secret)",
    )
    .await;
    assert_accepted(&a, &u.token, &u, "own server").await;
}
