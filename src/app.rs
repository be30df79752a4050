//! Assembling and running the server: storage, the actor system on its own
//! thread (actix needs its own `System`), the HTTP server on the caller's
//! tokio runtime, and a graceful shutdown that flushes storage last.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpSocket;
use tokio::sync::oneshot;

use crate::actors::{
    AccountIndex, Accounts, Core, Events, Lines, Live, Orders, Queue, ReadModel, SeatOrders,
    Sessions, TicketRouter, Tickets,
};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::line::{Draw, Entry};
use crate::domain::{EventId, IdGenerator, Timestamp};
use crate::http::auth::{OriginPolicy, Tokens};
use crate::http::limits::RateLimit;
use crate::http::passwords::Passwords;
use crate::http::request::BodyDeadline;
use crate::http::server::ConnectionLimits;
use crate::http::{Limits, State};
use crate::payments::TestGateway;
use crate::storage::{Storage, StorageError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be opened or read.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Anything else at start-up.
    #[error("{0}")]
    Other(String),
}

/// The entry point: builds and starts the server.
pub struct App;

/// A started server.
pub struct RunningApp {
    addr: SocketAddr,
    stop_http: Option<oneshot::Sender<()>>,
    http: tokio::task::JoinHandle<()>,
    system: actix::System,
    system_thread: Option<std::thread::JoinHandle<()>>,
    storage: Storage,
    state: Arc<State>,
    grace: Duration,
}

/// How many connections may wait to be accepted (a flash sale connects in
/// bursts; the default of 128 drops SYNs).
const LISTEN_BACKLOG: u32 = 4096;

/// What a server is started with besides its settings: the parts a test
/// (or an embedding program) may choose.
#[derive(Clone)]
pub struct Wiring {
    /// What every hold, expiry, timestamp and session lifetime goes by
    /// (tests pass a [`crate::clock::ManualClock`]'s).
    pub clock: Clock,
    /// Wraps the store once it is opened (tests put a fault injector
    /// around it; `None` uses the store as opened).
    pub store_layer: Option<Arc<dyn Fn(Storage) -> Storage + Send + Sync>>,
}

impl Default for Wiring {
    fn default() -> Self {
        Wiring {
            clock: Clock::system(),
            store_layer: None,
        }
    }
}

impl App {
    /// Opens storage, restores every ticket and hold, starts the actors and
    /// the HTTP server, and returns once the listener is bound. Runs on the
    /// system clock.
    pub async fn start(settings: Settings) -> Result<RunningApp, StartError> {
        Self::start_with(settings, Wiring::default()).await
    }

