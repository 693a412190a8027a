//! Matrix products: the matrix-multiply library behind one safe call per element type
//! ([`Gemm`]), and large products cut into blocks that several threads compute ([`gemm()`]).

use std::sync::Mutex;

use super::{Team, lock, run_blocks};
use crate::array::buffers::{self, Cached};

/// An element type the matrix-multiply library computes with: `c = a · b` on strided
/// matrices.
///
/// A supertrait of [`Element`](crate::Element), implemented for `f32` and `f64` here and
/// nowhere else: the trait is public only so that a public trait may name it, and this module
/// is private, so no type outside the crate can implement it (which seals `Element`).
pub trait Gemm: Copy + Send + Sync + 'static {
    /// `c = a · b` for an `m × k` operand `a`, a `k × n` operand `b` and an `m × n` output `c`
    /// with strides `c_strides` (in elements, `(row stride, column stride)`), on up to
    /// `threads` threads of the library's own split. Every element of `c` the shape covers is
    /// written (zeros when `k` is 0), whatever it held; nothing else of `c` is touched.
    ///
    /// # Panics
    /// If a stride is negative, or an operand's slice is too short to hold every element its
    /// shape and strides reach (an internal error: the callers pass whole arrays).
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        a: Operand<'_, Self>,
        b: Operand<'_, Self>,
        c: &mut [Self],
        c_strides: (isize, isize),
        threads: usize,
    );
}

/// One more than the furthest index a `rows × cols` matrix with non-negative strides
/// `(row stride, column stride)` reaches, or `None` if a stride is negative or the index does
/// not fit in `usize`. An empty matrix reaches nothing.
fn reach(rows: usize, cols: usize, (rs, cs): (isize, isize)) -> Option<usize> {
    let (rs, cs) = (usize::try_from(rs).ok()?, usize::try_from(cs).ok()?);
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}

/// Panics unless every element a `rows × cols` matrix with `strides` reaches is inside a
/// slice of `len` elements.
fn assert_within(rows: usize, cols: usize, strides: (isize, isize), len: usize, what: &str) {
    assert!(
        reach(rows, cols, strides).is_some_and(|r| r <= len),
        "internal error: gemm {what}: {rows}×{cols} with strides {strides:?} does not fit in \
         {len} elements"
    );
}

macro_rules! impl_gemm {
    ($($t:ty),*) => {$(
        impl Gemm for $t {
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                a: Operand<'_, $t>,
                b: Operand<'_, $t>,
                c: &mut [$t],
                c_strides: (isize, isize),
                threads: usize,
            ) {
                assert_within(m, k, a.strides, a.data.len(), "lhs");
                assert_within(k, n, b.strides, b.data.len(), "rhs");
                assert_within(m, n, c_strides, c.len(), "out");
                if m == 0 || n == 0 {
                    return;
                }
                let parallelism = match threads {
                    0 | 1 => gemm::Parallelism::None,
                    t => gemm::Parallelism::Rayon(t),
                };
                // The library computes `dst = alpha·dst + beta·lhs·rhs`, reads `dst` only when
                // told to (`read_dst`; here never, so alpha is 0: with k = 0 it writes zeros),
                // and takes strides as (column stride, row stride).
                //
                // SAFETY: the library reads `lhs` at `i·rs + p·cs` for `i < m`, `p < k`, `rhs`
                // at `p·rs + j·cs` for `p < k`, `j < n`, and writes `dst` at `i·rs + j·cs` for
                // `i < m`, `j < n`, with the strides given here (and nothing when `m`, `n` are
                // 0, returned above; with `k` = 0 it reads neither operand). `assert_within`
                // proved, without overflow, that the strides are non-negative and that the
                // largest of those indices is below the length of the slice in question, so
                // every access is in bounds; a slice is at most `isize::MAX` bytes, so the
                // library's `isize` offsets do not overflow either. `c` is borrowed mutably,
                // so it aliases neither `a` nor `b`, and nothing else reads or writes it while
                // the library's threads (if any) write their disjoint parts of it: the call
                // returns only when they are done. The element type is `f32` or `f64`, both
                // of which the library supports (it panics on any other).
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        c.as_mut_ptr(),
                        c_strides.1,
                        c_strides.0,
                        false,
                        a.data.as_ptr(),
                        a.strides.1,
                        a.strides.0,
                        b.data.as_ptr(),
                        b.strides.1,
                        b.strides.0,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        parallelism,
                    );
                }
            }
        }
    )*};
}

