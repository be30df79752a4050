//! The waiting room's draw: a uniformly random order of the early entries,
//! reproducible from its seed, so a draw can be audited.

/// Fisher-Yates with a splitmix64 stream from `seed`, each index drawn
/// without modulo bias (rejection), so every order is equally likely.
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let n = i as u64 + 1;
        let zone = u64::MAX - (u64::MAX % n);
        let j = loop {
            let r = next();
            if r < zone {
                break r % n;
            }
        };
        items.swap(i, j as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shuffle_is_a_permutation_and_every_order_of_three_comes_up() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..200 {
            let mut v = vec![1, 2, 3];
            shuffle(&mut v, seed);
            let mut s = v.clone();
            s.sort_unstable();
            assert_eq!(s, vec![1, 2, 3]);
            seen.insert(v);
        }
        assert_eq!(seen.len(), 6);
    }
}
