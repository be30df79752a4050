//! The load generator behind `ticketing load` and `ticketing seed`: the
//! flash sale this server exists for, and the other workloads it must
//! survive, driven over real HTTP and WebSocket on loopback, measured with
//! HDR histograms, and compared with the stack's own ceiling (`--baseline`).
//!
//! - [`client`]: one cheap keep-alive HTTP/1.1 connection per worker.
//! - [`seed`]: users, tickets and pre-minted tokens written straight into a
//!   data directory, so bcrypt does not dominate other scenarios.
//! - [`scenarios`]: flash-sale (with its audit), browse, reserve, live,
//!   signup, restart.
//! - [`baseline`]: the smallest warp route, served in-process.
//! - [`stats`], [`plot`]: the summary table, the JSON line, the SVG chart.
//!
//! Load goes only to loopback: a `--target` that is not 127.0.0.0/8 or ::1
//! is refused. Every loop is bounded by `--duration` and `--requests`.

pub mod baseline;
pub mod client;
pub mod plot;
pub mod scenarios;
pub mod seed;
pub mod stats;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use crate::config::Settings;
use crate::{App, RunningApp};
use seed::{SeedFile, SeedUser};
use stats::Recorder;

/// Which workload `ticketing load` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// N tickets, M buyers racing to reserve and pay; then an audit.
    FlashSale,
    /// GET by id (and, with `--list-ratio`, GET list).
    Browse,
    /// Reserve and cancel cycles, every acknowledgement durable.
    Reserve,
    /// K WebSocket subscribers while changes flow.
    Live,
    /// Signups (bcrypt-bound) while GETs go on.
    Signup,
    /// Start-up time and resident memory of a server holding `--tickets`
    /// tickets (a child process on a seeded temp dir; needs `--embedded`).
    Restart,
}

impl Scenario {
    /// The name used on the command line and in the JSON line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::FlashSale => "flash-sale",
            Scenario::Browse => "browse",
            Scenario::Reserve => "reserve",
            Scenario::Live => "live",
            Scenario::Signup => "signup",
            Scenario::Restart => "restart",
        }
    }
}

/// `ticketing load`: drive a server and report what it did.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The workload.
    #[arg(long, value_enum, default_value = "browse")]
    pub scenario: Scenario,
    /// A running server, e.g. http://127.0.0.1:3000 (loopback only).
    #[arg(long, value_name = "URL", conflicts_with = "embedded")]
    pub target: Option<String>,
    /// Start a server in this process on a temp data dir, seeded for the run.
    #[arg(long)]
    pub embedded: bool,
    /// Users and tokens from `ticketing seed --out FILE` (needed with
    /// `--target` by flash-sale, reserve and live).
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Concurrent connections (workers).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Stop after this many requests (per phase).
    #[arg(long)]
    pub requests: Option<u64>,
    /// Tickets: on sale in flash-sale; seeded for browse/live with
    /// --embedded; held by the server in restart.
    #[arg(long, default_value_t = 100)]
    pub tickets: usize,
    /// Buyers in flash-sale (each a distinct user).
    #[arg(long, default_value_t = 1000)]
    pub buyers: usize,
    /// Reservation attempts per flash-sale buyer (the first at their own
    /// seat, the others at seats still listed as available).
    #[arg(long, default_value_t = 3)]
    pub attempts: usize,
    /// WebSocket subscribers in live.
    #[arg(long, default_value_t = 100)]
    pub subscribers: usize,
    /// Changes the live writer makes.
    #[arg(long, default_value_t = 100)]
    pub changes: usize,
    /// Changes per second in live.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Share of browse requests that GET the list instead of one ticket.
    #[arg(long, default_value_t = 0.0)]
    pub list_ratio: f64,
    /// Concurrent signups in signup.
    #[arg(long)]
    pub signup_concurrency: Option<usize>,
    /// Paced GETs per second running alongside the signups.
    #[arg(long, default_value_t = 200.0)]
    pub get_rate: f64,
    /// bcrypt cost of the --embedded server (and the server's cost, for the
    /// signup scenario's bound, with --target).
    #[arg(long, default_value_t = 4)]
    pub bcrypt_cost: u32,
    /// Also drive the in-process ceiling route at the same concurrency.
    #[arg(long)]
    pub baseline: bool,
    /// Print one JSON object as the last line.
    #[arg(long)]
    pub json: bool,
    /// Write an SVG chart of the latency percentiles.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Add this run's lines to the chart already in --plot FILE (one chart
    /// for several scenarios) instead of replacing it.
    #[arg(long, requires = "plot")]
    pub plot_append: bool,
    /// Label of this run in the chart (default: the scenario's name).
    #[arg(long)]
    pub label: Option<String>,
}

