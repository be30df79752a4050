//! A bounded pool of keep-alive connections shared by many simulated
//! buyers: a hundred thousand buyers, `--concurrency` sockets.

use std::net::{IpAddr, SocketAddr};
use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::load::client::{Conn, Outcome};

/// At most `size` connections, each lent to one buyer at a time.
pub struct Pool {
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    addr: SocketAddr,
    bind: Option<IpAddr>,
}

impl Pool {
    /// A pool of up to `size` connections to `addr` from `bind`.
    pub fn new(addr: SocketAddr, bind: Option<IpAddr>, size: usize) -> Self {
        Pool {
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1)),
            addr,
            bind,
        }
    }

    /// A connection, once one is free; it goes back to the pool on drop.
    pub async fn get(&self) -> Lease<'_> {
        let permit = self.permits.acquire().await.expect("the pool never closes");
        let conn = self.idle.lock().expect("pool lock").pop();
        Lease {
            pool: self,
            conn: Some(conn.unwrap_or_else(|| Conn::bound(self.addr, self.bind))),
            _permit: permit,
        }
    }

    /// POSTs `body` to `path` on a connection of the pool.
    pub async fn post(&self, path: &str, token: Option<&str>, body: String) -> Outcome {
        self.get().await.post(path, token, body).await
    }
}

/// One connection lent by a [`Pool`].
pub struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    _permit: SemaphorePermit<'a>,
}

impl Deref for Lease<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("held until drop")
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("held until drop")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle.lock().expect("pool lock").push(conn);
        }
    }
}
