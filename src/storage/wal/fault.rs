//! Injected failures of the log's own steps, for tests of what a failed
//! step leaves: a segment's append (a failed flush) and a fold. Each is
//! counted per thread, so tests running side by side do not fail each
//! other's; a step consumes one of its thread's failures when it starts.

use std::cell::Cell;
use std::thread::LocalKey;

thread_local! {
    /// Appends on this thread still to fail.
    static APPENDS: Cell<usize> = const { Cell::new(0) };
    /// Folds started from this thread still to fail.
    static FOLDS: Cell<usize> = const { Cell::new(0) };
}

/// Makes the next `n` appends made on this thread fail.
pub fn fail_appends(n: usize) {
    APPENDS.with(|c| c.set(n));
}

/// Makes the next fold started from this thread fail.
pub fn fail_next_fold() {
    FOLDS.with(|c| c.set(1));
}

/// Whether the append made now fails.
pub(super) fn append_fails() -> bool {
    take(&APPENDS)
}

/// Whether the fold starting now fails.
pub(super) fn fold_fails() -> bool {
    take(&FOLDS)
}

/// Consumes one of `failures`, if any is left.
fn take(failures: &'static LocalKey<Cell<usize>>) -> bool {
    failures.with(|c| {
        let n = c.get();
        c.set(n.saturating_sub(1));
        n > 0
    })
}
