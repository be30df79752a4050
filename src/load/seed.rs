//! `ticketing seed`: prepares users, tickets and pre-minted session tokens
//! straight in a (stopped) server's data directory, so that no load scenario
//! pays for bcrypt or for thousands of signups through the rate limits.
//!
//! Every seeded user has the password [`SEED_PASSWORD`], hashed once at the
//! configured cost and shared, and a token signed with the directory's JWT
//! secret (or the configured one), exactly as a signin would issue it. The
//! tokens and ids go to a JSON file ([`SeedFile`]) that `ticketing load
//! --seed FILE` reads.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::actors::Sessions;
use crate::clock::Clock;
use crate::config::{Settings, StoreBackend};
use crate::domain::{
    Email, EventDate, IdGenerator, Price, Ticket, TicketId, Timestamp, Title, User, UserId,
};
use crate::http::auth::Tokens;
use crate::storage::{Storage, Write};

/// The password of every seeded user (for signin tests by hand).
pub const SEED_PASSWORD: &str = "load-test-password";

/// Records written per storage batch while seeding.
const BATCH: usize = 10_000;

/// One seeded user, with a token the server accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedUser {
    /// The user's id.
    pub id: String,
    /// The user's email.
    pub email: String,
    /// A session token (send as `Authorization: Bearer`).
    pub token: String,
}

/// What `ticketing seed` wrote, for `ticketing load --seed`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SeedFile {
    /// Users with tokens.
    pub users: Vec<SeedUser>,
    /// Ids of the seeded tickets, oldest first.
    pub tickets: Vec<String>,
}

/// How long seeding took, for the report.
#[derive(Debug, Clone, Copy)]
pub struct SeedTiming {
    /// Seconds spent writing (and flushing) records.
    pub secs: f64,
}

/// Writes `users` users and `tickets` tickets (sold by the first user) into
/// the data directory of `settings`, which no server may have open, and
/// returns their ids and tokens.
pub async fn seed_dir(
    settings: &Settings,
    users: usize,
    tickets: usize,
) -> Result<(SeedFile, SeedTiming), String> {
    let start = Instant::now();
    let (storage, snapshot) = crate::storage::open(&settings.storage).await.map_err(|e| {
        match settings.storage.backend {
            StoreBackend::Sled => format!(
                "{e} (is a server running on {}? stop it while seeding)",
                settings.storage.path.display()
            ),
            StoreBackend::Postgres => e.to_string(),
        }
    })?;
    let ids = Arc::new(IdGenerator::starting_after(snapshot.max_id));
    let secret = match settings.auth.jwt_secret.as_str() {
        "" => storage.jwt_secret().await.map_err(|e| e.to_string())?,
        s => s.as_bytes().to_vec(),
    };
    let cost = settings.auth.bcrypt_cost;
    let hash = tokio::task::spawn_blocking(move || bcrypt::hash(SEED_PASSWORD, cost))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let tokens = Tokens::new(
        &secret,
        settings.auth.session_secs,
        false,
        Arc::new(Sessions::new(storage.clone(), Clock::system(), Vec::new())),
        ids.clone(),
        Clock::system(),
    );
    // A tag unique to this seeding keeps emails unique across repeated seeds.
    let tag = format!("{:x}", ids.next());
    let now = Timestamp::now();
    let mut out = SeedFile::default();
    let mut seller = None;
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..users {
        let email = Email::parse(&format!("load{i}-{tag}@example.com"))
            .map_err(|e| format!("seed email: {e}"))?;
        let user = User {
            id: UserId(ids.next()),
            email,
            password_hash: hash.clone(),
            created_at: now,
        };
        let token = tokens.issue(&user).map_err(|e| e.to_string())?;
        seller.get_or_insert(user.id);
        out.users.push(SeedUser {
            id: user.id.to_string(),
            email: user.email.as_str().to_owned(),
            token,
        });
        batch.push(Write::User(user));
        if batch.len() == BATCH {
            commit(&storage, &mut batch).await?;
        }
    }
    commit(&storage, &mut batch).await?;
    if tickets > 0 {
        let seller = seller.ok_or("tickets need a seller: seed at least one user")?;
        let price = Price::from_cents(2500).map_err(|e| e.to_string())?;
        for i in 0..tickets {
            let title = Title::parse(&format!("Load test seat {i}")).map_err(|e| e.to_string())?;
            let ticket = Ticket::new(TicketId(ids.next()), seller, title, price, EventDate(None));
            out.tickets.push(ticket.id.to_string());
            batch.push(Write::Ticket(ticket));
            if batch.len() == BATCH {
                commit(&storage, &mut batch).await?;
            }
        }
        commit(&storage, &mut batch).await?;
    }
    drop(tokens);
    tokio::task::spawn_blocking(move || storage.close())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok((
        out,
        SeedTiming {
            secs: start.elapsed().as_secs_f64(),
        },
    ))
}

async fn commit(storage: &Storage, batch: &mut Vec<Write>) -> Result<(), String> {
    if batch.is_empty() {
        return Ok(());
    }
    let writes = std::mem::take(batch);
    storage.commit(writes).await.map_err(|e| e.to_string())
}

/// Reads a seed file written by `ticketing seed --out`.
pub fn read_seed_file(path: &Path) -> Result<SeedFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a seed file: {e}", path.display()))
}
