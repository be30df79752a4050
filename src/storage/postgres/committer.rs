//! The group commit: one task owns the writing connection, takes the first
//! queued batch and whatever else is queued behind it (up to
//! [`GROUP_CAP`]), writes them all in one transaction, and answers every
//! batch once COMMIT returned. A group the database refuses (a constraint,
//! a bad value) is rolled back and its batches retried one transaction
//! each, so only the bad batch is refused. A lost connection makes the
//! store unwritable until the task has reconnected (every
//! [`RECONNECT_EVERY`]); a group whose COMMIT was sent but not answered is
//! settled by asking the database what became of its transaction id.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, timeout, Instant};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::schema::{self, describe, Statements};
use super::write::Collapsed;
use crate::storage::{CommitStats, StorageError, Write};

/// The most batches one transaction takes.
const GROUP_CAP: usize = 512;
/// How often a lost database is tried again.
const RECONNECT_EVERY: Duration = Duration::from_millis(500);
/// How long one transaction's statements, or its COMMIT, may take before
/// the connection is taken for lost.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a group whose COMMIT went unanswered waits to learn its fate.
const SETTLE_WITHIN: Duration = Duration::from_secs(5);

/// What the committer is asked.
pub enum Job {
    /// A batch to commit, and where its outcome goes.
    Batch(Vec<Write>, oneshot::Sender<Result<(), StorageError>>),
    /// Finish what is queued before this, then stop and say so.
    Stop(std::sync::mpsc::SyncSender<()>),
}

/// What the store's callers may read of the committer at any time.
#[derive(Default)]
pub struct Health {
    /// Whether writes are taken now.
    pub writable: AtomicBool,
    batches: AtomicU64,
    groups: AtomicU64,
}

impl Health {
    /// Batches answered and transactions committed so far.
    pub fn stats(&self) -> CommitStats {
        CommitStats {
            batches: self.batches.load(Ordering::Relaxed),
            groups: self.groups.load(Ordering::Relaxed),
        }
    }
}

/// An open writing connection with its statements.
pub struct Conn {
    client: Client,
    statements: Statements,
    ended: oneshot::Receiver<()>,
}

impl Conn {
    /// Connects to `url`, takes the writer lock (waiting for it up to
    /// `wait`) and prepares the group commit's statements.
    pub async fn open(url: &str, wait: Duration) -> Result<Conn, StorageError> {
        let (client, ended) = schema::connect(url).await?;
        take_writer_lock(&client, wait).await?;
        let statements = Statements::prepare(&client)
            .await
            .map_err(|e| StorageError::Unavailable(format!("preparing statements: {e}")))?;
        Ok(Conn {
            client,
            statements,
            ended,
        })
    }
}

/// The session advisory lock only the writing connection holds ("tick",
/// "etin" in ASCII). The session of a server killed with kill -9 lives on
/// until PostgreSQL notices its socket closed, finishing a COMMIT it was
/// given: holding this lock before anything is read makes a restarted
/// server wait until the old session, and every commit it could still
/// make, is gone, so a late commit can never change rows under a server
/// that has loaded them. It also keeps two servers from writing one
/// database. (Several nodes will take one lock per event they own.)
const WRITER_LOCK: i64 = 0x7469_636b_6574_696e;

/// Takes [`WRITER_LOCK`] for this session, trying every
/// [`RECONNECT_EVERY`] for up to `wait`.
async fn take_writer_lock(client: &Client, wait: Duration) -> Result<(), StorageError> {
    let deadline = Instant::now() + wait;
    loop {
        let taken: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER_LOCK])
            .await
            .map_err(|e| {
                StorageError::Unavailable(format!("taking the writer lock: {}", describe(&e)))
            })?
            .get(0);
        if taken {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(StorageError::Unavailable(
                "another server is writing to this PostgreSQL database (its session holds \
                 the writer lock); stop it first"
                    .into(),
            ));
        }
        sleep(RECONNECT_EVERY).await;
    }
}

/// How one transaction ended.
enum Outcome {
    Committed,
    /// The database refused it and it was rolled back: nothing written.
    Refused(String),
    /// The connection was lost before COMMIT was sent: nothing written.
    LostBefore(String),
    /// The connection was lost after COMMIT was sent: the transaction
    /// `xid` may or may not have committed.
    LostInCommit(String, i64),
}

/// The task that owns the writing connection.
pub struct Committer {
    url: String,
    jobs: mpsc::UnboundedReceiver<Job>,
    health: Arc<Health>,
    conn: Option<Conn>,
}

type Waiter = oneshot::Sender<Result<(), StorageError>>;

impl Committer {
    /// A committer writing on `conn`, taking jobs from `jobs`.
    pub fn new(
        url: String,
        jobs: mpsc::UnboundedReceiver<Job>,
        health: Arc<Health>,
        conn: Conn,
    ) -> Self {
        health.writable.store(true, Ordering::SeqCst);
        Committer {
            url,
            jobs,
            health,
            conn: Some(conn),
        }
    }

