//! How many threads kernels may use: [`set_num_threads`] and [`num_threads`].
//!
//! Only large matrix products (from 2¹⁹ multiply-adds) and elementwise kernels on large
//! arrays (from 2¹⁵ elements) run on more than one thread; everything else, the scalar tape
//! included, runs on the calling thread. The count is process-wide, like PyTorch's
//! `torch.set_num_threads`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Element;
use crate::array::buffers;

mod pool;

/// 0 until first read or set.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Matrix products with fewer multiply-adds (`m·k·n`) than this run on one thread: below it,
/// handing work to a second thread costs more than it saves. (On two threads, 128×128·128×32
/// took 15 µs either way; 128×128·128×64, 32 against 18–22 µs; 128×128·128×128, 62 against
/// 34 µs.)
pub(crate) const PARALLEL_GEMM_MIN: usize = 1 << 19;

/// Sets how many threads large matrix products and elementwise kernels may use (at least 1).
///
/// ```
/// tape::set_num_threads(1);
/// assert_eq!(tape::num_threads(), 1);
/// ```
pub fn set_num_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// How many threads large matrix products and elementwise kernels may use: the last
/// [`set_num_threads`], or else the `TAPEGRAD_THREADS` environment variable, or else the
/// number of available cores.
///
/// ```
/// assert!(tape::num_threads() >= 1);
/// ```
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let n = std::env::var("TAPEGRAD_THREADS")
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .max(1);
            // Keep a count set concurrently rather than overwrite it.
            match THREADS.compare_exchange(0, n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => n,
                Err(set) => set,
            }
        }
        n => n,
    }
}

/// The threads a product of `m·k` by `k·n` should use.
#[inline]
pub(crate) fn gemm_threads(m: usize, k: usize, n: usize) -> usize {
    if m.saturating_mul(k).saturating_mul(n) < PARALLEL_GEMM_MIN {
        1
    } else {
        num_threads()
    }
}

/// Elementwise kernels on fewer elements than this run on one thread. (An `f32` ReLU on two
/// threads: 2¹⁵ elements in 3.7 against 6.3 µs on one, 2¹⁷ in 10.6 against 24.3 µs; at 2¹³
/// and 2¹⁴ two threads were no faster.)
pub(crate) const PARALLEL_ELEMENTS_MIN: usize = 1 << 15;

/// Calls `f(start, chunk)` for consecutive chunks of `out` that together cover it, `start`
/// being the chunk's offset in `out`: one chunk, on the calling thread, when `out` is short
/// or one thread is set; otherwise about two chunks per thread, each (but the last) a
/// multiple of `align` elements long, shared out among the threads.
pub(crate) fn for_chunks<T: Send>(out: &mut [T], align: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    for_chunks_with(out, [], align, |start, chunk, []| f(start, chunk));
}

/// [`for_chunks`] over `out` and, in step with it, over each of `with` (as long as `out`):
/// `f(start, chunk, with_chunks)` gets the chunks at the same place of all of them.
pub(crate) fn for_chunks_with<T: Send, const S: usize>(
    mut out: &mut [T],
    mut with: [&mut [T]; S],
    align: usize,
    f: impl Fn(usize, &mut [T], [&mut [T]; S]) + Sync,
) {
    let n = out.len();
    assert!(
        with.iter().all(|w| w.len() == n),
        "internal error: for_chunks_with: slices of different lengths"
    );
    let threads = if n < PARALLEL_ELEMENTS_MIN {
        1
    } else {
        num_threads()
    };
    if threads == 1 {
        return f(0, out, with);
    }
    // Multiples of 16 as well, so that threads seldom write the same cache line.
    let align = align.max(1);
    let align = align / gcd(align, 16) * 16;
    let len = n.div_ceil(2 * threads).next_multiple_of(align).min(n);
    let mut chunks = Vec::with_capacity(n.div_ceil(len));
    while !out.is_empty() {
        let take = len.min(out.len());
        let (head, tail) = out.split_at_mut(take);
        let mut split = with.map(|w| w.split_at_mut(take));
        let heads = split.each_mut().map(|(h, _)| std::mem::take(h));
        chunks.push(Mutex::new(Some((head, heads))));
        out = tail;
        with = split.map(|(_, t)| t);
    }
    run_blocks(chunks.len(), threads, |i| {
        if let Some((chunk, with)) = lock(&chunks[i]).take() {
            f(i * len, chunk, with);
        }
    });
}