impl_gemm!(f32, f64);

/// A matrix operand of a product: its elements and `(row stride, column stride)`. (Public in
/// name only, like [`Gemm`], whose method takes it.)
#[derive(Clone, Copy)]
pub struct Operand<'a, T> {
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
/// output `c`, on the threads of `team`.
///
/// The output is split into blocks, which the calling thread and the rest of the team take in
/// turn, so the calling thread always works, and a block no other thread has started yet is
/// taken by the caller. The matrix-multiply library's own split instead
/// blocks the caller until the pool is done: within a training step, where the pool's threads
/// have gone to sleep between products, that made two threads barely faster than one (W2 at
/// 1.4–2.0 ms, median 1.74, against 1.1–1.6 ms, median 1.45, with the split here). How the
/// output is cut is [`Split::choose`]'s decision.
pub(crate) fn gemm<T: Gemm + Cached>(
    m: usize,
    k: usize,
    n: usize,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    c: &mut [T],
    team: Team,
) {
    let product = Product { k, n, a, b };
    let threads = team.threads();
    match Split::choose(m, n, &a, &b, threads) {
        Split::Whole => product.rows_into(0, m, c, threads),
        Split::WholeTransposed => product.rows_transposed_into(0, m, c, threads),
        Split::Rows { height } => product.by_rows(c, height, team, |row0, h, rows| {
            product.rows_into(row0, h, rows, 1)
        }),
        Split::RowsTransposed { height } => product.by_rows(c, height, team, |row0, h, rows| {
            product.rows_transposed_into(row0, h, rows, 1)
        }),
        Split::Columns { width } => product.by_columns(m, c, width, team),
    }
}

/// How a product's output is cut between threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    /// Not cut: one call of the library, with its own split if more than one thread is asked.
    Whole,
    /// Not cut, computed column-major and transposed into place ([`transposed_output`]).
    WholeTransposed,
    /// Blocks of `height` rows, each written in place.
    Rows { height: usize },
    /// Blocks of `height` rows, each computed column-major and transposed into place.
    RowsTransposed { height: usize },
    /// Blocks of `width` columns, each multiplied into a buffer of its own and copied into
    /// place.
    Columns { width: usize },
}

impl Split {
    /// The cut of an `m × n` product of `a` and `b` on `threads` threads.
    ///
    /// When `b` is stored transposed (its columns contiguous: the `x·Wᵀ` of a linear layer) and
    /// the output is at least twice as wide as a thread's share of its rows, the split is by
    /// rows, each block computed column-major and transposed into place
    /// ([`transposed_output`]; so also on one thread). A narrower output with `b` transposed is
    /// split by blocks of columns: packing `b` in that layout is a strided gather, which a
    /// split by rows would repeat in every thread (W3's 128×784·784×256 with `b` transposed
    /// took 510–540 µs on two threads with the library's split, 650 µs on one, 330 µs split by
    /// columns). Otherwise the split is by blocks of rows, written in place. Products too
    /// narrow to split go to the library's own split.
    fn choose<T: Copy>(
        m: usize,
        n: usize,
        a: &Operand<'_, T>,
        b: &Operand<'_, T>,
        threads: usize,
    ) -> Self {
        let b_transposed = b.strides.0 == 1 && b.strides.1 != 1;
        // One block of rows per thread (every block packs all of `b`, so more blocks cost more
        // packing: W3's 128×784·784×256 on two threads ran at 157–164 GFLOP/s in two blocks,
        // 120–138 in four). A thread slow to start still costs nothing: the caller then takes
        // its block.
        let height = m.div_ceil(threads).next_multiple_of(BLOCK_ALIGN).min(m);
        if threads > 1
            && b_transposed
            && m >= 2 * BLOCK_ALIGN
            && transposed_output(height, n, a, true)
        {
            // (Two threads, 128×1024·(1024×1024)ᵀ: 0.82–0.84 of the time of the split by
            // columns; 128×784·(256×784)ᵀ: 0.96–0.98.)
            Split::RowsTransposed { height }
        } else if threads > 1 && b_transposed && n >= 2 * BLOCK_ALIGN {
            // About two blocks per thread, each a multiple of the kernel's tile.
            let width = n.div_ceil(2 * threads).next_multiple_of(BLOCK_ALIGN).min(n);
            Split::Columns { width }
        } else if threads > 1 && !b_transposed && m >= 4 * BLOCK_ALIGN {
            Split::Rows { height }
        } else if transposed_output(m, n, a, b_transposed) {
            Split::WholeTransposed
        } else {
            Split::Whole
        }
    }
}

