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

/// Which rows `Dataset::split(test_fraction, seed)` holds out of `n`, decided one row at a
/// time in order, in constant memory: Knuth's selection sampling (Algorithm S, *TAOCP*
/// vol. 2, 3.4.2). Row `t` is held out with probability `(k − s) / (n − t)`, where `s` rows
/// of the first `t` were, so that exactly `k = n_test` are, and every set of `k` rows is
/// equally likely. A reader of a file that cannot hold the rows in memory replays the same
/// decisions from `(n, n_test, seed)` on each pass.
#[derive(Clone, Debug)]
pub(crate) struct Selection {
    rng: ChaCha8Rng,
    /// Rows not yet decided, and how many of them are still to be held out.
    rows_left: u64,
    picks_left: u64,
}

impl Selection {
    /// The decisions for `n` rows of which `n_test` are held out, from `seed`.
    pub(crate) fn new(n: usize, n_test: usize, seed: u64) -> Self {
        debug_assert!(n_test <= n);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(SPLIT_STREAM);
        Selection {
            rng,
            rows_left: n as u64,
            picks_left: n_test as u64,
        }
    }

    /// Whether the next row is held out. Every row is decided by one draw or none: once the
    /// held-out rows are all chosen, or every remaining row must be, no draw is made.
    pub(crate) fn next_held_out(&mut self) -> bool {
        debug_assert!(
            self.rows_left > 0,
            "internal error: more rows than the split knows"
        );
        let held = if self.picks_left == 0 {
            false
        } else if self.picks_left == self.rows_left {
            true
        } else {
            below(&mut self.rng, self.rows_left) < self.picks_left
        };
        self.rows_left -= 1;
        self.picks_left -= u64::from(held);
        held
    }

    /// Decides the next `rows` rows without looking at them.
    pub(crate) fn skip(&mut self, rows: usize) {
        for _ in 0..rows {
            self.next_held_out();
        }
    }
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
    fn selection_holds_out_exactly_n_test_rows_uniformly() {
        // 20 rows, 5 held out, 20,000 seeds: each row is held out with probability 1/4, so
        // its count is binomial(20000, 1/4): mean 5,000, deviation about 61; 400 is more
        // than 6 deviations. Every seed must hold out exactly 5.
        let mut counts = [0usize; 20];
        for seed in 0..20_000 {
            let mut s = Selection::new(20, 5, seed);
            let held: Vec<bool> = (0..20).map(|_| s.next_held_out()).collect();
            assert_eq!(held.iter().filter(|&&h| h).count(), 5, "seed {seed}");
            for (c, h) in counts.iter_mut().zip(held) {
                *c += usize::from(h);
            }
        }
        for c in counts {
            assert!((4_600..5_400).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn selection_pairs_are_uniform_too() {
        // Uniform k-subsets, not merely uniform rows: each of the 10 pairs of 5 rows comes
        // up with probability 1/10 in 20,000 draws (mean 2,000, deviation 42).
        let mut pairs = std::collections::HashMap::new();
        for seed in 0..20_000 {
            let mut s = Selection::new(5, 2, seed);
            let held: Vec<usize> = (0..5).filter(|_| s.next_held_out()).collect();
            *pairs.entry(held).or_insert(0usize) += 1;
        }
        assert_eq!(pairs.len(), 10);
        for (pair, c) in &pairs {
            assert!((1_750..2_250).contains(c), "{pair:?}: {c}");
        }
    }

    #[test]
    fn skipping_rows_replays_the_same_decisions() {
        let mut whole = Selection::new(1000, 300, 9);
        let all: Vec<bool> = (0..1000).map(|_| whole.next_held_out()).collect();
        let mut later = Selection::new(1000, 300, 9);
        later.skip(400);
        let tail: Vec<bool> = (400..1000).map(|_| later.next_held_out()).collect();
        assert_eq!(tail, all[400..]);
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
