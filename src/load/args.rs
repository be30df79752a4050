//! The command lines of `ticketing load` and `ticketing seed`: the
//! workloads, their knobs, and the default number of signups in flight.

use std::path::PathBuf;

use super::cores;

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
    /// An event of `--seats` seats, buyers racing for 1 to 4 seats each,
    /// then an audit; plus the event routes' own measurements.
    Event,
    /// A queued event's on-sale: `--buyers` join its waiting room (a third
    /// before `onSaleAt`), wait for admission, buy 1 to 4 seats and pay;
    /// then an audit of the line's order and of the seats.
    Onsale,
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
            Scenario::Event => "event",
            Scenario::Onsale => "onsale",
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
    /// Concurrent connections (workers; onsale: for the joins, and as many
    /// again for the polls, orders and payments).
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
    /// Buyers in flash-sale, event and onsale, each a distinct user
    /// (default 1,000; 100,000 in onsale).
    #[arg(long)]
    pub buyers: Option<usize>,
    /// Reservation attempts per flash-sale buyer (the first at their own
    /// seat, the others at seats still listed as available).
    #[arg(long, default_value_t = 3)]
    pub attempts: usize,
    /// Seats of the event the buyers race for (event: default 50,000;
    /// onsale: 10,000).
    #[arg(long)]
    pub seats: Option<usize>,
    /// Extra events of `--seats` seats created first, to measure resident
    /// memory per seat (event: this process's with --embedded, or that of
    /// `--server-pid` with --target).
    #[arg(long, default_value_t = 0)]
    pub events: usize,
    /// The process id of the --target server, whose resident memory
    /// `--events` measures.
    #[arg(long, requires = "target")]
    pub server_pid: Option<u32>,
    /// Seats of the event whose creation is timed (event; 0 skips it).
    #[arg(long, default_value_t = 100_000)]
    pub create_seats: usize,
    /// The --embedded server's reservation window in event, in seconds
    /// (short, so that holds left unpaid lapse within the run).
    #[arg(long, default_value_t = 2)]
    pub hold_secs: u64,
    /// Admitted buyers shopping at once (onsale: the --embedded server's
    /// `queue.active_buyers`, and the sell-out bound's).
    #[arg(long, default_value_t = 100)]
    pub active_buyers: usize,
    /// How long an admission pass lasts unused, in seconds (onsale: the
    /// --embedded server's `queue.pass_secs`; with --target, the server's,
    /// to date admissions from `passExpiresAt`).
    #[arg(long, default_value_t = 10)]
    pub pass_secs: u64,
    /// A buyer's think time between admission and order, in milliseconds
    /// (onsale).
    #[arg(long, default_value_t = 200)]
    pub think_ms: u64,
    /// Seconds from the event's creation to its `onSaleAt` (onsale): the
    /// early third joins within them.
    #[arg(long, default_value_t = 5.0)]
    pub lead_secs: f64,
    /// Buyers who wait on the queue WebSocket instead of polling (onsale),
    /// spread evenly over the buyers.
    #[arg(long, default_value_t = 0)]
    pub watchers: usize,
    /// Child processes that run the --watchers (onsale with --target), so
    /// that the connections count against other processes' open-files
    /// limits; each binds its own loopback source address 127.0.0.(2+i).
    #[arg(long, default_value_t = 0, requires = "target")]
    pub watcher_procs: usize,
    /// Join this existing queued event instead of creating one (onsale with
    /// --target: how watcher processes are started).
    #[arg(long, value_name = "ID", requires = "target")]
    pub event: Option<String>,
    /// The first seeded user who buys (onsale: the users before are the
    /// organiser and other processes' buyers).
    #[arg(long, default_value_t = 1)]
    pub buyers_from: usize,
    /// The loopback source address of this process's connections.
    #[arg(long, value_name = "IP")]
    pub bind: Option<std::net::IpAddr>,
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

impl LoadArgs {
    /// `--buyers`, or its default for the scenario.
    pub fn buyers(&self) -> usize {
        self.buyers.unwrap_or(match self.scenario {
            Scenario::Onsale => 100_000,
            _ => 1000,
        })
    }

    /// `--seats`, or its default for the scenario.
    pub fn seats(&self) -> usize {
        self.seats.unwrap_or(match self.scenario {
            Scenario::Onsale => 10_000,
            _ => 50_000,
        })
    }
}

/// Signups in flight by default: two per core, so the hashing pool is
/// always busy.
pub(super) fn default_signups() -> usize {
    2 * cores()
}