/// The operands of one product `a · b` and the dimensions every block shares: `a` has `k`
/// columns, `b` is `k × n`.
struct Product<'a, T> {
    k: usize,
    n: usize,
    a: Operand<'a, T>,
    b: Operand<'a, T>,
}

impl<T: Gemm + Cached> Product<'_, T> {
    /// Rows `row0..row0 + h` of the product, written row-major into `out` (by the library, on
    /// `threads` threads of its own split).
    fn rows_into(&self, row0: usize, h: usize, out: &mut [T], threads: usize) {
        let (k, n) = (self.k, self.n);
        T::gemm(
            h,
            k,
            n,
            self.a.skip_rows(row0),
            self.b,
            out,
            (n as isize, 1),
            threads,
        );
    }

    /// Rows `row0..row0 + h` of the product, computed column-major into a buffer and
    /// transposed into `out`, row-major.
    fn rows_transposed_into(&self, row0: usize, h: usize, out: &mut [T], threads: usize) {
        let (k, n) = (self.k, self.n);
        let mut part = buffers::scratch(h * n);
        let a = self.a.skip_rows(row0);
        T::gemm(h, k, n, a, self.b, &mut part, (1, h as isize), threads);
        transpose_into(&part, n, h, out);
        buffers::recycle(part);
    }

    /// Calls `block(row0, h, rows)` for blocks of `height` rows of `c` (`rows` being those
    /// rows of `c`), on the threads of `team`.
    fn by_rows(
        &self,
        c: &mut [T],
        height: usize,
        team: Team,
        block: impl Fn(usize, usize, &mut [T]) + Sync,
    ) {
        let n = self.n;
        if n == 0 {
            return;
        }
        let blocks: Vec<Mutex<Option<&mut [T]>>> = c
            .chunks_mut(height * n)
            .map(|rows| Mutex::new(Some(rows)))
            .collect();
        run_blocks(blocks.len(), team, |i| {
            if let Some(rows) = lock(&blocks[i]).take() {
                block(i * height, rows.len() / n, rows);
            }
        });
    }

    /// The `m`-row product into `c` in blocks of `width` columns, each multiplied into a
    /// buffer of its own on a thread of `team` and then copied into place.
    fn by_columns(&self, m: usize, c: &mut [T], width: usize, team: Team) {
        let (k, n) = (self.k, self.n);
        let blocks = n.div_ceil(width);
        let width_of = |i: usize| width.min(n - i * width);
        // The blocks' buffers come from (and go back to) the calling thread's buffer cache, so
        // a step that repeats the product allocates nothing (a block of 128 × 256 `f32` is at
        // the allocator's threshold for mapping fresh pages on every call).
        let parts: Vec<Mutex<Vec<T>>> = (0..blocks)
            .map(|i| Mutex::new(buffers::scratch(m * width_of(i))))
            .collect();
        run_blocks(blocks, team, |i| {
            let w = width_of(i);
            let part = &mut lock(&parts[i]);
            let b = self.b.skip_cols(i * width);
            T::gemm(m, k, w, self.a, b, part, (w as isize, 1), 1);
        });
        for (i, part) in parts.into_iter().enumerate() {
            let part = part.into_inner().unwrap_or_else(|e| e.into_inner());
            let (n0, w) = (i * width, width_of(i));
            for (row, src) in c.chunks_exact_mut(n).zip(part.chunks_exact(w)) {
                row[n0..n0 + w].copy_from_slice(src);
            }
            buffers::recycle(part);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Array, Element};

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

    /// `gemm` on 1 to 4 threads, its own or a `rayon` pool's, equals `expected`, whatever `c`
    /// held before; under `rayon`, every block runs on a thread of the caller's pool.
    fn assert_product_on_threads(
        m: usize,
        k: usize,
        n: usize,
        a: Operand<'_, f64>,
        b: Operand<'_, f64>,
        expected: &[f64],
    ) {
        let host = crate::parallel::tests::host_pool(3);
        let teams = (2..=4).flat_map(|t| [Team::Own(t), Team::Rayon(t)]);
        for team in std::iter::once(Team::Alone).chain(teams) {
            // Recycled garbage in `c` must not leak into the result.
            let mut c = vec![f64::NAN; m * n];
            if let Team::Rayon(_) = team {
                let ((), per_thread) = crate::parallel::tests::blocks_per_thread(&host, || {
                    gemm(m, k, n, a, b, &mut c, team)
                });
                let blocks = match Split::choose(m, n, &a, &b, team.threads()) {
                    Split::Whole | Split::WholeTransposed => 0,
                    _ if n == 0 => 0,
                    Split::Rows { height } | Split::RowsTransposed { height } => m.div_ceil(height),
                    Split::Columns { width } => n.div_ceil(width),
                };
                let on_host: usize = per_thread.iter().sum();
                assert_eq!(on_host, blocks, "{m}×{k}·{k}×{n}, {team:?}: {per_thread:?}");
            } else {
                gemm(m, k, n, a, b, &mut c, team);
            }
            for (x, y) in c.iter().zip(expected) {
                assert!((x - y).abs() < 1e-12, "{m}×{k}·{k}×{n}, {team:?}");
            }
        }
    }

    #[test]
    fn reach_is_one_past_the_furthest_element_and_refuses_what_cannot_be_indexed() {
        // A 3 × 4 row-major matrix reaches 12 elements; with a padded row stride of 6, 16.
        assert_eq!(reach(3, 4, (4, 1)), Some(12));
        assert_eq!(reach(3, 4, (6, 1)), Some(16));
        // Column-major: (4 − 1)·3 + (3 − 1)·1 + 1 = 12.
        assert_eq!(reach(3, 4, (1, 3)), Some(12));
        // Repeated rows (row stride 0) reach one row.
        assert_eq!(reach(5, 4, (0, 1)), Some(4));
        assert_eq!(reach(0, 4, (4, 1)), Some(0));
        assert_eq!(reach(4, 0, (4, 1)), Some(0));
        assert_eq!(reach(3, 4, (-4, 1)), None);
        assert_eq!(reach(3, 4, (4, -1)), None);
        // 3·(2⁶³ − 1) does not fit in 64 bits: unchecked, it would wrap to a small reach.
        assert_eq!(reach(4, 1, (isize::MAX, 1)), None);
        assert_eq!(reach(1, usize::MAX, (0, 2)), None);
        // (2⁶⁴ − 2)·1 + 1 just fits.
        assert_eq!(reach(1, usize::MAX, (0, 1)), Some(usize::MAX));
    }

    #[test]
    fn the_kernel_refuses_an_operand_its_slice_cannot_hold() {
        // `a` is 3 × 4 (12 elements), `b` 4 × 3 (12), `c` 3 × 3 (9), all row-major.
        let (m, k, n) = (3, 4, 3);
        let ones = [1.0f64; 12];
        let a = Operand::new(&ones[..], (4, 1));
        let b = Operand::new(&ones[..], (3, 1));
        let mut c = [0.0f64; 9];
        f64::gemm(m, k, n, a, b, &mut c, (3, 1), 1);
        assert_eq!(c, [4.0; 9]);
        let cases = [
            ("lhs", Operand::new(&ones[..11], (4, 1)), b, 9, (3, 1)),
            (
                "lhs",
                Operand::new(&ones[..], (isize::MAX / 2, 1)),
                b,
                9,
                (3, 1),
            ),
            ("rhs", a, Operand::new(&ones[..11], (3, 1)), 9, (3, 1)),
            ("rhs", a, Operand::new(&ones[..], (3, -1)), 9, (3, 1)),
            ("out", a, b, 8, (3, 1)),
            ("out", a, b, 9, (-3, 1)),
        ];
        for (what, a, b, c_len, c_strides) in cases {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                f64::gemm(m, k, n, a, b, &mut c[..c_len], c_strides, 1)
            }));
            let payload = result.expect_err(what);
            let message = payload
                .downcast_ref::<String>()
                .expect("a formatted message");
            assert!(
                message.starts_with(&format!("internal error: gemm {what}:")),
                "{message}"
            );
        }
    }

    /// `c` with `c_strides` after `T::gemm` of `a` and `b` (given row-major as `m × k` and
    /// `k × n`, each stored with the strides asked), and the textbook product.
    fn strided_product<T: Gemm + Element>(
        (m, k, n): (usize, usize, usize),
        a_col_major: bool,
        b_col_major: bool,
        c_strides: (isize, isize),
        c_len: usize,
    ) -> (Vec<T>, Vec<T>) {
        let a = Array::<T>::rand_uniform(&[m, k], T::cast_from(-1.0), T::one(), 7);
        let b = Array::<T>::rand_uniform(&[k, n], T::cast_from(-1.0), T::one(), 8);
        let store = |x: &Array<T>, rows: usize, cols: usize, col_major: bool| {
            if col_major {
                let data = (0..rows * cols)
                    .map(|i| x.data()[(i % rows) * cols + i / rows])
                    .collect::<Vec<T>>();
                (data, (1, rows as isize))
            } else {
                (x.data().to_vec(), (cols as isize, 1))
            }
        };
        let (a_data, a_strides) = store(&a, m, k, a_col_major);
        let (b_data, b_strides) = store(&b, k, n, b_col_major);
        // Garbage everywhere: the product must overwrite what it covers and nothing else.
        let mut c = vec![T::nan(); c_len];
        T::gemm(
            m,
            k,
            n,
            Operand::new(&a_data, a_strides),
            Operand::new(&b_data, b_strides),
            &mut c,
            c_strides,
            1,
        );
        let mut expected = vec![T::nan(); c_len];
        for i in 0..m {
            for j in 0..n {
                let at = i * c_strides.0 as usize + j * c_strides.1 as usize;
                expected[at] = (0..k).map(|p| a.get(&[i, p]) * b.get(&[p, j])).sum();
            }
        }
        (c, expected)
    }

    #[test]
    fn the_kernel_writes_the_product_through_any_strides_and_nothing_else() {
        fn close<T: Element>(got: &[T], expected: &[T], tol: f64) -> bool {
            got.iter()
                .zip(expected)
                .all(|(x, y)| (x.is_nan() && y.is_nan()) || (x.as_f64() - y.as_f64()).abs() < tol)
        }
        let (m, k, n) = (7, 5, 9);
        // Row-major, column-major, and row-major with rows padded to 12 (the padding, and
        // the tail past the last row, stay NaN).
        let layouts = [
            ((n as isize, 1), m * n),
            ((1, m as isize), m * n),
            ((12, 1), 12 * m + 3),
        ];
        for (c_strides, c_len) in layouts {
            for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                let (got, expected) = strided_product::<f64>((m, k, n), a_t, b_t, c_strides, c_len);
                assert!(
                    close(&got, &expected, 1e-12),
                    "f64 {c_strides:?} {a_t} {b_t}"
                );
                let (got, expected) = strided_product::<f32>((m, k, n), a_t, b_t, c_strides, c_len);
                assert!(
                    close(&got, &expected, 1e-5),
                    "f32 {c_strides:?} {a_t} {b_t}"
                );
            }
        }
        // With k = 0 every element the shape covers becomes 0; with m or n = 0, none changes.
        let (got, _) = strided_product::<f64>((3, 0, 4), false, false, (4, 1), 12);
        assert_eq!(got, vec![0.0; 12]);
        let (got, _) = strided_product::<f64>((0, 3, 4), false, false, (4, 1), 5);
        assert!(got.iter().all(|v| v.is_nan()));
        let (got, _) = strided_product::<f64>((3, 4, 0), false, false, (1, 1), 5);
        assert!(got.iter().all(|v| v.is_nan()));
    }

    /// Shapes `(m, k, n)` of the products with `b` stored transposed, tested below.
    const B_TRANSPOSED: &[(usize, usize, usize)] = &[
        (5, 7, 33),
        (64, 40, 100),
        (3, 1, 50),
        (17, 9, 16),
        (1, 300, 257),
        (40, 50, 300),
        (8, 0, 40),
    ];

    /// Shapes `(m, k, n)` of the products with `b` stored as it is used, tested below.
    const B_AS_IS: &[(usize, usize, usize)] =
        &[(64, 5, 9), (100, 33, 40), (257, 3, 17), (80, 3, 0)];

    #[test]
    fn the_shapes_tested_take_every_split() {
        let data = [0.0; 1];
        let mut seen = Vec::new();
        for threads in 1..=4 {
            for (shapes, b_strides) in [(B_TRANSPOSED, (1, 7)), (B_AS_IS, (7, 1))] {
                for &(m, _, n) in shapes {
                    let (a, b) = (
                        Operand::new(&data[..], (7, 1)),
                        Operand::new(&data[..], b_strides),
                    );
                    seen.push(Split::choose(m, n, &a, &b, threads));
                }
            }
        }
        let every = [
            Split::Whole,
            Split::WholeTransposed,
            Split::Rows { height: 0 },
            Split::RowsTransposed { height: 0 },
            Split::Columns { width: 0 },
        ];
        for split in every {
            let kind = std::mem::discriminant(&split);
            assert!(
                seen.iter().any(|s| std::mem::discriminant(s) == kind),
                "{split:?}"
            );
        }
    }

    #[test]
    fn a_large_product_under_rayon_is_shared_by_the_threads_of_the_callers_pool() {
        // Two blocks of 128 rows; the caller takes one, and the other thread of the pool,
        // once it has stolen the other half of the work, the other. On a busy machine the
        // caller may finish both first, so the product is repeated until the second thread
        // has taken part (it takes a few milliseconds on an idle one).
        let host = crate::parallel::tests::host_pool(2);
        let (m, k, n) = (256, 256, 256);
        let a = Array::<f64>::rand_uniform(&[m, k], -1.0, 1.0, 5);
        let b = Array::<f64>::rand_uniform(&[k, n], -1.0, 1.0, 6);
        let (a, b) = (
            Operand::new(a.data(), (k as isize, 1)),
            Operand::new(b.data(), (n as isize, 1)),
        );
        assert_eq!(Split::choose(m, n, &a, &b, 2), Split::Rows { height: 128 });
        let mut alone = vec![0.0; m * n];
        gemm(m, k, n, a, b, &mut alone, Team::Alone);
        let start = std::time::Instant::now();
        loop {
            let mut c = vec![f64::NAN; m * n];
            let ((), per_thread) = crate::parallel::tests::blocks_per_thread(&host, || {
                gemm(m, k, n, a, b, &mut c, Team::Rayon(2))
            });
            assert!(c.iter().zip(&alone).all(|(x, y)| (x - y).abs() < 1e-12));
            assert_eq!(per_thread.iter().sum::<usize>(), 2, "{per_thread:?}");
            if per_thread == [1, 1] {
                break;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "the pool's second thread never took a block: {per_thread:?}"
            );
        }
    }

    #[test]
    fn a_product_split_by_columns_equals_the_textbook_product() {
        for &(m, k, n) in B_TRANSPOSED {
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
        for &(m, k, n) in B_AS_IS {
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
}
