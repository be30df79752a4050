//! A real PostgreSQL for tests: `initdb` into a temporary directory and the
//! `postgres` server as a child process on a private Unix socket (no TCP
//! listener), run as `nobody` when the tests run as root (CI does, and
//! PostgreSQL refuses root). [`PgCluster::shared`] is one cluster per test
//! binary with a fresh database per test server; [`PgCluster::private`] is
//! a cluster of a test's own that it may stop and start (fault tests).
//!
//! The server dies with the test process (`PR_SET_PDEATHSIG`), spawned from
//! one thread that lives as long as the process: the signal fires when the
//! *thread* that spawned the child exits, and test threads end early. The
//! shared cluster is stopped and its directory removed at exit; directories
//! that a killed test process left behind are removed by the next run.
//!
//! Durability is PostgreSQL's default (`fsync`, `synchronous_commit`, full
//! page writes all on): tests that kill things rely on it. Only `initdb`
//! skips its fsyncs (`--no-sync`), and the settings tuned for speed change
//! nothing a test can observe (small shared buffers, no autovacuum).
#![allow(dead_code)]

use std::fs::{self, File};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Receiver as AsyncReceiver;
use tokio::sync::Mutex as AsyncMutex;

/// The role every test connects as (superuser, trusted on the socket).
pub const USER: &str = "ticketing";

/// How long the server may take to accept connections after a start.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Prefix of every cluster directory under the system's temp dir; the rest
/// of the name is `<pid>-<n>` of the test process that made it.
const DIR_PREFIX: &str = "ticketing-pg-";

/// Databases the shared cluster keeps ready.
const MADE_AHEAD: usize = 2;

/// One PostgreSQL cluster: its directory, its server, its socket.
pub struct PgCluster {
    bin: PathBuf,
    /// Holds `data/`, `sockets/` and `server.log`; removed on drop.
    root: PathBuf,
    sockets: PathBuf,
    port: u16,
    /// The unprivileged user and group the binaries run as, when we are root.
    owner: Option<(u32, u32)>,
    server: Mutex<Option<Child>>,
    databases: AtomicU32,
    /// The shared cluster's databases, made ahead by a thread of their own
    /// (each costs a few hundred ms of fsync on a busy machine, which a
    /// test then does not wait for).
    made_ahead: OnceLock<AsyncMutex<AsyncReceiver<Result<String, String>>>>,
}

