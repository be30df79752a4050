//! The chromedriver child process each browser test starts on a free port
//! (and kills, with anything it left behind, when the test ends); part of
//! the browser-test harness.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{target_dir, CHROMEDRIVER, CHROMIUM, WAIT};

// ------------------------------------------------------------ chromedriver

/// A chromedriver child process on its own port, killed on drop.
pub struct Chromedriver {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it accepts
    /// connections. Panics with a clear message when Chromium or chromedriver
    /// is not installed: these tests must not pass by skipping.
    pub async fn start(test: &str) -> Chromedriver {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(path).exists(),
                "browser tests need {path}, which is missing: install it with \
                 `apt-get install -y chromium chromium-driver` (.ci/run does) [package {package}]"
            );
        }
        let logs = target_dir().join("browser-logs");
        std::fs::create_dir_all(&logs).expect("create target/browser-logs");
        let mut last_error = String::new();
        // A port picked here could be taken before chromedriver binds it: retry.
        for _attempt in 0..5 {
            let port = free_port();
            let log = std::fs::File::create(logs.join(format!("{test}-chromedriver.log")))
                .expect("chromedriver log file");
            let mut cmd = Command::new(CHROMEDRIVER);
            cmd.arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone log file"))
                .stderr(log);
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {CHROMEDRIVER}: {e}"));
            let mut driver = Chromedriver {
                child,
                url: format!("http://127.0.0.1:{port}"),
            };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let deadline = Instant::now() + WAIT;
            loop {
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return driver;
                }
                if let Ok(Some(status)) = driver.child.try_wait() {
                    last_error = format!("chromedriver exited with {status} (port {port} taken?)");
                    break;
                }
                if Instant::now() > deadline {
                    last_error = format!("chromedriver did not listen on {port} within {WAIT:?}");
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            drop(driver);
        }
        panic!("could not start chromedriver: {last_error} (see target/browser-logs/{test}-chromedriver.log)");
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // chromedriver was started as the leader of its own process group:
        // end the group (anything it left behind), then reap the child.
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}