    /// Commits groups until stopped (or until the store is gone).
    pub async fn run(mut self) {
        loop {
            let Some(conn) = self.conn.as_mut() else {
                if self.reconnect().await {
                    continue;
                }
                return;
            };
            let first = tokio::select! {
                job = self.jobs.recv() => job,
                _ = &mut conn.ended => {
                    self.lost("the connection to PostgreSQL ended");
                    continue;
                }
            };
            // `None`: every handle of the store is gone.
            let Some(first) = first else { return };
            let mut group = Vec::new();
            let mut stop = None;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Batch(writes, done) => group.push((writes, done)),
                    Job::Stop(done) => {
                        stop = Some(done);
                        break;
                    }
                }
                if group.len() < GROUP_CAP {
                    next = self.jobs.try_recv().ok();
                }
            }
            if !group.is_empty() {
                self.commit_group(group).await;
            }
            if let Some(done) = stop {
                self.health.writable.store(false, Ordering::SeqCst);
                let _ = done.send(());
                return;
            }
        }
    }

    /// Commits a group in one transaction, or each of its batches alone
    /// when the group is refused, and answers every batch.
    async fn commit_group(&mut self, group: Vec<(Vec<Write>, Waiter)>) {
        let (batches, waiters): (Vec<Vec<Write>>, Vec<Waiter>) = group.into_iter().unzip();
        let all: Vec<&[Write]> = batches.iter().map(Vec::as_slice).collect();
        // The same series as the embedded store's flusher: here a flush is
        // a group's transaction.
        let started = std::time::Instant::now();
        let first = self.transaction(&all).await;
        metrics::counter!("storage_flushes_total").increment(1);
        metrics::histogram!("storage_flush_seconds").record(started.elapsed().as_secs_f64());
        metrics::histogram!("storage_flush_batches").record(batches.len() as f64);
        if !matches!(first, Outcome::Committed) {
            metrics::counter!("storage_flush_errors_total").increment(1);
        }
        let outcomes = match first {
            Outcome::Refused(why) if batches.len() > 1 => {
                tracing::warn!(batches = batches.len(), error = %why, "a group commit was refused; committing its batches one by one");
                let mut each = Vec::with_capacity(batches.len());
                for batch in &batches {
                    let outcome = match self.conn {
                        Some(_) => self.transaction(&[batch.as_slice()]).await,
                        None => Outcome::LostBefore("the connection was lost".into()),
                    };
                    each.push(self.settle(outcome).await);
                }
                each
            }
            outcome => {
                let result = self.settle(outcome).await;
                vec![result; batches.len()]
            }
        };
        self.health
            .batches
            .fetch_add(batches.len() as u64, Ordering::Relaxed);
        for (waiter, result) in waiters.into_iter().zip(outcomes) {
            let _ = waiter.send(result);
        }
    }

    /// What a transaction's outcome means to the batches in it.
    async fn settle(&mut self, outcome: Outcome) -> Result<(), StorageError> {
        match outcome {
            Outcome::Committed => {
                self.health.groups.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Outcome::Refused(why) => {
                tracing::error!(error = %why, "the database refused a batch");
                Err(StorageError::Unavailable(format!(
                    "the database refused the write: {why}"
                )))
            }
            Outcome::LostBefore(why) => {
                self.lost(&why);
                Err(StorageError::Unavailable(format!(
                    "PostgreSQL is unreachable: {why}"
                )))
            }
            Outcome::LostInCommit(why, xid) => {
                self.lost(&why);
                let settled = self.fate_of(xid).await;
                if settled.is_ok() {
                    self.health.groups.fetch_add(1, Ordering::Relaxed);
                }
                settled
            }
        }
    }

    /// Writes `batches` in one transaction.
    async fn transaction(&mut self, batches: &[&[Write]]) -> Outcome {
        let Some(conn) = self.conn.as_ref() else {
            return Outcome::LostBefore("no connection".into());
        };
        let mut collapsed = Collapsed::default();
        for batch in batches {
            collapsed.add(batch);
        }
        let client = &conn.client;
        // BEGIN and every statement go out together, then COMMIT once all
        // are answered: two round trips a group (on a busy machine each is
        // two thread wake-ups). COMMIT is not sent behind the statements
        // in the same flight: a statement that failed on our side (never
        // sent) would not abort the transaction, and COMMIT would keep
        // the rest.
        let work = async {
            let (xid, written) =
                tokio::join!(begin(client), collapsed.write(client, &conn.statements));
            Ok::<_, tokio_postgres::Error>((xid?, written))
        };
        let xid = match timeout(STATEMENT_TIMEOUT, work).await {
            Ok(Ok((xid, Ok(())))) => xid,
            Ok(Ok((_, Err(e)))) | Ok(Err(e)) if is_refusal(&e, client) => {
                return match client.batch_execute("ROLLBACK").await {
                    Ok(()) => Outcome::Refused(describe(&e)),
                    Err(lost) => Outcome::LostBefore(describe(&lost)),
                };
            }
            Ok(Ok((_, Err(e)))) | Ok(Err(e)) => return Outcome::LostBefore(describe(&e)),
            Err(_) => return Outcome::LostBefore("a write took too long".into()),
        };
        match timeout(STATEMENT_TIMEOUT, client.batch_execute("COMMIT")).await {
            Ok(Ok(())) => Outcome::Committed,
            // A deferred check failed at COMMIT: the transaction is gone.
            Ok(Err(e)) if is_refusal(&e, client) => Outcome::Refused(describe(&e)),
            Ok(Err(e)) => Outcome::LostInCommit(describe(&e), xid),
            Err(_) => Outcome::LostInCommit("COMMIT took too long".into(), xid),
        }
    }

    /// Marks the store unwritable until the connection is back.
    fn lost(&mut self, why: &str) {
        if self.conn.take().is_some() {
            tracing::error!(error = %why, "lost PostgreSQL: refusing writes until it is back");
        }
        self.health.writable.store(false, Ordering::SeqCst);
    }

    /// Connects again, every [`RECONNECT_EVERY`], refusing whatever is
    /// queued meanwhile; `false` when asked to stop instead.
    async fn reconnect(&mut self) -> bool {
        loop {
            match Conn::open(&self.url, Duration::ZERO).await {
                Ok(conn) => {
                    self.conn = Some(conn);
                    self.health.writable.store(true, Ordering::SeqCst);
                    tracing::info!("PostgreSQL is back: taking writes again");
                    return true;
                }
                Err(e) => tracing::debug!(error = %e, "PostgreSQL still unreachable"),
            }
            let pause = sleep(RECONNECT_EVERY);
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    _ = &mut pause => break,
                    job = self.jobs.recv() => match job {
                        Some(Job::Batch(_, done)) => {
                            let _ = done.send(Err(StorageError::Unavailable("PostgreSQL is unreachable".into())));
                        }
                        Some(Job::Stop(done)) => {
                            let _ = done.send(());
                            return false;
                        }
                        None => return false,
                    },
                }
            }
        }
    }

    /// Whether transaction `xid`, whose COMMIT went unanswered, committed:
    /// asked of the database once it answers again (within
    /// [`SETTLE_WITHIN`]), else `Uncertain`.
    async fn fate_of(&mut self, xid: i64) -> Result<(), StorageError> {
        let deadline = Instant::now() + SETTLE_WITHIN;
        let uncertain = |why: &str| {
            tracing::error!(xid, why, "a commit's outcome is unknown");
            Err(StorageError::Uncertain(format!(
                "the connection was lost during COMMIT: {why}"
            )))
        };
        while Instant::now() < deadline {
            if self.conn.is_none() {
                if let Ok(Ok(conn)) = timeout(
                    deadline - Instant::now(),
                    Conn::open(&self.url, Duration::ZERO),
                )
                .await
                {
                    self.conn = Some(conn);
                    self.health.writable.store(true, Ordering::SeqCst);
                }
            }
            if let Some(conn) = &self.conn {
                match conn
                    .client
                    .query_one("SELECT txid_status($1)::text", &[&xid])
                    .await
                {
                    Ok(row) => match row.get::<_, Option<&str>>(0) {
                        Some("committed") => return Ok(()),
                        Some("aborted") => {
                            return Err(StorageError::Unavailable(
                                "the connection was lost during COMMIT, which did not happen"
                                    .into(),
                            ))
                        }
                        Some(_) => {}
                        None => return uncertain("its transaction id is too old to look up"),
                    },
                    Err(e) => self.lost(&describe(&e)),
                }
            }
            sleep(RECONNECT_EVERY.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
        uncertain("PostgreSQL did not answer in time")
    }
}

/// Starts a transaction and learns its id, in one round trip.
async fn begin(client: &Client) -> Result<i64, tokio_postgres::Error> {
    let messages = client.simple_query("BEGIN; SELECT txid_current()").await?;
    Ok(messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).and_then(|v| v.parse().ok()),
            _ => None,
        })
        .unwrap_or_default())
}

/// Whether `e` is the database refusing the statement (the connection
/// still usable), rather than the connection failing or being ended.
fn is_refusal(e: &tokio_postgres::Error, client: &Client) -> bool {
    let class = e.code().map(|c| &c.code()[..2]);
    e.as_db_error().is_some() && !client.is_closed() && !matches!(class, Some("08" | "57"))
}