/// `ticketing seed`: prepare a data directory for load runs.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// The data directory (default: the configured storage.path). No server
    /// may have it open.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Users to create, each with a token.
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Tickets to put on sale (sold by the first user).
    #[arg(long, default_value_t = 100)]
    pub tickets: usize,
    /// Where to write the users' tokens and the ticket ids.
    #[arg(long, value_name = "FILE", default_value = "seed.json")]
    pub out: PathBuf,
}

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

/// The server under load and what was prepared on it.
pub struct Target {
    /// Its address (loopback).
    pub addr: SocketAddr,
    /// Users with tokens.
    pub users: Vec<SeedUser>,
    /// Seeded ticket ids.
    pub tickets: Vec<String>,
    /// The in-process server, with --embedded.
    pub app: Option<RunningApp>,
    /// Its temp data dir, removed at the end.
    pub dir: Option<tempfile::TempDir>,
}

/// What a scenario measured.
pub struct Report {
    /// Latencies, requests and errors of the measured requests.
    pub rec: Recorder,
    /// Wall time of the measured phase.
    pub elapsed: Duration,
    /// Tickets sold twice (flash-sale only).
    pub oversold: Option<u64>,
    /// Scenario-specific numbers, added to the JSON line and the table.
    pub extra: Map<String, Value>,
    /// Extra chart lines (e.g. GET latency with and without signups).
    pub series: Vec<(String, Recorder)>,
    /// Whether the run found a correctness failure (exit code 1).
    pub failed: bool,
}