impl PgCluster {
    /// The cluster of this test binary, started on first use (the later
    /// callers wait for it), stopped at exit.
    pub fn shared() -> &'static PgCluster {
        static SHARED: OnceLock<PgCluster> = OnceLock::new();
        let mut started_here = false;
        let shared = SHARED.get_or_init(|| {
            extern "C" fn stop_shared() {
                if let Some(cluster) = SHARED.get() {
                    cluster.halt(libc::SIGQUIT);
                    let _ = fs::remove_dir_all(&cluster.root);
                }
            }
            let cluster = PgCluster::init();
            cluster.start();
            // SAFETY: registers a plain function; the test harness leaves
            // through `exit`, which runs it once.
            unsafe { libc::atexit(stop_shared) };
            started_here = true;
            cluster
        });
        if started_here {
            shared.make_databases_ahead();
        }
        shared
    }

    /// A started cluster of the caller's own, for tests that stop and start
    /// the database; stopped and removed when dropped.
    pub fn private() -> PgCluster {
        let cluster = PgCluster::init();
        cluster.start();
        cluster
    }

    /// The connection string of a new, empty database of its own
    /// (`CREATE DATABASE t_<n>`, a copy of `template1`).
    pub async fn fresh_database(&self) -> String {
        let made = match self.made_ahead.get() {
            Some(ahead) => ahead
                .lock()
                .await
                .recv()
                .await
                .unwrap_or_else(|| Err("the thread that makes databases ahead is gone".into())),
            None => {
                self.create_database(&connect(&self.url("postgres")).await)
                    .await
            }
        };
        made.unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()))
    }

    /// `CREATE DATABASE` on `admin`: the new database's connection string.
    async fn create_database(&self, admin: &tokio_postgres::Client) -> Result<String, String> {
        let name = format!("t_{}", self.databases.fetch_add(1, Ordering::Relaxed));
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
        Ok(self.url(&name))
    }

    /// Starts the thread that keeps a few databases ready for
    /// [`PgCluster::fresh_database`] (the shared cluster, never stopped).
    fn make_databases_ahead(&'static self) {
        let (ready, taken) = tokio::sync::mpsc::channel(MADE_AHEAD);
        std::thread::Builder::new()
            .name("pg-databases".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the database maker");
                runtime.block_on(async {
                    let admin = connect(&self.url("postgres")).await;
                    loop {
                        let made = self.create_database(&admin).await;
                        let failed = made.is_err();
                        if ready.send(made).await.is_err() || failed {
                            return;
                        }
                    }
                });
            })
            .expect("database maker thread");
        assert!(
            self.made_ahead.set(AsyncMutex::new(taken)).is_ok(),
            "databases are already made ahead"
        );
    }

    /// The connection string of database `dbname` (libpq key=value form).
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user={USER} dbname={dbname}",
            self.sockets.display(),
            self.port
        )
    }

    /// The path of the server's Unix socket (for a test's own proxy).
    pub fn socket(&self) -> PathBuf {
        self.sockets.join(format!(".s.PGSQL.{}", self.port))
    }

    /// Starts the server (again, on the same socket) and waits until it
    /// accepts connections.
    pub fn start(&self) {
        let mut server = self.server.lock().expect("server lock");
        assert!(server.is_none(), "the PostgreSQL server is already running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.root.join("server.log"))
            .expect("server.log");
        let mut cmd = self.command("postgres");
        cmd.arg("-D")
            .arg(self.root.join("data"))
            .arg("-k")
            .arg(&self.sockets)
            .arg("-p")
            .arg(self.port.to_string());
        for setting in [
            "listen_addresses=",
            // Many test servers at once, each with its connections.
            "max_connections=300",
            "shared_buffers=32MB",
            "autovacuum=off",
            "log_min_messages=warning",
            "log_checkpoints=off",
        ] {
            cmd.arg("-c").arg(setting);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        // SAFETY: prctl is async-signal-safe; nothing else runs between
        // fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = spawn_for_life(cmd).expect("spawn postgres");
        let deadline = Instant::now() + READY_WITHIN;
        while !self.accepts_connections() {
            if let Some(status) = child.try_wait().expect("postgres status") {
                panic!("postgres exited at start ({status}):\n{}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not accept connections within {READY_WITHIN:?}:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        *server = Some(child);
    }

    /// Fast shutdown (clients disconnected, a checkpoint written), waited
    /// for; [`PgCluster::start`] brings it back.
    pub fn stop(&self) {
        self.halt(libc::SIGINT);
    }

    /// Immediate shutdown, as `pg_ctl stop -m immediate` does it (a crash:
    /// no checkpoint, recovery replays the WAL at the next start), waited
    /// for; [`PgCluster::start`] brings it back.
    pub fn crash(&self) {
        self.halt(libc::SIGQUIT);
    }

    /// The last lines the server logged (for failure messages).
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.root.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// A new cluster directory with `initdb` run in it, nothing started.
    fn init() -> PgCluster {
        static CLUSTERS: AtomicU32 = AtomicU32::new(0);
        let bin = bin_dir();
        remove_stale_clusters();
        let root = std::env::temp_dir().join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::Relaxed)
        ));
        let sockets = root.join("sockets");
        fs::create_dir_all(&sockets).expect("cluster directory");
        let owner = unprivileged_owner();
        if let Some((uid, gid)) = owner {
            for dir in [&root, &sockets] {
                std::os::unix::fs::chown(dir, Some(uid), Some(gid)).expect("chown cluster dir");
            }
        }
        let cluster = PgCluster {
            bin,
            sockets,
            port: free_port(),
            owner,
            server: Mutex::new(None),
            databases: AtomicU32::new(0),
            made_ahead: OnceLock::new(),
            root,
        };
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(cluster.root.join("data"))
            .args(["-U", USER, "--auth=trust", "--no-sync"])
            .args(["--encoding=UTF8", "--locale=C"])
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster
    }

    /// One of PostgreSQL's programs, as the unprivileged owner when root.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.current_dir(&self.root).env("LC_ALL", "C");
        if let Some((uid, gid)) = self.owner {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    /// Whether the server answers (`pg_isready` speaks the protocol: a
    /// server still starting up or recovering says no).
    fn accepts_connections(&self) -> bool {
        self.command("pg_isready")
            .arg("-h")
            .arg(&self.sockets)
            .args(["-p", &self.port.to_string(), "-U", USER, "-d", "postgres"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run pg_isready")
            .success()
    }

    /// Sends `signal` to the server, if running, and reaps it.
    fn halt(&self, signal: libc::c_int) {
        let Some(mut child) = self.server.lock().expect("server lock").take() else {
            return;
        };
        // SAFETY: signalling our own child, not yet reaped.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        child.wait().expect("wait for postgres");
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.halt(libc::SIGQUIT);
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// A client of `url`, its connection driven on the caller's runtime.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("postgres connection: {e}");
        }
    });
    client
}

/// The directory of `initdb` and `postgres`: Debian's highest installed
/// version, else what `pg_config --bindir` says; a clear panic when neither
/// has them (these tests must not pass by skipping).
fn bin_dir() -> PathBuf {
    let has_server = |dir: &Path| dir.join("initdb").exists() && dir.join("postgres").exists();
    let debian = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_server(bin))
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin);
    debian
        .or_else(|| {
            let out = Command::new("pg_config").arg("--bindir").output().ok()?;
            let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
            has_server(&dir).then_some(dir)
        })
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL tests need initdb and postgres (looked in \
                 /usr/lib/postgresql/*/bin and `pg_config --bindir`): install \
                 Debian's postgresql package with `apt-get install -y postgresql` \
                 (.ci/run does)"
            )
        })
}

/// `nobody`'s uid and gid when we run as root, else `None`.
fn unprivileged_owner() -> Option<(u32, u32)> {
    // SAFETY: geteuid cannot fail; getpwnam's result is read at once, before
    // any other call could reuse its static buffer.
    unsafe {
        if libc::geteuid() != 0 {
            return None;
        }
        let pw = libc::getpwnam(c"nobody".as_ptr());
        assert!(
            !pw.is_null(),
            "running as root, PostgreSQL needs an unprivileged user: no `nobody`"
        );
        Some(((*pw).pw_uid, (*pw).pw_gid))
    }
}

/// A port number free on loopback now, for the socket's name (the server
/// listens on no TCP port).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Removes the cluster directories of test processes that are gone (killed
/// before their exit handler ran).
fn remove_stale_clusters() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Spawns `cmd` from a thread that never exits, so a child that asked for
/// `PR_SET_PDEATHSIG` gets it when the test process dies, not when the
/// test's thread ends.
fn spawn_for_life(cmd: Command) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("pg-spawner".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .expect("spawner thread");
        tx
    });
    let (reply, answer) = mpsc::channel();
    spawner.send((cmd, reply)).expect("spawner thread alive");
    answer.recv().expect("spawner thread answers")
}
