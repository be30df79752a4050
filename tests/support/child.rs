//! The `ticketing` binary as a child process, shared by the process and
//! torture tests: start it on a data directory, wait for its one listening
//! line, signal it, kill it, reap it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::client::Api;

/// A running `ticketing` child process.
pub struct Server {
    pub child: Child,
    pub api: Api,
    lines: mpsc::Receiver<String>,
    /// When it printed its listening line.
    pub started: time::OffsetDateTime,
    pub stderr_path: PathBuf,
}

pub fn tail(path: &Path) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let start = s.len().saturating_sub(4000);
    s[s.char_indices()
        .map(|(i, _)| i)
        .find(|&i| i >= start)
        .unwrap_or(0)..]
        .to_string()
}

/// Starts the binary on `data` with a hold window of `reservation_secs`
/// (`extra` env vars on top), and waits for its one stdout line.
pub fn spawn_server(
    data: &Path,
    logs: &Path,
    reservation_secs: u64,
    extra: &[(&str, &str)],
) -> Server {
    let n = std::fs::read_dir(logs).map(|d| d.count()).unwrap_or(0);
    let stderr_path = logs.join(format!("stderr-{n}.log"));
    let stderr = std::fs::File::create(&stderr_path).expect("stderr log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ticketing"));
    for (k, _) in std::env::vars() {
        if k.starts_with("TICKETING_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(logs)
        .env("TICKETING_SERVER__ADDR", "127.0.0.1:0")
        .env("TICKETING_STORAGE__PATH", data)
        .env("TICKETING_AUTH__BCRYPT_COST", "4")
        .env(
            "TICKETING_ORDERS__RESERVATION_SECS",
            reservation_secs.to_string(),
        )
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr));
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn ticketing");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if tx.send(l).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    let line = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(l) => l,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no listening line on stdout within 30 s ({e}); stderr:\n{}",
                tail(&stderr_path)
            );
        }
    };
    let started = time::OffsetDateTime::now_utc();
    let base = line
        .strip_prefix("ticketing listening on ")
        .unwrap_or_else(|| panic!("unexpected first stdout line: {line:?}"))
        .to_string();
    let port: u16 = base
        .strip_prefix("http://127.0.0.1:")
        .unwrap_or_else(|| panic!("not an http://127.0.0.1:PORT address: {line:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("bad port in {line:?}"));
    assert_ne!(port, 0, "the printed port is the bound one");
    Server {
        child,
        api: Api::new(base),
        lines: rx,
        started,
        stderr_path,
    }
}

impl Server {
    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([sig, &self.pid()])
            .status()
            .expect("run kill");
        assert!(st.success(), "kill {sig} failed");
    }

    /// SIGKILL, and reap.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait after SIGKILL");
    }

    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "server did not exit within {within:?}; stderr:\n{}",
                    tail(&self.stderr_path)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Lines printed to stdout after the listening line (call after exit).
    pub fn extra_stdout_lines(&self) -> Vec<String> {
        std::thread::sleep(Duration::from_millis(100));
        self.lines.try_iter().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
