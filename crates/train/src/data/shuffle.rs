//! Seeded permutations that stay the same across versions of the `rand` crate.
//!
//! The generator is ChaCha8, whose output for a seed and stream is fixed by its specification
//! (and `rand_chacha` promises value stability). The shuffle itself is written here — a
//! Fisher–Yates pass drawing each index with Lemire's multiply-and-reject method — rather than
//! taken from `rand::seq`, whose algorithms may change between releases; so a seed names the
//! same batch order forever.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The stream [`crate::data::Dataset::split`] draws from; epochs use streams `0, 1, 2, ...`.
pub(crate) const SPLIT_STREAM: u64 = u64::MAX;

/// A permutation of `0..n`, determined by `(seed, stream)`.
pub(crate) fn permutation(n: usize, seed: u64, stream: u64) -> Vec<usize> {
    let mut perm: Vec<usize> = (0..n).collect();
    permute(&mut perm, seed, stream);
    perm
}

/// Shuffles `items` in place as [`permutation`] orders `0..items.len()`: the same swaps, so
/// `permute` on `0..n` as `u32` gives `permutation(n, ..)` in half the memory.
pub(crate) fn permute<I>(items: &mut [I], seed: u64, stream: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    for i in (1..items.len()).rev() {
        let j = below(&mut rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// The rows `Dataset::split(test_fraction, seed)` holds out of `n`, given `n_test` of them
/// (`round(n · test_fraction)`), as a bitset: bit `i % 64` of word `i / 64` is row `i`.
pub(crate) fn held_out(n: usize, n_test: usize, seed: u64) -> Vec<u64> {
    let mut bits = vec![0u64; n.div_ceil(64)];
    let mut mark = |i: usize| bits[i / 64] |= 1 << (i % 64);
    match u32::try_from(n) {
        Ok(n32) => {
            let mut perm: Vec<u32> = (0..n32).collect();
            permute(&mut perm, seed, SPLIT_STREAM);
            perm[..n_test].iter().for_each(|&i| mark(i as usize));
        }
        Err(_) => {
            let perm = permutation(n, seed, SPLIT_STREAM);
            perm[..n_test].iter().for_each(|&i| mark(i));
        }
    }
    bits
}

/// A uniform integer in `0..n` (`n > 0`), by Lemire's method: the high word of
/// `x · n` for a uniform 64-bit `x`, rejecting the few `x` that would bias it.
fn below(rng: &mut impl RngCore, n: u64) -> u64 {
    debug_assert!(n > 0);
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        // 2^64 mod n: the number of low words that must be rejected.
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_holds_every_index_once() {
        let mut p = permutation(1000, 3, 0);
        assert_ne!(p, (0..1000).collect::<Vec<_>>());
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn permutation_depends_on_seed_and_stream_only() {
        assert_eq!(permutation(50, 1, 2), permutation(50, 1, 2));
        assert_ne!(permutation(50, 1, 2), permutation(50, 1, 3));
        assert_ne!(permutation(50, 1, 2), permutation(50, 2, 2));
        assert_eq!(permutation(0, 1, 2), Vec::<usize>::new());
        assert_eq!(permutation(1, 1, 2), vec![0]);
    }

    #[test]
    fn held_out_rows_are_the_split_permutations_first() {
        let perm = permutation(1000, 5, SPLIT_STREAM);
        let bits = held_out(1000, 200, 5);
        for (pos, &i) in perm.iter().enumerate() {
            assert_eq!(bits[i / 64] >> (i % 64) & 1 == 1, pos < 200, "row {i}");
        }
    }

    #[test]
    fn below_is_roughly_uniform() {
        // 60,000 draws over 6 values: each count is binomial(60000, 1/6), mean 10,000 and
        // standard deviation sqrt(60000 · 1/6 · 5/6) ≈ 91; 500 is more than 5 deviations.
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut counts = [0usize; 6];
        for _ in 0..60_000 {
            counts[below(&mut rng, 6) as usize] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
    }
}