    /// [`App::start`] with the parts in `wiring`.
    pub async fn start_with(settings: Settings, wiring: Wiring) -> Result<RunningApp, StartError> {
        let Wiring { clock, store_layer } = wiring;
        settings
            .validate()
            .map_err(|e| StartError::Other(e.to_string()))?;
        crate::metrics::handle();
        let (storage, snapshot) = crate::storage::open(&settings.storage).await?;
        let storage = match store_layer {
            Some(layer) => layer(storage),
            None => storage,
        };

        let secret = match settings.auth.jwt_secret.as_str() {
            "" => storage.jwt_secret().await?,
            s => s.as_bytes().to_vec(),
        };
        let ids = Arc::new(IdGenerator::starting_after(snapshot.max_id));
        let queued: Vec<(EventId, Timestamp)> = snapshot
            .events
            .iter()
            .filter(|e| e.queue)
            .map(|e| (e.id, e.on_sale_at.unwrap_or(e.created_at)))
            .collect();
        let core = Arc::new(Core::new(
            storage.clone(),
            ReadModel::new(snapshot.events, snapshot.tickets, snapshot.orders),
            ids.clone(),
            Box::new(TestGateway),
            settings.reservation_window(),
            clock.clone(),
        ));

        // actix runs on its own thread with one arbiter per core; connections
        // are served on those arbiters too (see `http::server`).
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (ready_tx, ready_rx) = oneshot::channel();
        let user_storage = storage.clone();
        let users = snapshot.users;
        let user_ids = ids.clone();
        let user_clock = clock.clone();
        let system_thread = std::thread::Builder::new()
            .name("actors".into())
            .spawn(move || {
                let system = actix::System::new();
                let arbiters: Vec<actix::Arbiter> = system.block_on(async move {
                    let arbiters: Vec<actix::Arbiter> =
                        (0..cores).map(|_| actix::Arbiter::new()).collect();
                    let index = actix::Actor::start(AccountIndex::new(
                        user_storage,
                        user_ids,
                        user_clock,
                        users,
                    ));
                    for arbiter in &arbiters {
                        arbiter.spawn_fn(crate::actors::mark_worker_thread);
                    }
                    let handles = arbiters.iter().map(|a| a.handle()).collect::<Vec<_>>();
                    let _ = ready_tx.send((handles, index, actix::System::current()));
                    arbiters
                });
                if let Err(e) = system.run() {
                    tracing::error!(error = %e, "actor system stopped with an error");
                }
                for arbiter in arbiters {
                    arbiter.stop();
                    let _ = arbiter.join();
                }
            })
            .map_err(|e| StartError::Other(format!("cannot start the actor thread: {e}")))?;
        let (arbiters, account_index, system) = ready_rx
            .await
            .map_err(|_| StartError::Other("the actor system failed to start".into()))?;

        let router = Arc::new(TicketRouter::new(core.clone(), arbiters.clone()));
        let restored = router
            .restore_holds()
            .map_err(|e| StartError::Other(format!("restoring holds: {e}")))?;
        let lines = Arc::new(Lines::new(
            core.clone(),
            &secret,
            settings.queue.active_buyers,
            Duration::from_secs(settings.queue.pass_secs),
        ));
        restore_lines(&lines, &router, queued, snapshot.entries, snapshot.draws);
        let seat_orders = SeatOrders::new(core.clone(), router.clone(), lines.clone());
        let restored = restored + seat_orders.restore_holds();
        let sessions = Arc::new(Sessions::new(
            storage.clone(),
            clock.clone(),
            snapshot.revoked,
        ));
        let passwords = {
            let cost = settings.auth.bcrypt_cost;
            tokio::task::spawn_blocking(move || Passwords::new(cost))
                .await
                .map_err(|e| StartError::Other(e.to_string()))?
                .map_err(|e| StartError::Other(e.to_string()))?
        };
        let state = Arc::new(State {
            tickets: Tickets::new(core.clone(), router.clone()),
            orders: Orders::new(core.clone(), router, seat_orders.clone()),
            events: Events::new(core.clone(), seat_orders),
            queue: Queue::new(core.clone(), lines),
            accounts: Accounts::new(account_index, sessions.clone()),
            live: Live::new(core.clone()),
            tokens: Tokens::new(
                &secret,
                settings.auth.session_secs,
                settings.server.secure_cookies,
                sessions.clone(),
                ids,
                clock,
            ),
            core,
            passwords,
            limits: Limits {
                auth_per_addr: RateLimit::per_minute(settings.limits.auth_per_addr),
                failed_signins: RateLimit::per_minute(settings.limits.failed_signins_per_email),
                trust_forwarded_for: settings.limits.trust_forwarded_for,
            },
            origin: OriginPolicy {
                https: settings.server.secure_cookies,
                trust_proxy: settings.limits.trust_forwarded_for,
            },
        });

        let listener = bind(settings.server.addr).map_err(|source| StartError::Bind {
            addr: settings.server.addr,
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: settings.server.addr,
            source,
        })?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let grace = Duration::from_secs(settings.server.shutdown_grace_secs);
        let routes = crate::http::routes(state.clone());
        let limits = ConnectionLimits {
            max_connections: settings.server.max_connections,
            // Behind a trusted proxy every connection comes from the proxy:
            // a cap per peer would cap the proxy.
            max_connections_per_addr: if settings.limits.trust_forwarded_for {
                0
            } else {
                settings.server.max_connections_per_addr
            },
            header_read_timeout: Duration::from_secs(settings.server.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(settings.server.idle_timeout_secs),
            body_deadline: BodyDeadline {
                base: Duration::from_secs(settings.server.body_read_timeout_secs),
                min_bytes_per_sec: settings.server.body_min_bytes_per_sec,
            },
        };
        let http = tokio::spawn(crate::http::server::serve(
            listener,
            routes,
            state.clone(),
            limits,
            stop_rx,
            arbiters,
        ));
        tracing::info!(%addr, restored_holds = restored, "serving");
        Ok(RunningApp {
            addr,
            stop_http: Some(stop_tx),
            http,
            system,
            system_thread: Some(system_thread),
            storage,
            state,
            grace,
        })
    }
}

fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

impl RunningApp {
    /// The address the server listens on (the real port when 0 was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shared server state (for benches and embedding programs).
    pub fn state(&self) -> &Arc<State> {
        &self.state
    }

    /// Stops accepting, lets in-flight requests finish (up to the grace
    /// period), stops the actors and flushes storage.
    pub async fn shutdown(mut self) {
        let grace = self.grace;
        if let Some(tx) = self.stop_http.take() {
            let _ = tx.send(());
        }
        self.state.live.close();
        if tokio::time::timeout(grace, &mut self.http).await.is_err() {
            tracing::warn!("connections still open after the grace period; closing them");
            self.http.abort();
        }
        self.system.stop();
        if let Some(thread) = self.system_thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        let storage = self.storage.clone();
        match tokio::task::spawn_blocking(move || storage.close()).await {
            Ok(Ok(())) => tracing::info!("storage flushed; stopped"),
            Ok(Err(e)) => tracing::error!(error = %e, "final flush failed"),
            Err(e) => tracing::error!(error = %e, "final flush panicked"),
        }
        // Release the data directory before returning, so the same process
        // can open it again at once: the last connection tasks drop their
        // handles a moment after the server stops waiting for them.
        let RunningApp { storage, state, .. } = self;
        drop(state);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&storage) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if Arc::strong_count(&storage) > 1 {
            tracing::warn!("storage still referenced after shutdown; the data directory stays locked until it is dropped");
        }
        // The last handle closes the store (sled waits for its lock to go).
        let _ = tokio::task::spawn_blocking(move || drop(storage)).await;
    }
}

/// Starts the line of every queued event, from its stored entries and draw.
fn restore_lines(
    lines: &Lines,
    router: &TicketRouter,
    queued: Vec<(EventId, Timestamp)>,
    entries: Vec<Entry>,
    draws: Vec<Draw>,
) {
    let mut by_event: HashMap<EventId, Vec<Entry>> = HashMap::new();
    for e in entries {
        by_event.entry(e.event).or_default().push(e);
    }
    for (event, on_sale) in queued {
        let draw = draws.iter().find(|d| d.event == event);
        let entries = by_event.remove(&event).unwrap_or_default();
        if let Some(draw) = draw {
            // Its places are redone from the stored early entries: they
            // must be the ones it drew.
            let early = entries.iter().filter(|e| e.is_early(on_sale)).count();
            if early as u64 != draw.placed {
                tracing::warn!(
                    %event,
                    drawn = draw.placed,
                    stored = early,
                    "the draw placed another number of early entries than are stored"
                );
            }
        }
        lines.start(router.arbiter(), event, on_sale, entries, draw);
    }
}
