//! The load generator behind `ticketing load` and `ticketing seed`: the
//! flash sale this server exists for, and the other workloads it must
//! survive, driven over real HTTP and WebSocket on loopback, measured with
//! HDR histograms, and compared with the stack's own ceiling (`--baseline`).
//!
//! - [`args`]: the command lines of `load` and `seed`.
//! - [`target`]: the server under load, remote (loopback only) or embedded.
//! - [`client`]: one cheap keep-alive HTTP/1.1 connection per worker.
//! - [`seed`]: users, tickets and pre-minted tokens written straight into a
//!   data directory, so bcrypt does not dominate other scenarios.
//! - [`scenarios`]: flash-sale, event and onsale (each with its audit), browse,
//!   reserve, live, signup, restart.
//! - [`baseline`]: the smallest warp route, served in-process.
//! - [`stats`]: the latency histograms and error counts workers record.
//! - [`steal`]: the CPU time the host took from this machine during a run.
//! - [`report`]: the summary table, the JSON line and the chart file, drawn
//!   by [`plot`].
//!
//! Load goes only to loopback: a `--target` that is not 127.0.0.0/8 or ::1
//! is refused. Every loop is bounded by `--duration` and `--requests`.

pub mod args;
pub mod baseline;
pub mod client;
pub mod plot;
pub mod report;
pub mod scenarios;
pub mod seed;
pub mod stats;
pub mod steal;
pub mod target;

use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::config::Settings;
use args::default_signups;
pub use args::{LoadArgs, Scenario, SeedArgs};
use report::finish;
pub use report::Report;
use target::{embedded, remote};
pub use target::{loopback_addr, Target};

/// The share of the CPUs' time the host may steal during a run before the
/// run is flagged as measuring the host.
const NOISY_HOST: f64 = 0.05;

/// The request budget shared by a phase's workers: a deadline and a count.
pub struct Budget {
    deadline: Instant,
    remaining: AtomicI64,
}

impl Budget {
    /// At most `requests` (unbounded when `None`) until `duration` passes.
    pub fn new(duration: Duration, requests: Option<u64>) -> Arc<Self> {
        Arc::new(Budget {
            deadline: Instant::now() + duration,
            remaining: AtomicI64::new(requests.map_or(i64::MAX, |r| r.min(i64::MAX as u64) as i64)),
        })
    }

    /// Whether one more request may go (and counts it).
    pub fn take(&self) -> bool {
        Instant::now() < self.deadline && self.remaining.fetch_sub(1, Ordering::Relaxed) > 0
    }

    /// Whether time is up.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// When time is up.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// Runs `ticketing load`.
pub async fn run_load(args: LoadArgs, settings: Settings) -> ExitCode {
    match run(args, settings).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ticketing load: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: LoadArgs, settings: Settings) -> Result<ExitCode, String> {
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    if !(args.duration > 0.0 && args.duration <= 3600.0) {
        return Err("--duration must be between 0 and 3600 seconds".into());
    }
    let steal = steal::shared();
    let started = Instant::now();
    if args.scenario == Scenario::Restart {
        if !args.embedded {
            return Err("restart seeds and starts its own server: use --embedded".into());
        }
        let mut report = scenarios::restart(&args, &settings).await?;
        note_steal(&mut report, steal, started);
        return finish(&args, report, None);
    }
    let mut target = match (&args.target, args.embedded) {
        (Some(url), false) => remote(url, &args).await?,
        (None, true) => embedded(&args, &settings).await?,
        _ => return Err("give --target URL (loopback) or --embedded".into()),
    };
    let started = Instant::now();
    let mut report = match args.scenario {
        Scenario::FlashSale => scenarios::flash_sale(&args, &target).await?,
        Scenario::Browse => scenarios::browse(&args, &target).await?,
        Scenario::Reserve => scenarios::reserve(&args, &target).await?,
        Scenario::Live => scenarios::live(&args, &target).await?,
        Scenario::Signup => scenarios::signup(&args, &target).await?,
        Scenario::Event => scenarios::event(&args, &target).await?,
        Scenario::Onsale => scenarios::onsale(&args, &target).await?,
        Scenario::Restart => unreachable!("handled above"),
    };
    note_steal(&mut report, steal, started);
    let baseline = if args.baseline {
        let server = baseline::Baseline::start()?;
        let secs = report
            .elapsed
            .as_secs_f64()
            .clamp(2.0, args.duration.max(2.0));
        let budget = Budget::new(Duration::from_secs_f64(secs), args.requests);
        let workers = match args.scenario {
            Scenario::Signup => args.signup_concurrency.unwrap_or_else(default_signups),
            _ => args.concurrency,
        };
        Some(server.run(workers, budget).await)
    } else {
        None
    };
    if let Some(app) = target.app.take() {
        app.shutdown().await;
    }
    drop(target.dir.take());
    finish(&args, report, baseline)
}

/// Adds to `report` the CPU time the host stole from `started` until now,
/// and warns when it was over [`NOISY_HOST`] of the CPUs' time.
fn note_steal(report: &mut Report, steal: Option<&steal::Steal>, started: Instant) {
    let Some(steal) = steal else { return };
    let ended = Instant::now();
    let ms = steal.stolen(started, ended).as_secs_f64() * 1000.0;
    let share = steal.share(started, ended);
    report
        .extra
        .insert("host_steal_ms".into(), json!(ms.round()));
    report.extra.insert(
        "host_steal_pct".into(),
        json!((share * 1000.0).round() / 10.0),
    );
    if share > NOISY_HOST {
        eprintln!(
            "ticketing load: the host took {:.1}% of this machine's CPU time during the run; \
             its figures say more about the host than the server",
            share * 100.0
        );
    }
}

/// Cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Runs `ticketing seed`.
pub async fn run_seed(args: SeedArgs, mut settings: Settings) -> ExitCode {
    if let Some(dir) = &args.data {
        settings.storage.path = dir.clone();
    }
    match seed::seed_dir(&settings, args.users, args.tickets).await {
        Ok((file, timing)) => {
            let text = match serde_json::to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("ticketing seed: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if let Err(e) = std::fs::write(&args.out, text) {
                eprintln!("ticketing seed: cannot write {}: {e}", args.out.display());
                return ExitCode::FAILURE;
            }
            println!(
                "seeded {} users and {} tickets into {} in {:.2} s; tokens in {}",
                file.users.len(),
                file.tickets.len(),
                settings.storage.path.display(),
                timing.secs,
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ticketing seed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A progress bar on stderr when it is a terminal (hidden otherwise), as
/// long as `len` steps.
pub fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>12} [{elapsed_precise}] {wide_bar} {pos}/{len} ({per_sec})",
    ) {
        pb.set_style(style);
    }
    pb.set_message(what.to_owned());
    pb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_stops_at_its_count() {
        let b = Budget::new(Duration::from_secs(60), Some(2));
        assert!(b.take());
        assert!(b.take());
        assert!(!b.take());
    }
}
