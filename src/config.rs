//! Typed settings: the embedded `config/default.toml`, then an optional
//! `--config FILE`, then `TICKETING_<SECTION>__<KEY>` environment variables.
//!
//! Settings are validated once here, so the rest of the server can trust them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The defaults compiled into the binary, so `ticketing` runs with no files.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// The longest `server.body_read_timeout_secs` accepted: a day.
const MAX_BODY_READ_TIMEOUT_SECS: u64 = 86_400;

/// Everything the server can be told, grouped as in `config/default.toml`.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Listening and HTTP behaviour.
    pub server: ServerSettings,
    /// Where data lives.
    pub storage: StorageSettings,
    /// Reservation rules.
    pub orders: OrderSettings,
    /// The waiting room of queued events.
    pub queue: QueueSettings,
    /// Passwords and sessions.
    pub auth: AuthSettings,
    /// Abuse limits.
    pub limits: LimitSettings,
}

/// `[server]`: the listener.
#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    /// Listen address; port 0 picks a free port.
    pub addr: SocketAddr,
    /// Browsers reach the server over HTTPS (TLS terminated in front): mark
    /// the session cookie `Secure`, and take `https` as its own scheme.
    pub secure_cookies: bool,
    /// Seconds in-flight requests get to finish at shutdown.
    pub shutdown_grace_secs: u64,
    /// Open connections (live WebSocket sessions included) at most.
    pub max_connections: usize,
    /// Seconds a client gets to send a request's headers.
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may stay silent before it is closed.
    pub idle_timeout_secs: u64,
    /// Seconds any request body gets to arrive, from the end of its headers
    /// (a body trickled in a byte at a time would otherwise hold its
    /// connection for ever: each byte resets the idle timeout).
    pub body_read_timeout_secs: u64,
    /// Bytes per second a long body must keep up: each byte received adds
    /// its share of a second to `body_read_timeout_secs`, so a slow but
    /// steady upload of any allowed size finishes.
    pub body_min_bytes_per_sec: u64,
    /// Open connections from one client address (IPv6: one /64) at most, so
    /// one client cannot take all of `max_connections`; 0 turns it off. Off
    /// when `limits.trust_forwarded_for` is set: behind a proxy every
    /// connection comes from the proxy.
    pub max_connections_per_addr: usize,
}

/// `[storage]`: which store of record, and its settings.
#[derive(Debug, Clone, Deserialize)]
pub struct StorageSettings {
    /// The store of record: embedded sled (the default) or PostgreSQL.
    pub backend: StoreBackend,
    /// The PostgreSQL connection string (`postgres://user:pass@host/db` or
    /// `host=/run/postgresql dbname=ticketing`), required with
    /// `backend = "postgres"`.
    pub postgres_url: String,
    /// Data directory, created when missing.
    pub path: PathBuf,
    /// Free space (MiB) kept in reserve: below it, writes answer 503 until
    /// space comes back. 0 turns the guard off.
    pub min_free_mib: u64,
    /// Size (KiB) of a write-ahead log segment; each full one is folded
    /// into sled in the background.
    pub wal_checkpoint_kib: u64,
}

/// Where the state of record lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// sled with a write-ahead log in `storage.path`: nothing to install.
    Sled,
    /// A PostgreSQL database at `storage.postgres_url`.
    Postgres,
}

/// `[orders]`: holds.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderSettings {
    /// How long a reservation holds its ticket, in seconds.
    pub reservation_secs: u64,
}

/// `[queue]`: the waiting room of queued events.
#[derive(Debug, Clone, Deserialize)]
pub struct QueueSettings {
    /// Admitted buyers shopping at once, per event.
    pub active_buyers: usize,
    /// How long an admission pass lasts unused, in seconds.
    pub pass_secs: u64,
}

/// `[auth]`: password hashing and session tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// bcrypt cost factor (4 to 31).
    pub bcrypt_cost: u32,
    /// HS256 signing secret; empty means "generate once, keep in the data dir".
    pub jwt_secret: String,
    /// Token lifetime in seconds.
    pub session_secs: u64,
}

/// `[limits]`: rate limits on the authentication routes.
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Failed signins for one email per minute before 429.
    pub failed_signins_per_email: u32,
    /// Signins plus signups from one client address per minute before 429.
    pub auth_per_addr: u32,
    /// Behind a reverse proxy: count the address it appends to
    /// `X-Forwarded-For` instead of the proxy's own, and take its
    /// `X-Forwarded-Host` and `X-Forwarded-Proto` as the browser's.
    pub trust_forwarded_for: bool,
}

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A source could not be read or parsed, or a value has the wrong type.
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value parsed but is out of its allowed range.
    #[error("configuration: {0}")]
    Invalid(String),
}

impl Default for Settings {
    /// The embedded defaults, without looking at files or the environment.
    fn default() -> Self {
        Self::from_sources(None, false).expect("embedded config/default.toml is valid")
    }
}