/// A matrix operand of a product: its elements and `(row stride, column stride)`.
#[derive(Clone, Copy)]
pub(crate) struct Operand<'a, T> {
    pub(crate) data: &'a [T],
    pub(crate) strides: (isize, isize),
}

impl<'a, T> Operand<'a, T> {
    pub(crate) fn new(data: &'a [T], strides: (isize, isize)) -> Self {
        Operand { data, strides }
    }

    /// The operand from row `r` on (`r` rows skipped).
    fn skip_rows(self, r: usize) -> Self {
        Operand {
            data: &self.data[r * self.strides.0 as usize..],
            ..self
        }
    }

    /// The operand from column `c` on (`c` columns skipped).
    fn skip_cols(self, c: usize) -> Self {
        Operand {
            data: &self.data[c * self.strides.1 as usize..],
            ..self
        }
    }
}

/// Rows or columns per block of a product's output: a multiple of 16, the height of `gemm`'s
/// AVX2 tile (its AVX-512 tile is 64 high; on two threads W2's 128 rows still split evenly).
const BLOCK_ALIGN: usize = 16;

/// Whether an `m × n` product of a row-major `a` and a transposed `b` (the `x·Wᵀ` of a linear
/// layer) is computed column-major into a buffer and transposed into place.
///
/// The matrix-multiply library packs the operand it treats as its left-hand side into panels,
/// and for a row-major output that is `bᵀ`, the weight: stored `[n, k]` row-major, packing it
/// is a gather from `k`-strided rows, paid once per `m` rows of output (and slowest when `k`
/// is a power of two). Asked for a column-major output, the library packs `a` instead and
/// reads `bᵀ` contiguously, which is cheaper when `n` is the larger dimension. The time of the
/// product with the transposition, against the row-major output, one thread, `f32`, medians of
/// pairs run alternately: 128×784·(256×784)ᵀ 0.95–0.98; 32×784·(256×784)ᵀ 0.71–0.73;
/// 128×1024·(1024×1024)ᵀ 0.80–0.84; 128×2048·(2048×2048)ᵀ 0.84–0.86; 128×784·(1024×784)ᵀ
/// 0.97–1.0. At `n = m` the two orders ran alike; at `m = 2n` the row-major one was faster.
fn transposed_output(m: usize, n: usize, a: &Operand<'_, impl Copy>, b_transposed: bool) -> bool {
    b_transposed && a.strides.1 == 1 && n >= 2 * m
}

/// Writes the row-major `rows × cols` array `src` transposed into `dst`, row-major
/// `cols × rows`.
pub(crate) fn transpose_into<T: Copy>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) {
    // Sixteen source rows at a time, read side by side: each output row then receives 16
    // consecutive elements (a whole cache line of `f32`) per pass, where going one source row
    // at a time would write single elements `rows` apart. (256 × 128 `f32`: 10 µs, against 21
    // for 16 × 16 tiles of single elements; 1,024 × 128: 50 against 90–150.)
    const TILE: usize = 16;
    let src = &src[..rows * cols];
    let whole = rows / TILE * TILE;
    for j0 in (0..whole).step_by(TILE) {
        let block = &src[j0 * cols..(j0 + TILE) * cols];
        let lines: [&[T]; TILE] = std::array::from_fn(|t| &block[t * cols..(t + 1) * cols]);
        for i in 0..cols {
            let at = i * rows + j0;
            let out: &mut [T; TILE] = (&mut dst[at..at + TILE])
                .try_into()
                .expect("a slice of TILE elements");
            for (x, line) in out.iter_mut().zip(&lines) {
                *x = line[i];
            }
        }
    }
    for j in whole..rows {
        for (i, &v) in src[j * cols..(j + 1) * cols].iter().enumerate() {
            dst[i * rows + j] = v;
        }
    }
}

