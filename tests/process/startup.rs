//! Starting the binary: an invalid setting makes it exit non-zero, with the
//! reason on stderr, without ever listening.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::child::tail;
use crate::dirs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_setting_exits_non_zero_without_listening() {
    let (data, logs) = dirs();
    let stdout_path = logs.path().join("stdout.log");
    let stderr_path = logs.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ticketing"))
        .current_dir(logs.path())
        .env("TICKETING_SERVER__ADDR", "127.0.0.1:0")
        .env("TICKETING_STORAGE__PATH", data.path())
        .env("TICKETING_AUTH__BCRYPT_COST", "3")
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(&stdout_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&stderr_path).unwrap()))
        .spawn()
        .expect("run ticketing");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("bcrypt cost 3 must be refused at start, but the server kept running");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "bcrypt cost 3 must be refused");
    let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    assert!(!out.contains("listening"), "it must not listen: {out}");
    assert!(
        !tail(&stderr_path).trim().is_empty(),
        "the reason is given on stderr"
    );
}
