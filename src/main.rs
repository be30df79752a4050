//! The `ticketing` binary: parses the command line, loads settings, serves
//! until SIGINT or SIGTERM, then shuts down gracefully (exit code 0).
//! `ticketing seed` and `ticketing load` are the load generator
//! (`ticketing::load`), shipped in the same binary so a benchmark needs
//! nothing but the server's own build.

use std::io::{IsTerminal, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ticketing::config::{Settings, StoreBackend};
use ticketing::storage::StorageError;
use ticketing::{maintenance, App, StartError};

/// An actor-based single-node ticketing server.
#[derive(Parser)]
#[command(name = "ticketing", version, about)]
struct Cli {
    /// A TOML file shaped like config/default.toml, read over the defaults.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log format on stderr: `human` (default) or `json` (one object a line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// What to do (default: serve).
    #[command(subcommand)]
    command: Option<Command>,
}

/// How logs are written.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Readable lines (colours on a terminal).
    Human,
    /// JSON, one object per line, for log collectors.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP and WebSocket (the default).
    Serve,
    /// Write users, tickets and pre-minted tokens into a stopped server's
    /// data directory, for `ticketing load --seed`.
    Seed(ticketing::load::SeedArgs),
    /// Drive a server on loopback with a scenario and report latency,
    /// throughput, errors and (flash-sale) oversold seats.
    Load(Box<ticketing::load::LoadArgs>),
    /// Write a consistent backup of a stopped server's data directory (users,
    /// tickets, orders, payments) to FILE as JSON lines.
    Export {
        /// Where to write the backup.
        file: PathBuf,
    },
    /// Load a backup made by `export` into an empty data directory.
    Import {
        /// The backup to read.
        file: PathBuf,
    },
    /// Verify a stopped server's data directory: no ticket with two live
    /// orders, every sale paid, every reference intact. Exit 1 if not.
    Check,
}

fn main() -> ExitCode {
    without_transparent_huge_pages();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sled=warn".into());
    // Colours only for a person at a terminal: a log file or journal gets
    // plain text (and every request's span is formatted without them).
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ticketing: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ticketing: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => runtime.block_on(serve(settings)),
        Command::Seed(args) => runtime.block_on(ticketing::load::run_seed(args, settings)),
        Command::Load(args) => runtime.block_on(ticketing::load::run_load(*args, settings)),
        Command::Export { file } => maintain(|| {
            let counts = runtime.block_on(maintenance::export_to(&settings.storage, &file))?;
            Ok(format!("exported {counts} to {}", file.display()))
        }),
        Command::Import { file } => maintain(|| {
            let input = std::io::BufReader::new(std::fs::File::open(&file)?);
            let counts = runtime.block_on(maintenance::import(&settings.storage, input))?;
            Ok(format!("imported {counts} into {}", store_name(&settings)))
        }),
        Command::Check => maintain(|| {
            let (counts, problems) =
                runtime.block_on(maintenance::check_store(&settings.storage))?;
            if problems.is_empty() {
                Ok(format!("ok: {counts}, every invariant holds"))
            } else {
                for p in &problems {
                    eprintln!("{p}");
                }
                Err(format!("{} invariant violations in {counts}", problems.len()).into())
            }
        }),
    }
}

/// The store of `settings`, as a summary names it.
fn store_name(settings: &Settings) -> String {
    match settings.storage.backend {
        StoreBackend::Sled => settings.storage.path.display().to_string(),
        StoreBackend::Postgres => "the PostgreSQL database".into(),
    }
}

/// Runs an offline maintenance command: its summary on stdout and exit 0,
/// or the error on stderr and exit 1.
fn maintain(work: impl FnOnce() -> Result<String, Box<dyn std::error::Error>>) -> ExitCode {
    match work() {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ticketing: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> ExitCode {
    let app = match App::start(settings).await {
        Ok(app) => app,
        // A database that cannot be reached is a setting to fix, like a
        // bad configuration: exit 2.
        Err(e @ StartError::Storage(StorageError::Unreachable(_))) => {
            eprintln!("ticketing: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("ticketing: {e}");
            return ExitCode::FAILURE;
        }
    };
    return_start_up_garbage();
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ticketing listening on http://{}", app.addr());
        let _ = out.flush();
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    app.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    // SIGHUP usually asks a daemon to reload; settings are read once, so
    // say so rather than die of the signal's default action.
    let mut hup = signal(SignalKind::hangup()).ok();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                tracing::warn!("SIGHUP ignored: settings are read at start; restart to change them");
            }
        }
    }
}

/// mimalloc instead of glibc's malloc: the request path allocates many small
/// short-lived buffers across threads, and glibc spent ~15% of a reserve run
/// in `malloc_consolidate`/`unlink_chunk` (BENCHMARKS.md, round 4).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process (where the kernel has
/// them on for every mapping). With them, a first touch of memory that
/// mimalloc has purged zeroes a whole 2 MiB page: in the onsale scenario's
/// join burst that zeroing was 13% of the server's samples and three
/// quarters of the load generator's, and the page faults of 4 KiB pages
/// cost both less than half as much CPU per join (BENCHMARKS.md, round 7,
/// session 7). Databases that allocate and free briskly advise the same
/// (Redis, MongoDB). Best effort: a kernel without the switch changes
/// nothing.
fn without_transparent_huge_pages() {
    // SAFETY: prctl with integer arguments only; it sets a flag of this
    // process's memory map and touches no memory of ours.
    let refused = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0;
    if refused {
        eprintln!("ticketing: transparent huge pages stay as the kernel sets them");
    }
}

/// Returns to the OS the memory freed while starting (every record was read
/// and decoded once): left to mimalloc's purge delay, pages freed by a
/// thread that then idles stay resident (1,000,000 tickets: 790 MiB instead
/// of ~580 MiB). Only at start-up: purging at every free instead cost ~10%
/// of the reserve run's throughput (BENCHMARKS.md, round 4).
fn return_start_up_garbage() {
    // SAFETY: a plain call into the global allocator's C library, which is
    // thread-safe and takes no pointers.
    unsafe { libmimalloc_sys::mi_collect(true) };
}