impl Report {
    /// Requests per second over the measured phase.
    pub fn rps(&self) -> f64 {
        self.rec.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
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
    if args.scenario == Scenario::Restart {
        if !args.embedded {
            return Err("restart seeds and starts its own server: use --embedded".into());
        }
        let report = scenarios::restart(&args, &settings).await?;
        return finish(&args, report, None);
    }
    let mut target = match (&args.target, args.embedded) {
        (Some(url), false) => remote(url, &args).await?,
        (None, true) => embedded(&args, &settings).await?,
        _ => return Err("give --target URL (loopback) or --embedded".into()),
    };
    let report = match args.scenario {
        Scenario::FlashSale => scenarios::flash_sale(&args, &target).await?,
        Scenario::Browse => scenarios::browse(&args, &target).await?,
        Scenario::Reserve => scenarios::reserve(&args, &target).await?,
        Scenario::Live => scenarios::live(&args, &target).await?,
        Scenario::Signup => scenarios::signup(&args, &target).await?,
        Scenario::Restart => unreachable!("handled above"),
    };
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

fn finish(
    args: &LoadArgs,
    report: Report,
    baseline: Option<(Recorder, f64)>,
) -> Result<ExitCode, String> {
    let name = args.scenario.name();
    let rps = report.rps();
    let (baseline_rps, ratio) = match &baseline {
        Some((_, b)) if *b > 0.0 => (Some(*b), Some(rps / b)),
        _ => (None, None),
    };
    print_table(name, &report, baseline.as_ref(), ratio);
    if let Some(path) = &args.plot {
        let label = args.label.clone().unwrap_or_else(|| name.to_owned());
        let mut lines = vec![(label.clone(), report.rec.clone())];
        for (l, r) in &report.series {
            lines.push((format!("{label}: {l}"), r.clone()));
        }
        if let Some((b, _)) = &baseline {
            lines.push((format!("{label}: baseline"), b.clone()));
        }
        write_plot(path, args.plot_append, &lines)?;
    }
    if args.json {
        let mut obj = Map::new();
        obj.insert("scenario".into(), json!(name));
        obj.insert("requests".into(), json!(report.rec.requests));
        obj.insert("rps".into(), json!(round(rps)));
        for (label, _, ms) in report.rec.percentiles() {
            let key = match label {
                "p99.9" => "p999_ms".to_owned(),
                other => format!("{other}_ms"),
            };
            obj.insert(key, json!(round(ms)));
        }
        obj.insert("errors".into(), json!(report.rec.error_count()));
        let by_status: Map<String, Value> = report
            .rec
            .errors
            .iter()
            .map(|(s, n)| (s.to_string(), json!(n)))
            .collect();
        obj.insert("errors_by_status".into(), Value::Object(by_status));
        obj.insert("oversold".into(), json!(report.oversold));
        obj.insert("baseline_rps".into(), json!(baseline_rps.map(round)));
        obj.insert(
            "ratio".into(),
            json!(ratio.map(|r| round(r * 1000.0) / 1000.0)),
        );
        obj.insert("concurrency".into(), json!(args.concurrency));
        obj.insert(
            "elapsed_s".into(),
            json!(round(report.elapsed.as_secs_f64())),
        );
        for (k, v) in &report.extra {
            obj.insert(k.clone(), v.clone());
        }
        println!("{}", Value::Object(obj));
    }
    Ok(if report.failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn print_table(
    name: &str,
    report: &Report,
    baseline: Option<&(Recorder, f64)>,
    ratio: Option<f64>,
) {
    println!(
        "{:<22} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}  {:<16} oversold",
        "scenario",
        "requests",
        "rate/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "errors"
    );
    let row = |label: &str, rec: &Recorder, rps: f64, oversold: String| {
        let p = rec.percentiles();
        println!(
            "{:<22} {:>9} {:>10.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}  {:<16} {}",
            label,
            rec.requests,
            rps,
            p[0].2,
            p[1].2,
            p[2].2,
            p[3].2,
            p[4].2,
            rec.errors_text(),
            oversold
        );
    };
    let oversold = report.oversold.map_or("-".to_owned(), |o| o.to_string());
    row(name, &report.rec, report.rps(), oversold);
    for (label, rec) in &report.series {
        row(&format!("  {label}"), rec, 0.0, "-".into());
    }
    if let Some((rec, rps)) = baseline {
        row("  baseline", rec, *rps, "-".into());
        if let Some(r) = ratio {
            println!("ratio (rps / baseline_rps): {r:.3}");
        }
    }
    for (k, v) in &report.extra {
        println!("{k}: {v}");
    }
}

const SERIES_MARK: &str = "<!--series ";

fn write_plot(
    path: &std::path::Path,
    append: bool,
    lines: &[(String, Recorder)],
) -> Result<(), String> {
    let mut data: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    if append {
        if let Ok(old) = std::fs::read_to_string(path) {
            if let Some(rest) = old.split(SERIES_MARK).nth(1) {
                if let Some(json) = rest.split(" -->").next() {
                    data = serde_json::from_str(json).unwrap_or_default();
                }
            }
        }
    }
    for (label, rec) in lines {
        let points = rec
            .percentiles()
            .into_iter()
            .map(|(l, _, ms)| (l.to_owned(), ms))
            .collect();
        data.retain(|(l, _)| l != label);
        data.push((label.clone(), points));
    }
    let series: Vec<plot::Series> = data
        .iter()
        .map(|(label, points)| plot::Series {
            label: label.clone(),
            points: points.clone(),
        })
        .collect();
    let mut doc = plot::svg("ticketing: latency percentiles (ms, log scale)", &series);
    let json = serde_json::to_string(&data).map_err(|e| e.to_string())?;
    doc.push_str(&format!("{SERIES_MARK}{json} -->\n"));
    std::fs::write(path, doc).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Signups in flight by default: two per core, so the hashing pool is
/// always busy.
fn default_signups() -> usize {
    2 * cores()
}

/// Cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Resolves `url` and refuses anything but loopback.
async fn remote(url: &str, args: &LoadArgs) -> Result<Target, String> {
    let addr = loopback_addr(url).await?;
    let seed = match &args.seed {
        Some(path) => seed::read_seed_file(path)?,
        None => SeedFile::default(),
    };
    Ok(Target {
        addr,
        users: seed.users,
        tickets: seed.tickets,
        app: None,
        dir: None,
    })
}

/// The one loopback socket address of an `http://host:port` URL.
pub async fn loopback_addr(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// targets are supported"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let with_port = if authority.starts_with('[') {
        if authority.contains("]:") {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        }
    } else if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(with_port.as_str())
        .await
        .map_err(|e| format!("{url}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{url}: no address"));
    }
    if let Some(bad) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        return Err(format!(
            "{url} resolves to {bad}, which is not loopback: load goes only to 127.0.0.1 or [::1]"
        ));
    }
    Ok(addrs[0])
}

/// Seeds a temp dir and starts the server on it, in this process.
async fn embedded(args: &LoadArgs, base: &Settings) -> Result<Target, String> {
    let dir = tempfile::Builder::new()
        .prefix("ticketing-load-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let mut settings = Settings::for_tests(dir.path(), base.orders.reservation_secs);
    settings.auth.bcrypt_cost = args.bcrypt_cost;
    settings.auth.jwt_secret = String::new();
    // One client address makes every request: the per-address limits would
    // measure themselves, not the server.
    settings.limits.auth_per_addr = u32::MAX;
    settings.limits.failed_signins_per_email = u32::MAX;
    // Thousands of subscribers connect from 127.0.0.1.
    settings.server.max_connections_per_addr = 0;
    let users = match args.scenario {
        Scenario::FlashSale => args.buyers + 1,
        _ => args.concurrency + 1,
    };
    let tickets = match args.scenario {
        Scenario::Browse | Scenario::Live | Scenario::Signup => args.tickets,
        _ => 0,
    };
    let (seed, timing) = seed::seed_dir(&settings, users, tickets).await?;
    tracing::info!(users, tickets, secs = timing.secs, "seeded");
    // sled lets go of its directory lock a moment after the seeding handle
    // is dropped: retry (bounded) while the lock is still held.
    let mut tries = 0;
    let app = loop {
        match App::start(settings.clone()).await {
            Ok(app) => break app,
            Err(e) if tries < 100 && e.to_string().contains("lock") => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e.to_string()),
        }
    };
    Ok(Target {
        addr: app.addr(),
        users: seed.users,
        tickets: seed.tickets,
        app: Some(app),
        dir: Some(dir),
    })
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

    #[tokio::test]
    async fn only_loopback_targets_are_accepted() {
        assert!(loopback_addr("http://127.0.0.1:3000").await.is_ok());
        assert!(loopback_addr("http://[::1]:3000/").await.is_ok());
        assert!(loopback_addr("http://localhost:3000").await.is_ok());
        assert!(loopback_addr("http://10.0.0.1:3000").await.is_err());
        assert!(loopback_addr("http://192.168.1.1").await.is_err());
        assert!(loopback_addr("https://127.0.0.1").await.is_err());
    }

    #[test]
    fn a_budget_stops_at_its_count() {
        let b = Budget::new(Duration::from_secs(60), Some(2));
        assert!(b.take());
        assert!(b.take());
        assert!(!b.take());
    }
}
