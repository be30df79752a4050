//! One frame of the write-ahead log: a batch of whole-value puts and
//! removes, encoded so that a torn write (a crash mid-`write`) is detected
//! at replay and dropped instead of applied.
//!
//! Frame: length (u32, little-endian) | CRC-32 of the body | body (postcard);
//! a zero length ends the segment (its zero fill).

/// What one frame holds: the batch given to `apply`, in order.
pub(super) type Batch = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// The bytes of one frame holding `batch`.
pub(super) fn frame(batch: &Batch) -> Vec<u8> {
    let body = postcard::to_allocvec(batch).expect("postcard encodes byte vectors");
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The whole, intact frames at the start of `bytes`.
pub(super) fn frames(bytes: &[u8]) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 8 {
        let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        if len == 0 {
            break;
        }
        let Some(body) = rest.get(8..8 + len) else {
            break;
        };
        if crc32fast::hash(body) != crc {
            break;
        }
        match postcard::from_bytes::<Batch>(body) {
            Ok(batch) => out.push(batch),
            Err(_) => break,
        }
        rest = &rest[8 + len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_a_torn_tail_is_dropped() {
        let a: Batch = vec![(b"k1".to_vec(), Some(b"v1".to_vec()))];
        let b: Batch = vec![(b"k2".to_vec(), None), (b"k3".to_vec(), Some(vec![7; 300]))];
        let mut bytes = frame(&a);
        bytes.extend(frame(&b));
        assert_eq!(frames(&bytes), vec![a.clone(), b.clone()]);
        // Torn: the last frame cut short, or its body damaged.
        assert_eq!(frames(&bytes[..bytes.len() - 1]), vec![a.clone()]);
        let mut damaged = bytes.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 0xff;
        assert_eq!(frames(&damaged), vec![a.clone()]);
        assert!(frames(&[1, 2, 3]).is_empty());
        // The zero fill after the last frame ends the segment.
        let mut padded = frame(&a);
        padded.extend([0u8; 64]);
        assert_eq!(frames(&padded), vec![a]);
    }
}
