//! restart: start-up time and resident memory of the real binary over a
//! seeded data directory.

use std::time::{Duration, Instant};

use serde_json::{json, Map};

use crate::load::client::Conn;
use crate::load::stats::Recorder;
use crate::load::{LoadArgs, Report};

/// restart: seeds a temp dir with `--tickets` tickets, then starts the real
/// binary on it twice (a child process, so its memory is its own), timing
/// each start until it listens and reading its resident memory after one
/// GET.
pub async fn restart(args: &LoadArgs, base: &crate::config::Settings) -> Result<Report, String> {
    let dir = tempfile::Builder::new()
        .prefix("ticketing-restart-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let mut settings = crate::config::Settings::for_tests(dir.path(), base.orders.reservation_secs);
    settings.auth.bcrypt_cost = args.bcrypt_cost;
    let (seed, timing) = crate::load::seed::seed_dir(&settings, 1, args.tickets).await?;
    let probe = seed.tickets.last().cloned();
    drop(seed);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rec = Recorder::default();
    let mut extra = Map::new();
    extra.insert("tickets".into(), json!(args.tickets));
    extra.insert(
        "seed_s".into(),
        json!((timing.secs * 1000.0).round() / 1000.0),
    );
    extra.insert(
        "data_dir_mb".into(),
        json!(dir_size(dir.path()) as f64 / 1048576.0),
    );
    let start = Instant::now();
    for round in ["first_start", "restart"] {
        // sled may hold the seeding handle's lock a moment: retry (bounded).
        let mut tries = 0;
        let (secs, rss, out) = loop {
            match start_child(&exe, dir.path(), probe.as_deref()).await {
                Err(e) if tries < 20 && e.contains("exited before") => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                other => break other?,
            }
        };
        if let Some(out) = &out {
            rec.record(out, out.status == 200);
        }
        extra.insert(
            format!("{round}_s"),
            json!((secs * 1000.0).round() / 1000.0),
        );
        extra.insert(
            format!("{round}_rss_mb"),
            json!((rss * 10.0).round() / 10.0),
        );
    }
    Ok(Report {
        rec,
        elapsed: start.elapsed(),
        oversold: None,
        extra,
        series: Vec::new(),
        rates: Vec::new(),
        failed: false,
    })
}

/// Starts `exe serve` on `dir`, waits for its listening line (bounded),
/// GETs `probe`, reads VmRSS, stops it with SIGTERM. Returns (seconds to
/// listen, RSS in MiB, the probe's outcome).
async fn start_child(
    exe: &std::path::Path,
    dir: &std::path::Path,
    probe: Option<&str>,
) -> Result<(f64, f64, Option<crate::load::client::Outcome>), String> {
    use tokio::io::AsyncBufReadExt;
    let t = Instant::now();
    let mut child = tokio::process::Command::new(exe)
        .arg("serve")
        .env("TICKETING_STORAGE__PATH", dir)
        .env("TICKETING_SERVER__ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", exe.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(600), lines.next_line())
        .await
        .map_err(|_| "the server did not start within 600 s".to_owned())?
        .map_err(|e| e.to_string())?
        .ok_or("the server exited before listening")?;
    let secs = t.elapsed().as_secs_f64();
    let addr = line
        .rsplit("http://")
        .next()
        .and_then(|a| a.trim().parse().ok())
        .ok_or_else(|| format!("unexpected first line: {line}"))?;
    let out = match probe {
        Some(id) => Some(
            Conn::new(addr)
                .get(&format!("/api/tickets/{id}"), None)
                .await,
        ),
        None => None,
    };
    let pid = child.id().ok_or("the server exited")?;
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0);
    // SAFETY: kill(2) with a pid we spawned and still own; no memory involved.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let _ = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    Ok((secs, rss, out))
}

fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
