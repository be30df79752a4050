//! The database side of the store: connecting, the versioned migrations
//! (refinery, embedded from `migrations/`), and the statements every group
//! commit runs, prepared once per connection. Each table is written with
//! one statement over arrays (`unnest`), whatever the group's size.

use std::time::Duration;

use tokio_postgres::{Client, NoTls, Statement};

use crate::storage::StorageError;

mod embedded {
    refinery::embed_migrations!("src/storage/postgres/migrations");
}

/// How long opening a connection may take before the server is taken to
/// be unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A table as the group commit writes it: its key columns (first in
/// `cols`) and every column with its element type (and, where the array's
/// type is not the column's, how the value is cast).
struct Table {
    name: &'static str,
    key: usize,
    cols: &'static [(&'static str, &'static str)],
}

const USERS: Table = Table {
    name: "users",
    key: 1,
    cols: &[
        ("id", "int8"),
        ("email", "text"),
        ("password_hash", "text"),
        ("created_at", "timestamptz"),
    ],
};
const SESSIONS: Table = Table {
    name: "revoked_sessions",
    key: 1,
    cols: &[("id", "int8"), ("expires_at", "timestamptz")],
};
const EVENTS: Table = Table {
    name: "events",
    key: 1,
    cols: &[
        ("id", "int8"),
        ("name", "text"),
        ("venue", "text"),
        ("starts_at", "timestamptz"),
        ("on_sale_at", "timestamptz"),
        ("organizer", "int8"),
        ("queue", "bool"),
        ("sections", "text"),
        ("first_seat", "int8"),
        ("created_at", "timestamptz"),
    ],
};
const TICKETS: Table = Table {
    name: "tickets",
    key: 1,
    cols: &[
        ("id", "int8"),
        ("title", "text"),
        ("price_cents", "int8"),
        ("date", "timestamptz"),
        ("seller", "int8"),
        ("version", "int8"),
        ("status", "text"),
        ("order_id", "int8"),
        ("event_id", "int8"),
        ("section", "text"),
        ("row_label", "text"),
        ("seat_number", "int4"),
    ],
};
const ORDERS: Table = Table {
    name: "orders",
    key: 1,
    cols: &[
        ("id", "int8"),
        ("buyer", "int8"),
        ("status", "text"),
        ("expires_at", "timestamptz"),
        ("version", "int8"),
        ("created_at", "timestamptz"),
        ("cancel_reason", "text"),
        ("payment_id", "int8"),
        ("paid_at", "timestamptz"),
    ],
};
const ORDER_TICKETS: Table = Table {
    name: "order_tickets",
    key: 2,
    cols: &[
        ("order_id", "int8"),
        ("position", "int2"),
        ("ticket_id", "int8"),
        ("title", "text"),
        ("price_cents", "int8"),
        ("date", "timestamptz"),
        ("version", "int8"),
        ("event_id", "int8"),
        ("section", "text"),
        ("row_label", "text"),
        ("seat_number", "int4"),
        ("live", "bool"),
    ],
};
const PAYMENTS: Table = Table {
    name: "payments",
    key: 1,
    cols: &[
        ("id", "int8"),
        ("order_id", "int8"),
        ("charge_id", "text"),
        ("amount_cents", "int8"),
        ("created_at", "timestamptz"),
    ],
};
const ENTRIES: Table = Table {
    name: "queue_entries",
    key: 2,
    cols: &[
        ("event_id", "int8"),
        ("user_id", "int8"),
        ("joined_at", "timestamptz"),
        ("place", "int8"),
        ("status", "text"),
        ("admitted_at", "timestamptz"),
        ("pass_expires_at", "timestamptz"),
        ("order_id", "int8"),
    ],
};
const DRAWS: Table = Table {
    name: "queue_draws",
    key: 1,
    cols: &[
        ("event_id", "int8"),
        ("seed", "int8"),
        ("drawn_at", "timestamptz"),
        ("placed", "int8"),
    ],
};

impl Table {
    /// `INSERT ... SELECT FROM unnest(arrays) ON CONFLICT (key) DO UPDATE`:
    /// one statement for any number of rows, later values replacing
    /// earlier ones. (`sections` is sent as text and stored as jsonb.)
    fn upsert(&self) -> String {
        let names: Vec<&str> = self.cols.iter().map(|c| c.0).collect();
        let arrays: Vec<String> = (self.cols.iter().enumerate())
            .map(|(i, (_, ty))| format!("${}::{ty}[]", i + 1))
            .collect();
        let select: Vec<String> = (self.cols.iter())
            .map(|(name, _)| match *name {
                "sections" => "sections::jsonb".to_owned(),
                other => other.to_owned(),
            })
            .collect();
        let updates: Vec<String> = (names[self.key..].iter())
            .map(|n| format!("{n} = EXCLUDED.{n}"))
            .collect();
        format!(
            "INSERT INTO {t} ({cols}) SELECT {select} FROM unnest({arrays}) AS u({cols}) \
             ON CONFLICT ({key}) DO UPDATE SET {updates}",
            t = self.name,
            cols = names.join(", "),
            select = select.join(", "),
            arrays = arrays.join(", "),
            key = names[..self.key].join(", "),
            updates = updates.join(", "),
        )
    }

