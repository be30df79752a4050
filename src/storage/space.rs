//! The free-space guard: writes are refused (503) while the data directory's
//! file system has less than a configured reserve free, or is mounted
//! read-only, *before* sled sees the failure. sled treats an I/O error as
//! fatal for the rest of the process, so refusing early is what lets writes
//! resume by themselves once space comes back.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::StorageError;

/// How long a reading of the file system is trusted.
const RECHECK: Duration = Duration::from_millis(100);

/// Checks the data directory's file system, at most every [`RECHECK`].
pub struct SpaceGuard {
    path: CString,
    min_free: u64,
    last: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl SpaceGuard {
    /// A guard keeping `min_free` bytes free under `path` (0 disables it).
    pub fn new(path: &Path, min_free: u64) -> Self {
        SpaceGuard {
            path: CString::new(path.as_os_str().as_bytes()).unwrap_or_default(),
            min_free,
            last: Mutex::new(None),
        }
    }

    /// `Unavailable` while the file system is read-only or nearly full.
    pub fn check(&self) -> Result<(), StorageError> {
        if self.min_free == 0 {
            return Ok(());
        }
        let mut last = self.last.lock().expect("space guard lock");
        let verdict = match &*last {
            Some((at, verdict)) if at.elapsed() < RECHECK => verdict.clone(),
            _ => {
                let verdict = self.measure();
                *last = Some((Instant::now(), verdict.clone()));
                verdict
            }
        };
        verdict.map_err(StorageError::Unavailable)
    }

    fn measure(&self) -> Result<(), String> {
        // SAFETY: `statvfs` only writes into the zeroed struct we own, and
        // `path` is a valid NUL-terminated string for the whole call.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::statvfs(self.path.as_ptr(), &mut st) };
        if rc != 0 {
            return Err(format!(
                "cannot read the data directory's file system: {}",
                std::io::Error::last_os_error()
            ));
        }
        if st.f_flag & libc::ST_RDONLY != 0 {
            return Err("the data directory's file system is read-only".into());
        }
        #[allow(clippy::useless_conversion)] // the field types differ between platforms
        let free = u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize));
        if free < self.min_free {
            return Err(format!(
                "the data directory's disk is nearly full: {} KiB free, {} KiB kept in reserve",
                free / 1024,
                self.min_free / 1024
            ));
        }
        Ok(())
    }
}
