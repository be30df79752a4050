//! The log against a real sled in a temporary directory: replay after a
//! crash, failed flushes, checkpoints, the spare segment; helpers the
//! fold's tests share.

use super::super::sled_backend::SledBackend;
use super::segment::{LEGACY_LOG, SEGMENT_PREFIX};
use super::*;

/// A put of `v` at `k`.
pub(super) fn put(k: &str, v: &str) -> (Vec<u8>, Option<Vec<u8>>) {
    (k.as_bytes().to_vec(), Some(v.as_bytes().to_vec()))
}

/// The log over a fresh sled in `dir`.
pub(super) fn open(dir: &Path, checkpoint_bytes: u64) -> WalBackend {
    let sled: Arc<dyn Backend> = Arc::new(SledBackend::open(dir).unwrap());
    WalBackend::open(sled, dir, checkpoint_bytes).unwrap()
}

/// The value at `k`, as text.
pub(super) fn value(wal: &WalBackend, k: &str) -> Option<String> {
    wal.get(k.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

#[test]
fn a_flushed_log_is_replayed_after_a_crash_and_reads_see_only_what_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = open(dir.path(), 1 << 20);
        wal.apply(vec![put("t/a", "1")]).unwrap();
        wal.apply(vec![put("t/a", "2"), put("t/b", "x")]).unwrap();
        wal.apply(vec![(b"t/b".to_vec(), None)]).unwrap();
        // Nothing is visible before it is durable.
        assert_eq!(value(&wal, "t/a"), None);
        wal.flush().unwrap();
        // Reads see the overlay before any checkpoint.
        assert_eq!(value(&wal, "t/a").as_deref(), Some("2"));
        assert_eq!(value(&wal, "t/b"), None);
        assert_eq!(
            wal.scan(b"t/").unwrap(),
            vec![(b"t/a".to_vec(), b"2".to_vec())]
        );
        wal.flush().unwrap();
        // Written after the last flush: not durable, may be lost.
        wal.apply(vec![put("t/c", "lost")]).unwrap();
        // Dropped without a checkpoint: a crash, as far as sled knows.
    }
    let wal = open(dir.path(), 1 << 20);
    assert_eq!(value(&wal, "t/a").as_deref(), Some("2"));
    assert_eq!(value(&wal, "t/b"), None);
    assert_eq!(value(&wal, "t/c"), None);
    let files = log_files(dir.path()).unwrap();
    assert_eq!(files.len(), 1, "replayed segments are deleted: {files:?}");
    let fresh = std::fs::read(&files[0].1).unwrap();
    assert!(
        fresh.len() as u64 >= 1 << 20 && fresh.iter().all(|b| *b == 0),
        "the new segment is zero-filled ahead of use"
    );
}

#[test]
fn the_first_rotations_segment_is_zero_filled_in_the_background_once_the_log_is_half_full() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open(dir.path(), 64 * 1024);
    let write = |i: usize| {
        wal.apply(vec![put(&format!("k/{i}"), &"v".repeat(1024))])
            .unwrap();
        wal.flush().unwrap();
    };
    write(0);
    let spare_of = |wal: &WalBackend| {
        let mut log = wal.log.lock().unwrap();
        wal.reap_fold(&mut log, true);
        let active = log.active.seq;
        (active, log.spare.as_ref().map(|s| (s.seq, s.path.clone())))
    };
    assert_eq!(spare_of(&wal).1, None, "a short-lived log writes no spare");
    for i in 1..40 {
        write(i);
    }
    let (active, spare) = spare_of(&wal);
    let (seq, path) = spare.expect("a spare once the log is half full");
    assert_eq!(seq, active + 1);
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.len() as u64 >= 64 * 1024 && bytes.iter().all(|b| *b == 0),
        "the spare is zero-filled to the checkpoint size"
    );
    let mut log = wal.log.lock().unwrap();
    let next = wal.next_segment(&mut log).unwrap();
    assert_eq!(next.path, path, "the first rotation takes it");
}