    /// `DELETE` of the rows whose keys are in the arrays of the first
    /// `key_cols` columns.
    fn delete_by(&self, key_cols: usize) -> String {
        let names: Vec<&str> = self.cols[..key_cols].iter().map(|c| c.0).collect();
        let arrays: Vec<String> = (self.cols[..key_cols].iter().enumerate())
            .map(|(i, (_, ty))| format!("${}::{ty}[]", i + 1))
            .collect();
        format!(
            "DELETE FROM {t} WHERE ({keys}) IN (SELECT * FROM unnest({arrays}))",
            t = self.name,
            keys = names.join(", "),
            arrays = arrays.join(", "),
        )
    }
}

/// The statements of a group commit, prepared on one connection.
pub struct Statements {
    /// Users, inserted or replaced.
    pub users: Statement,
    /// Revoked sessions, inserted or replaced.
    pub sessions: Statement,
    /// Revocations forgotten.
    pub forget_sessions: Statement,
    /// Events, inserted or replaced.
    pub events: Statement,
    /// Events deleted.
    pub delete_events: Statement,
    /// Tickets, inserted or replaced.
    pub tickets: Statement,
    /// Tickets deleted.
    pub delete_tickets: Statement,
    /// Orders, inserted or replaced.
    pub orders: Statement,
    /// The tickets of orders.
    pub order_tickets: Statement,
    /// Payments, inserted or replaced.
    pub payments: Statement,
    /// Waiting-room entries, inserted or replaced.
    pub entries: Statement,
    /// Waiting-room entries forgotten.
    pub delete_entries: Statement,
    /// Draws, inserted or replaced.
    pub draws: Statement,
    /// Draws forgotten.
    pub delete_draws: Statement,
}

impl Statements {
    /// Prepares every statement on `client`.
    pub async fn prepare(client: &Client) -> Result<Self, tokio_postgres::Error> {
        let p = |sql: String| async move { client.prepare(&sql).await };
        Ok(Statements {
            users: p(USERS.upsert()).await?,
            sessions: p(SESSIONS.upsert()).await?,
            forget_sessions: p(SESSIONS.delete_by(1)).await?,
            events: p(EVENTS.upsert()).await?,
            delete_events: p(EVENTS.delete_by(1)).await?,
            tickets: p(TICKETS.upsert()).await?,
            delete_tickets: p(TICKETS.delete_by(1)).await?,
            orders: p(ORDERS.upsert()).await?,
            order_tickets: p(ORDER_TICKETS.upsert()).await?,
            payments: p(PAYMENTS.upsert()).await?,
            entries: p(ENTRIES.upsert()).await?,
            delete_entries: p(ENTRIES.delete_by(2)).await?,
            draws: p(DRAWS.upsert()).await?,
            delete_draws: p(DRAWS.delete_by(1)).await?,
        })
    }
}

/// Opens a session to `url` (within [`CONNECT_TIMEOUT`]) with
/// `synchronous_commit` on, its connection driven on the current runtime;
/// the returned receiver resolves when that connection ends. A server that
/// cannot be reached, or refuses the credentials, is
/// [`StorageError::Unreachable`].
pub async fn connect(
    url: &str,
) -> Result<(Client, tokio::sync::oneshot::Receiver<()>), StorageError> {
    let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
        StorageError::Unreachable(format!(
            "storage.postgres_url is not a connection string: {e}"
        ))
    })?;
    config
        .connect_timeout(CONNECT_TIMEOUT)
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(10))
        .application_name("ticketing");
    let (client, connection) = tokio::time::timeout(CONNECT_TIMEOUT, config.connect(NoTls))
        .await
        .map_err(|_| StorageError::Unreachable("connecting to PostgreSQL timed out".into()))?
        .map_err(|e| {
            StorageError::Unreachable(format!("cannot connect to PostgreSQL: {}", describe(&e)))
        })?;
    let (ended, on_end) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "the PostgreSQL connection ended");
        }
        let _ = ended.send(());
    });
    client
        .batch_execute("SET synchronous_commit = on")
        .await
        .map_err(|e| {
            StorageError::Unreachable(format!("setting up the session: {}", describe(&e)))
        })?;
    Ok((client, on_end))
}

/// Brings the database to this build's schema, refusing one that holds a
/// migration this build does not know (written by a newer binary).
pub async fn migrate(client: &mut Client) -> Result<(), StorageError> {
    let runner = embedded::migrations::runner();
    let known = (runner.get_migrations().iter())
        .map(|m| m.version())
        .max()
        .unwrap_or_default();
    let failed = |e: tokio_postgres::Error| {
        StorageError::Unavailable(format!("reading the schema version: {}", describe(&e)))
    };
    let history = "SELECT to_regclass('refinery_schema_history') IS NOT NULL";
    if client
        .query_one(history, &[])
        .await
        .map_err(failed)?
        .get::<_, bool>(0)
    {
        let newest = "SELECT version, name FROM refinery_schema_history \
                      ORDER BY version DESC LIMIT 1";
        if let Some(row) = client.query_opt(newest, &[]).await.map_err(failed)? {
            let (version, name): (i32, String) = (row.get(0), row.get(1));
            if version > known {
                return Err(StorageError::Incompatible(format!(
                    "the database has schema version {version} ({name}); \
                     this build knows up to version {known}"
                )));
            }
        }
    }
    let report = runner
        .run_async(client)
        .await
        .map_err(|e| StorageError::Incompatible(format!("migrating the database: {e}")))?;
    for m in report.applied_migrations() {
        tracing::info!(
            version = m.version(),
            name = m.name(),
            "applied a migration"
        );
    }
    Ok(())
}

/// A client error with its causes (the database's own message, when it
/// sent one): tokio-postgres shows only the outermost part.
pub fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return match db.detail() {
            Some(detail) => format!("{}: {detail}", db.message()),
            None => db.message().to_owned(),
        };
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}
