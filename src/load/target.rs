//! Which server is loaded: a running one named by `--target` (loopback
//! only: anything else is refused) or one started in this process on a
//! seeded temp dir (`--embedded`; on the configured store, so on PostgreSQL
//! when `storage.backend` says so).

use std::net::SocketAddr;
use std::time::Duration;

use super::seed::{self, SeedFile, SeedUser};
use super::{LoadArgs, Scenario};
use crate::config::Settings;
use crate::{App, RunningApp};

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

/// Resolves `url` and refuses anything but loopback.
pub(super) async fn remote(url: &str, args: &LoadArgs) -> Result<Target, String> {
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
pub(super) async fn embedded(args: &LoadArgs, base: &Settings) -> Result<Target, String> {
    let dir = tempfile::Builder::new()
        .prefix("ticketing-load-")
        .tempdir()
        .map_err(|e| format!("temp dir: {e}"))?;
    let window = match args.scenario {
        Scenario::Event | Scenario::Onsale => args.hold_secs.max(1),
        _ => base.orders.reservation_secs,
    };
    let mut settings = Settings::for_tests(dir.path(), window);
    // The store configured (TICKETING_STORAGE__BACKEND and __POSTGRES_URL):
    // the same scenarios measure either store. A PostgreSQL database is
    // used as it is: give each run an empty one.
    settings.storage.backend = base.storage.backend;
    settings.storage.postgres_url = base.storage.postgres_url.clone();
    settings.auth.bcrypt_cost = args.bcrypt_cost;
    settings.auth.jwt_secret = String::new();
    settings.queue.active_buyers = args.active_buyers.max(1);
    settings.queue.pass_secs = args.pass_secs.max(1);
    // One client address makes every request: the per-address limits would
    // measure themselves, not the server.
    settings.limits.auth_per_addr = u32::MAX;
    settings.limits.failed_signins_per_email = u32::MAX;
    // Thousands of subscribers connect from 127.0.0.1.
    settings.server.max_connections_per_addr = 0;
    let users = match args.scenario {
        Scenario::FlashSale | Scenario::Event | Scenario::Onsale => {
            args.buyers().max(args.concurrency) + 1
        }
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
}
