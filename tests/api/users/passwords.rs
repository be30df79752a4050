//! Passwords: 8 to 72 bytes, compared whole (NUL bytes and all), never
//! trimmed, blank ones refused. (One over 72 bytes refused at signin after
//! a hash is timed in `tests/timing.rs`.)

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_must_be_8_to_72_bytes() {
    let app = spawn_app().await;
    let refused = [
        String::new(),
        "a".repeat(7),
        "a".repeat(73),
        "a".repeat(1000),
        // 37 two-byte characters: 37 chars, 74 bytes.
        "é".repeat(37),
        // 25 three-byte characters: 25 chars, 75 bytes.
        "€".repeat(25),
        // 71 ASCII + one 2-byte character: 72 chars, 73 bytes.
        format!("{}é", "a".repeat(71)),
    ];
    for pw in refused {
        app.signup_raw(&plain_client(), &unique_email(), &pw)
            .await
            .error(400, None, Some("password"));
    }
    let accepted = [
        "a".repeat(8),
        "a".repeat(72),
        // 36 two-byte characters: 72 bytes.
        "é".repeat(36),
        // 4 characters but 8 bytes.
        "éééé".to_string(),
        // 3 characters, 9 bytes.
        "€€€".to_string(),
        // 24 four-byte characters: 96 bytes would be too long; 18 are 72 bytes.
        "😀".repeat(18),
    ];
    for pw in accepted {
        let email = unique_email();
        let u = app.signup_as(&email, &pw).await;
        // The whole password counts: signin with a truncated one fails.
        let truncated: String = pw.chars().take(pw.chars().count() - 1).collect();
        app.signin_raw(&plain_client(), &email, &truncated)
            .await
            .error(400, None, None);
        let again = app.signin(&email, &pw).await;
        assert_eq!(again.id, u.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_compared_whole_even_with_nul_bytes() {
    let app = spawn_app().await;
    let email = unique_email();
    let r = app
        .signup_raw(&plain_client(), &email, "passw0rd\u{0}first")
        .await;
    match r.status {
        201 => {
            app.signin_raw(&plain_client(), &email, "passw0rd\u{0}other")
                .await
                .error(400, Some("Invalid credentials"), None);
            app.signin_raw(&plain_client(), &email, "passw0rd")
                .await
                .error(400, None, None);
            app.signin(&email, "passw0rd\u{0}first").await;
        }
        400 => {
            r.error(400, None, Some("password"));
        }
        s => panic!("unexpected {s}: {}", r.text),
    }
}

/// A password of whitespace only is refused at signup (it used to be
/// accepted there and refused at every signin); signin takes passwords as
/// written, as signup does: nothing is trimmed at either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blank_passwords_are_refused_at_signup_and_passwords_are_never_trimmed() {
    let app = spawn_app().await;
    for blank in [
        " ".repeat(8),
        " ".repeat(72),
        "\t\t\t\t\n\n\n\n".to_string(),
        "\u{3000}\u{3000}\u{3000}".to_string(),
    ] {
        let email = unique_email();
        app.signup_raw(&plain_client(), &email, &blank)
            .await
            .error(400, None, Some("password"));
        app.signin_raw(&patient_client(), &email, &blank)
            .await
            .error(400, Some("Invalid credentials"), None);
    }
    let email = unique_email();
    let password = "  pass word  ";
    app.signup_as(&email, password).await;
    for other in ["pass word", "  pass word", "pass word  ", &" ".repeat(13)] {
        app.signin_raw(&patient_client(), &email, other)
            .await
            .error(400, Some("Invalid credentials"), None);
    }
    app.signin(&email, password).await;
    // A missing or empty password is still a missing one.
    for body in [
        json!({"email": email}),
        json!({"email": email, "password": ""}),
    ] {
        app.post("/api/users/signin", Auth::None, body).await.error(
            400,
            Some("You must supply a password"),
            Some("password"),
        );
    }
}
