//! [`PgStore`]: the store of record in a PostgreSQL database
//! (`storage.backend = "postgres"`), in a schema an operator can read with
//! psql (`migrations/`, applied at open by refinery).
//!
//! Its parts: `schema.rs` (connecting, migrations, the prepared
//! statements), `write.rs` (a group's batches collapsed and written one
//! statement per table), `committer.rs` (group commit, reconnection, the
//! fate of an unanswered COMMIT), `load.rs` (rows back into records),
//! `convert.rs` (columns and domain values). The connections and the
//! committer run on a runtime of the store's own (one thread,
//! `storage-postgres`), not on the actix arbiters' short-lived ones; the
//! futures the store hands out only await channels, so any runtime can
//! poll them.

mod committer;
mod convert;
mod load;
mod schema;
mod write;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use self::committer::{Committer, Conn, Health, Job};
use super::{Answer, CommitStats, Committing, Snapshot, StorageError, Store, Write};

/// How long [`Store::close`] waits for the queued batches to commit.
const CLOSE_WITHIN: Duration = Duration::from_secs(30);
const META_JWT_SECRET: &str = "jwt_secret";
/// How long opening waits for the writer lock: the session of a server
/// just killed ends once PostgreSQL notices (at once, or after a COMMIT
/// it was finishing); a live server's never does.
const WRITER_LOCK_WAIT: Duration = Duration::from_secs(10);

/// The store of record in a PostgreSQL database, with group commit.
pub struct PgStore {
    url: String,
    jobs: mpsc::UnboundedSender<Job>,
    health: Arc<Health>,
    runtime: OwnRuntime,
}

/// The store's runtime, shut down in the background when dropped: the
/// store may be dropped on an async thread, where a runtime may not block
/// to shut down.
struct OwnRuntime(Option<Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl PgStore {
    /// Connects to `url` (a `postgres://` URL or `key=value` pairs), brings
    /// its schema to this build's and starts the committer. An unreachable
    /// server or refused credentials are [`StorageError::Unreachable`]; a
    /// database migrated by a newer build is [`StorageError::Incompatible`].
    pub async fn open(url: &str) -> Result<Self, StorageError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("storage-postgres")
            .enable_all()
            .build()
            .map_err(|e| StorageError::Unavailable(format!("cannot start a runtime: {e}")))?;
        let runtime = OwnRuntime(Some(runtime));
        let handle = runtime
            .0
            .as_ref()
            .map(|r| r.handle().clone())
            .expect("just built");
        let health = Arc::new(Health::default());
        let (jobs, queue) = mpsc::unbounded_channel();
        let owned = url.to_owned();
        let opened = handle.spawn(async move {
            let (mut client, _ended) = schema::connect(&owned).await?;
            schema::migrate(&mut client).await?;
            Conn::open(&owned, WRITER_LOCK_WAIT).await
        });
        let conn = match opened.await {
            Ok(conn) => conn?,
            Err(e) => return Err(StorageError::Unavailable(format!("opening the store: {e}"))),
        };
        let committer = Committer::new(url.to_owned(), queue, health.clone(), conn);
        handle.spawn(committer.run());
        Ok(PgStore {
            url: url.to_owned(),
            jobs,
            health,
            runtime,
        })
    }

    /// Runs `work` with a connection of its own on the store's runtime (the
    /// reads: they are rare, and must not wait behind group commits).
    fn read<T, F>(
        &self,
        work: impl FnOnce(tokio_postgres::Client) -> F + Send + 'static,
    ) -> Answer<T>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, StorageError>> + Send + 'static,
    {
        let Some(runtime) = &self.runtime.0 else {
            return Box::pin(std::future::ready(Err(closed())));
        };
        let url = self.url.clone();
        let task = runtime.spawn(async move {
            let (client, _ended) = schema::connect(&url).await?;
            work(client).await
        });
        Box::pin(async move {
            task.await
                .map_err(|e| StorageError::Unavailable(format!("a storage read failed: {e}")))?
        })
    }
}

fn closed() -> StorageError {
    StorageError::Unavailable("storage is closed".into())
}

impl Store for PgStore {
    fn commit(&self, writes: Vec<Write>) -> Committing {
        if !self.health.writable.load(Ordering::SeqCst) {
            return Box::pin(std::future::ready(Err(StorageError::Unavailable(
                "PostgreSQL is unreachable".into(),
            ))));
        }
        let (done, outcome) = oneshot::channel();
        if self.jobs.send(Job::Batch(writes, done)).is_err() {
            return Box::pin(std::future::ready(Err(closed())));
        }
        Box::pin(async move { outcome.await.unwrap_or_else(|_| Err(closed())) })
    }

    fn load(&self) -> Answer<Snapshot> {
        self.read(|client| async move { load::snapshot(&client).await })
    }

    fn jwt_secret(&self) -> Answer<Vec<u8>> {
        self.read(|client| async move {
            let failed = |e: tokio_postgres::Error| {
                StorageError::Unavailable(format!(
                    "reading the token secret: {}",
                    schema::describe(&e)
                ))
            };
            let select = "SELECT value FROM meta WHERE key = $1";
            if let Some(row) = client
                .query_opt(select, &[&META_JWT_SECRET])
                .await
                .map_err(failed)?
            {
                return Ok(row.get(0));
            }
            let mut secret = vec![0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| StorageError::Unavailable(format!("no randomness: {e}")))?;
            // Two first starts at once keep whichever secret came first.
            client
                .execute(
                    "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                    &[&META_JWT_SECRET, &secret],
                )
                .await
                .map_err(failed)?;
            let row = client
                .query_one(select, &[&META_JWT_SECRET])
                .await
                .map_err(failed)?;
            Ok(row.get(0))
        })
    }

    fn is_writable(&self) -> bool {
        self.health.writable.load(Ordering::SeqCst)
    }

    fn stats(&self) -> CommitStats {
        self.health.stats()
    }

    fn close(&self) -> Result<(), StorageError> {
        let (done, stopped) = std::sync::mpsc::sync_channel(1);
        if self.jobs.send(Job::Stop(done)).is_ok() && stopped.recv_timeout(CLOSE_WITHIN).is_err() {
            return Err(StorageError::Uncertain(
                "the last writes did not finish committing in time".into(),
            ));
        }
        self.health.writable.store(false, Ordering::SeqCst);
        Ok(())
    }
}
