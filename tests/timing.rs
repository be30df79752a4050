//! Sign-in timings an attacker could read: an unknown email, and a password
//! over bcrypt's 72 bytes, each cost what a wrong password costs (a hash is
//! checked all the same), so timing tells nobody who has an account.
//!
//! These tests have a binary of their own: cargo runs one test binary at a
//! time, so no other test's server runs beside them. In the API binary the
//! other test thread's load starved the password hashes (which run at nice
//! 19) for hundreds of milliseconds, and failed CI with 656 ms against 18.

#[path = "api/client.rs"]
mod client;

use std::time::{Duration, Instant};

use client::{patient_client, unique_email, Api};
use tempfile::TempDir;
use ticketing::config::Settings;
use ticketing::{App, RunningApp};

/// A server with a cheap bcrypt cost (a hash is then ~20 ms in a debug
/// build), and room for every wrong guess the test makes.
async fn start() -> (RunningApp, TempDir, Api) {
    let dir = TempDir::new().expect("temp dir");
    let mut settings = Settings::for_tests(dir.path(), 600);
    settings.auth.bcrypt_cost = 8;
    settings.limits.failed_signins_per_email = 100;
    let app = App::start(settings).await.expect("server starts");
    let api = Api::new(format!("http://{}", app.addr()));
    (app, dir, api)
}

/// Failed signins with `a`'s and with `b`'s email and password, timed back
/// to back in eight rounds; the assertion fails when one of the two was
/// more than twice as fast as the other in more than half of the rounds.
///
/// Each round compares two requests made under the same conditions: a busy
/// machine slows both (the hashes run at nice 19 and may wait a second on
/// one), while a leak (one of the two skipping its hash) is lopsided in
/// every round. Rounds go a-b and b-a in turn: the server's two hashing
/// threads take jobs in turn, so a strict a-b alternation would send every
/// `a` to one thread and every `b` to the other.
async fn assert_alike(api: &Api, a: (&str, &str), b: (&str, &str), what: &str) {
    let mut rounds = Vec::new();
    for round in 0..8 {
        let mut took = [Duration::ZERO; 2];
        for first in [round % 2 == 0, round % 2 == 1] {
            let (email, password) = if first { a } else { b };
            let t = Instant::now();
            api.signin_raw(&patient_client(), email, password)
                .await
                .error(400, Some("Invalid credentials"), None);
            took[usize::from(!first)] = t.elapsed();
        }
        rounds.push(took);
    }
    let a_faster = rounds.iter().filter(|[ta, tb]| *ta * 2 < *tb).count();
    let b_faster = rounds.iter().filter(|[ta, tb]| *tb * 2 < *ta).count();
    assert!(
        a_faster <= 4 && b_faster <= 4,
        "{what}: one more than twice as fast as the other in most rounds: {rounds:?}"
    );
}

/// One test at a time, so that neither measures the other's hashes.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    ONE.lock().await
}

/// An unknown email costs the same time as a wrong password (a dummy hash
/// is checked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_email_costs_the_same_time_as_a_wrong_password() {
    let _alone = one_at_a_time().await;
    let (_app, _dir, api) = start().await;
    let u = api.signup().await;
    let unknown = unique_email();
    assert_alike(
        &api,
        (&u.email, "wrong password"),
        (&unknown, "wrong password"),
        "wrong password, unknown email",
    )
    .await;
}

/// A password longer than bcrypt's 72 bytes, which would pass as its first
/// 72, is refused after a hash like any wrong one, and the right password
/// still signs in after all those failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signin_with_a_password_over_72_bytes_is_invalid_credentials_after_a_hash() {
    let _alone = one_at_a_time().await;
    let (_app, _dir, api) = start().await;
    let email = unique_email();
    let password = "p".repeat(72);
    api.signup_as(&email, &password).await;
    for longer in [
        format!("{password}x"),
        format!("{password}{}", "y".repeat(1000)),
        format!("{password}é"),
    ] {
        api.signin_raw(&patient_client(), &email, &longer)
            .await
            .error(400, Some("Invalid credentials"), None);
    }
    let longer = format!("{password}EXTRA");
    assert_alike(
        &api,
        (&email, &longer),
        (&email, "wrong password"),
        "password over 72 bytes, wrong password",
    )
    .await;
    api.signin(&email, &password).await;
}