impl Settings {
    /// Loads the defaults, then `file` if given, then `TICKETING_*` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::from_sources(file, true)
    }

    fn from_sources(file: Option<&Path>, env: bool) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder().add_source(config::File::from_str(
            DEFAULT_TOML,
            config::FileFormat::Toml,
        ));
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
        }
        if env {
            builder = builder.add_source(
                config::Environment::with_prefix("TICKETING")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true),
            );
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks ranges that serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            return Err(ConfigError::Invalid(format!(
                "auth.bcrypt_cost must be 4 to 31, not {}",
                self.auth.bcrypt_cost
            )));
        }
        if self.queue.active_buyers == 0 || self.queue.pass_secs == 0 {
            return Err(ConfigError::Invalid(
                "queue.active_buyers and queue.pass_secs must be at least 1".into(),
            ));
        }
        if self.orders.reservation_secs == 0 {
            return Err(ConfigError::Invalid(
                "orders.reservation_secs must be at least 1".into(),
            ));
        }
        if self.server.max_connections == 0
            || self.server.header_read_timeout_secs == 0
            || self.server.idle_timeout_secs == 0
            || self.server.body_read_timeout_secs == 0
            || self.server.body_min_bytes_per_sec == 0
        {
            return Err(ConfigError::Invalid(
                "server.max_connections, header_read_timeout_secs, idle_timeout_secs, body_read_timeout_secs and body_min_bytes_per_sec must be at least 1"
                    .into(),
            ));
        }
        if self.server.body_read_timeout_secs > MAX_BODY_READ_TIMEOUT_SECS {
            // A deadline is an instant: one past the clock's range would
            // panic in every request that reads a body.
            return Err(ConfigError::Invalid(format!(
                "server.body_read_timeout_secs must be at most {MAX_BODY_READ_TIMEOUT_SECS}, not {}",
                self.server.body_read_timeout_secs
            )));
        }
        if self.storage.wal_checkpoint_kib == 0 {
            return Err(ConfigError::Invalid(
                "storage.wal_checkpoint_kib must be at least 1".into(),
            ));
        }
        if self.storage.backend == StoreBackend::Postgres && self.storage.postgres_url.is_empty() {
            return Err(ConfigError::Invalid(
                "storage.postgres_url is required with storage.backend = \"postgres\"".into(),
            ));
        }
        if self.limits.failed_signins_per_email == 0 || self.limits.auth_per_addr == 0 {
            return Err(ConfigError::Invalid(
                "limits.failed_signins_per_email and limits.auth_per_addr must be at least 1"
                    .into(),
            ));
        }
        if !self.auth.jwt_secret.is_empty() && self.auth.jwt_secret.len() < 32 {
            return Err(ConfigError::Invalid(
                "auth.jwt_secret must be at least 32 bytes (or empty: one is generated)".into(),
            ));
        }
        if self.auth.session_secs == 0 {
            return Err(ConfigError::Invalid(
                "auth.session_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The hold window as a duration.
    pub fn reservation_window(&self) -> Duration {
        Duration::from_secs(self.orders.reservation_secs)
    }

    /// Settings for tests and benches: port 0, data in `dir`, cheap bcrypt,
    /// a hold window of `reservation_secs`, and no per-address connection
    /// cap (every test client connects from 127.0.0.1; tests of the cap set
    /// it).
    pub fn for_tests(dir: &Path, reservation_secs: u64) -> Self {
        let mut s = Self::default();
        s.server.addr = "127.0.0.1:0".parse().expect("literal address");
        s.server.max_connections_per_addr = 0;
        s.storage.path = dir.to_path_buf();
        s.orders.reservation_secs = reservation_secs;
        s.auth.bcrypt_cost = 4;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_match_the_contract() {
        let s = Settings::default();
        assert_eq!(s.server.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(s.storage.path, PathBuf::from("./data"));
        assert_eq!(s.storage.backend, StoreBackend::Sled);
        assert_eq!(s.orders.reservation_secs, 900);
        assert_eq!(s.auth.bcrypt_cost, 12);
        assert_eq!(s.auth.session_secs, 86400);
        assert_eq!(s.limits.failed_signins_per_email, 10);
        assert_eq!(s.limits.auth_per_addr, 600);
        assert_eq!(s.server.body_read_timeout_secs, 10);
        assert_eq!(s.server.max_connections_per_addr, 512);
    }

    #[test]
    fn zero_limits_and_short_secrets_are_refused() {
        let mut s = Settings::default();
        s.limits.auth_per_addr = 0;
        assert!(s.validate().is_err());
        let mut s = Settings::default();
        s.server.body_read_timeout_secs = 0;
        assert!(s.validate().is_err());
        let mut s = Settings::default();
        s.server.body_read_timeout_secs = u64::MAX;
        assert!(s.validate().is_err());
        s.server.body_read_timeout_secs = MAX_BODY_READ_TIMEOUT_SECS;
        assert!(s.validate().is_ok());
        let mut s = Settings::default();
        s.server.body_min_bytes_per_sec = 0;
        assert!(s.validate().is_err());
        let mut s = Settings::default();
        s.auth.jwt_secret = "short".into();
        assert!(s.validate().is_err());
        s.auth.jwt_secret = "x".repeat(32);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn out_of_range_cost_is_refused() {
        let mut s = Settings::default();
        s.auth.bcrypt_cost = 3;
        assert!(s.validate().is_err());
    }
}
