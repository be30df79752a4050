//! Opening a data directory with sled itself, in tests that write or read
//! records behind the server's back. sled lets go of its lock file a moment
//! after the last handle is dropped (a background thread holds one), so an
//! open right after a close waits for it, up to 5 s.

use std::path::Path;
use std::time::{Duration, Instant};

/// The directory opened with sled, once its lock is free.
pub fn open_sled(dir: &Path) -> sled::Db {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match sled::open(dir) {
            Ok(db) => return db,
            Err(e) if Instant::now() < deadline => {
                eprintln!("sled busy, retrying: {e}");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("open {}: {e}", dir.display()),
        }
    }
}

/// Closes `db` and waits until its lock is free, so another process may
/// open the directory.
pub fn close_sled(dir: &Path, db: sled::Db) {
    db.flush().expect("flush");
    drop(db);
    drop(open_sled(dir));
}