#[test]
fn a_failed_flush_leaves_no_trace_now_or_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = open(dir.path(), 1 << 20);
        let kept = wal.enqueue(vec![put("t/kept", "1")]);
        wal.flush().unwrap();
        assert!(kept.blocking_recv().unwrap().is_ok());
        // Queued, not yet durable: not visible either.
        let refused = wal.enqueue(vec![put("t/refused", "x"), put("t/kept", "2")]);
        assert_eq!(value(&wal, "t/refused"), None);
        super::fault::fail_appends(1);
        assert!(wal.flush().is_err());
        assert!(matches!(
            refused.blocking_recv().unwrap(),
            Err(StorageError::Unavailable(_))
        ));
        assert_eq!(value(&wal, "t/refused"), None, "dropped, not retried");
        assert_eq!(value(&wal, "t/kept").as_deref(), Some("1"));
        wal.flush().unwrap();
        assert_eq!(value(&wal, "t/refused"), None);
        let later = wal.enqueue(vec![put("t/later", "y")]);
        wal.flush().unwrap();
        assert!(later.blocking_recv().unwrap().is_ok());
        assert_eq!(value(&wal, "t/later").as_deref(), Some("y"));
        // Dropped without a checkpoint: a crash, as far as sled knows.
    }
    let wal = open(dir.path(), 1 << 20);
    assert_eq!(value(&wal, "t/kept").as_deref(), Some("1"));
    assert_eq!(value(&wal, "t/refused"), None);
    assert_eq!(value(&wal, "t/later").as_deref(), Some("y"));
}

#[test]
fn replay_applies_segments_oldest_first_over_a_backend_already_past_some() {
    let dir = tempfile::tempdir().unwrap();
    {
        // The backend already has segment 3's fold, as if a crash
        // came after the fold but before the segment's deletion.
        let sled = SledBackend::open(dir.path()).unwrap();
        sled.apply(vec![put("a", "3"), put("b", "3")]).unwrap();
        sled.flush().unwrap();
    }
    let write = |name: &str, batches: &[Batch]| {
        let bytes: Vec<u8> = batches.iter().flat_map(frame).collect();
        let mut padded = bytes.clone();
        padded.extend(vec![0u8; 4096]);
        std::fs::write(dir.path().join(name), padded).unwrap();
    };
    write(LEGACY_LOG, &[vec![put("a", "0"), put("c", "0")]]);
    write(
        &format!("{SEGMENT_PREFIX}{:020}", 3),
        &[vec![put("a", "2")], vec![put("a", "3"), put("b", "3")]],
    );
    write(
        &format!("{SEGMENT_PREFIX}{:020}", 12),
        &[vec![put("b", "12")]],
    );
    let wal = open(dir.path(), 1 << 20);
    assert_eq!(value(&wal, "a").as_deref(), Some("3"));
    assert_eq!(value(&wal, "b").as_deref(), Some("12"));
    assert_eq!(value(&wal, "c").as_deref(), Some("0"));
    let files = log_files(dir.path()).unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0, 13, "numbering goes on after the highest");
}

#[test]
fn a_checkpoint_folds_everything_and_leaves_one_empty_segment() {
    let dir = tempfile::tempdir().unwrap();
    {
        let wal = open(dir.path(), 1024);
        for i in 0..50 {
            wal.apply(vec![put(&format!("k/{i}"), &"v".repeat(64))])
                .unwrap();
            wal.flush().unwrap();
        }
        wal.checkpoint().unwrap();
        let files = log_files(dir.path()).unwrap();
        assert!(
            files.len() <= 2,
            "the active segment and maybe a spare: {files:?}"
        );
        for (_, path) in files {
            let bytes = std::fs::read(path).unwrap();
            assert!(frames(&bytes).is_empty(), "nothing left to replay");
        }
    }
    // sled alone (no log) has every write.
    let sled = SledBackend::open(dir.path()).unwrap();
    assert_eq!(sled.scan(b"k/").unwrap().len(), 50);
}