/// `c = a · b` for an `m × k` operand `a`, a `k × n` operand `b` and a row-major `m × n`
/// output `c`, on up to `threads` threads.
///
/// The output is split into blocks, which the calling thread and the pool's threads take in
/// turn, so the calling thread always works, and a block no pool thread has started yet is
/// taken by the caller. The matrix-multiply library's own split instead
/// blocks the caller until the pool is done: within a training step, where the pool's threads
/// have gone to sleep between products, that made two threads barely faster than one (W2 at
/// 1.4–2.0 ms, median 1.74, against 1.1–1.6 ms, median 1.45, with the split here).
///
/// When `b` is stored transposed (its columns contiguous: the `x·Wᵀ` of a linear layer) and
/// the output is at least twice as wide as a thread's share of its rows, the split is by rows,
/// each block computed column-major and transposed into place ([`transposed_output`]; so also
/// on one thread). A narrower output with `b` transposed is split by blocks of columns, each
/// multiplied into a buffer of its own and copied into `c`: packing `b` in that layout is a
/// strided gather, which a split by rows would repeat in every thread (W3's 128×784·784×256
/// with `b` transposed took 510–540 µs on two threads with the library's split, 650 µs on one,
/// 330 µs split by columns). Otherwise the split is by blocks of rows, written in place.
/// Products too narrow to split go to the library's own split.
pub(crate) fn gemm<T: Element>(
    m: usize,
    k: usize,
    n: usize,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    c: &mut [T],
    threads: usize,
) {
    let product = |m: usize,
                   n: usize,
                   a: Operand<'_, T>,
                   b: Operand<'_, T>,
                   c: &mut [T],
                   c_strides: (isize, isize),
                   threads| {
        T::gemm(
            m,
            k,
            n,
            T::one(),
            a.data,
            a.strides,
            b.data,
            b.strides,
            T::zero(),
            c,
            c_strides,
            threads,
        )
    };
    let b_transposed = b.strides.0 == 1 && b.strides.1 != 1;
    // Blocks of rows for a split by rows: one per thread (every block packs all of `b`, so
    // more blocks cost more packing: W3's 128×784·784×256 on two threads ran at 157–164 GFLOP/s
    // in two blocks, 120–138 in four). A thread slow to start still costs nothing: the caller
    // then takes its block.
    let height = m.div_ceil(threads).next_multiple_of(BLOCK_ALIGN).min(m);
    // `f(row0, rows)` for blocks of `height` rows of `c`, on the calling thread and the pool's.
    let by_rows = |c: &mut [T], f: &(dyn Fn(usize, &mut [T]) + Sync)| {
        if n == 0 {
            return;
        }
        let blocks: Vec<Mutex<Option<&mut [T]>>> = c
            .chunks_mut(height * n)
            .map(|rows| Mutex::new(Some(rows)))
            .collect();
        run_blocks(blocks.len(), threads, |i| {
            if let Some(rows) = lock(&blocks[i]).take() {
                f(i * height, rows);
            }
        });
    };
    // Rows `row0..row0 + h` of the product, computed column-major into a buffer and
    // transposed into `out` (those rows of `c`).
    let transposed_rows = |row0: usize, h: usize, out: &mut [T], threads: usize| {
        let mut part = buffers::scratch(h * n);
        product(
            h,
            n,
            a.skip_rows(row0),
            b,
            &mut part,
            (1, h as isize),
            threads,
        );
        transpose_into(&part, n, h, out);
        buffers::recycle(part);
    };
    if threads > 1 && b_transposed && m >= 2 * BLOCK_ALIGN && transposed_output(height, n, &a, true)
    {
        // Each block computed column-major (so `bᵀ` is the contiguous operand, as above) and
        // transposed into its rows of `c`. (Two threads, 128×1024·(1024×1024)ᵀ: 0.82–0.84 of
        // the time of the split by columns; 128×784·(256×784)ᵀ: 0.96–0.98.)
        by_rows(c, &|row0, rows| {
            transposed_rows(row0, rows.len() / n, rows, 1)
        });
    } else if threads > 1 && b_transposed && n >= 2 * BLOCK_ALIGN {
        // About two blocks per thread, each a multiple of the kernel's tile.
        let width = n.div_ceil(2 * threads).next_multiple_of(BLOCK_ALIGN).min(n);
        let blocks = n.div_ceil(width);
        // The blocks' buffers come from (and go back to) the calling thread's buffer cache, so
        // a step that repeats the product allocates nothing (a block of 128 × 256 `f32` is at
        // the allocator's threshold for mapping fresh pages on every call).
        let parts: Vec<Mutex<Vec<T>>> = (0..blocks)
            .map(|i| Mutex::new(buffers::scratch(m * width.min(n - i * width))))
            .collect();
        run_blocks(blocks, threads, |i| {
            let n0 = i * width;
            let w = width.min(n - n0);
            let part = &mut lock(&parts[i]);
            product(m, w, a, b.skip_cols(n0), part, (w as isize, 1), 1);
        });
        for (i, part) in parts.into_iter().enumerate() {
            let part = part.into_inner().unwrap_or_else(|e| e.into_inner());
            let n0 = i * width;
            let w = width.min(n - n0);
            for (row, src) in c.chunks_exact_mut(n).zip(part.chunks_exact(w)) {
                row[n0..n0 + w].copy_from_slice(src);
            }
            buffers::recycle(part);
        }
    } else if threads > 1 && !b_transposed && m >= 4 * BLOCK_ALIGN {
        by_rows(c, &|row0, rows| {
            let h = rows.len() / n;
            product(h, n, a.skip_rows(row0), b, rows, (n as isize, 1), 1);
        });
    } else if transposed_output(m, n, &a, b_transposed) {
        transposed_rows(0, m, c, threads);
    } else {
        product(m, n, a, b, c, (n as isize, 1), threads);
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `block(i)` for every `i < blocks`, each once, on the calling thread and up to
/// `threads − 1` threads of the pool, whichever is free first taking the next block: a pool
/// thread that is slow to start (its core busy) delays the whole by at most one block.
fn run_blocks(blocks: usize, threads: usize, block: impl Fn(usize) + Sync) {
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= blocks {
                break;
            }
            block(i);
        }
    };
    pool::run(threads.min(blocks).saturating_sub(1), &work);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Array;

    /// `a · bᵀ` by the textbook loop, in f64.
    fn reference(a: &[f64], b_rows: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b_rows[j * k + p]).sum();
            }
        }
        c
    }

    /// `gemm` on 1 to 4 threads equals `expected`, whatever `c` held before.
    fn assert_product_on_threads(
        m: usize,
        k: usize,
        n: usize,
        a: Operand<'_, f64>,
        b: Operand<'_, f64>,
        expected: &[f64],
    ) {
        for threads in 1..=4 {
            // Recycled garbage in `c` must not leak into the result.
            let mut c = vec![f64::NAN; m * n];
            gemm(m, k, n, a, b, &mut c, threads);
            for (x, y) in c.iter().zip(expected) {
                assert!(
                    (x - y).abs() < 1e-12,
                    "{m}×{k}·{k}×{n} on {threads} threads"
                );
            }
        }
    }

    #[test]
    fn a_product_split_by_columns_equals_the_textbook_product() {
        for &(m, k, n) in &[
            (5, 7, 33),
            (64, 40, 100),
            (3, 1, 50),
            (17, 9, 16),
            (1, 300, 257),
            (40, 50, 300),
            (8, 0, 40),
        ] {
            let a = Array::<f64>::rand_uniform(&[m, k], -1.0, 1.0, 1);
            let b = Array::<f64>::rand_uniform(&[n, k], -1.0, 1.0, 2);
            let expected = reference(a.data(), b.data(), m, k, n);
            let (a, b) = (
                Operand::new(a.data(), (k as isize, 1)),
                Operand::new(b.data(), (1, k as isize)),
            );
            assert_product_on_threads(m, k, n, a, b, &expected);
        }
    }

    #[test]
    fn the_shapes_above_take_both_output_orders() {
        // Which cases of `a_product_split_by_columns_…` go through the transposition: a
        // product at least twice as wide as it is high, with `b` transposed and `a` row-major.
        let data = [0.0; 1];
        let a = Operand::new(&data[..], (7, 1));
        assert!(transposed_output(5, 33, &a, true));
        assert!(transposed_output(40, 80, &a, true));
        assert!(!transposed_output(40, 79, &a, true));
        assert!(!transposed_output(64, 100, &a, true));
        assert!(!transposed_output(5, 33, &a, false));
        let a_t = Operand::new(&data[..], (1, 5));
        assert!(!transposed_output(5, 33, &a_t, true));
    }

    #[test]
    fn transposing_writes_every_element_to_its_mirror() {
        // Fewer rows than a tile, whole tiles, and tiles with a remainder.
        for (rows, cols) in [(3, 4), (16, 5), (35, 7), (1, 1), (0, 3)] {
            let src: Vec<u32> = (0..(rows * cols) as u32).collect();
            let mut dst = vec![u32::MAX; rows * cols];
            transpose_into(&src, rows, cols, &mut dst);
            for i in 0..cols {
                for j in 0..rows {
                    assert_eq!(
                        dst[i * rows + j],
                        src[j * cols + i],
                        "{rows}×{cols} at ({i}, {j})"
                    );
                }
            }
        }
    }

    #[test]
    fn a_product_split_by_rows_equals_the_textbook_product() {
        // `b` stored as it is used (`[k, n]`), `a` stored as is or transposed (`[k, m]`).
        for &(m, k, n) in &[(64, 5, 9), (100, 33, 40), (257, 3, 17), (80, 3, 0)] {
            let a = Array::<f64>::rand_uniform(&[m, k], -1.0, 1.0, 3);
            let a_t = Array::<f64>::rand_uniform(&[k, m], -1.0, 1.0, 4);
            let b = Array::<f64>::rand_uniform(&[k, n], -1.0, 1.0, 5);
            let b_rows: Vec<f64> = (0..n)
                .flat_map(|j| (0..k).map(move |p| (p, j)))
                .map(|(p, j)| b.data()[p * n + j])
                .collect();
            let a_t_rows: Vec<f64> = (0..m)
                .flat_map(|i| (0..k).map(move |p| (p, i)))
                .map(|(p, i)| a_t.data()[p * m + i])
                .collect();
            let cases = [
                (
                    a.data(),
                    (k as isize, 1),
                    reference(a.data(), &b_rows, m, k, n),
                ),
                (
                    a_t.data(),
                    (1, m as isize),
                    reference(&a_t_rows, &b_rows, m, k, n),
                ),
            ];
            for (a_data, a_strides, expected) in cases {
                let (a, b) = (
                    Operand::new(a_data, a_strides),
                    Operand::new(b.data(), (n as isize, 1)),
                );
                assert_product_on_threads(m, k, n, a, b, &expected);
            }
        }
    }

    #[test]
    fn every_block_runs_exactly_once() {
        for (blocks, threads) in [(1, 2), (4, 2), (7, 3), (3, 8)] {
            let counts: Vec<AtomicUsize> = (0..blocks).map(|_| AtomicUsize::new(0)).collect();
            run_blocks(blocks, threads, |i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
        }
    }
}
