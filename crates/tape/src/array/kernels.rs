//! Computing kernels on plain arrays: what tensor ops run forward, and what first-order
//! backward runs. Inputs are assumed already validated by the op that calls them.

use super::{Array, buffers};
use crate::parallel::{Operand, for_chunks};
use crate::rules::{BinaryOp, UnaryOp};
use crate::shape::{Runs, broadcast_strides, contiguous_strides, numel};
use crate::{Element, Shape};

/// Runs `$body` with `$f` bound to a closure computing `op.f(x, y)`, the op matched once so
/// that the arithmetic ops get a loop of their own (and vectorise).
macro_rules! with_binary_fn {
    ($op:expr, |$f:ident| $body:block) => {
        match $op {
            BinaryOp::Add => {
                let $f = |x: T, y: T| x + y;
                $body
            }
            BinaryOp::Sub => {
                let $f = |x: T, y: T| x - y;
                $body
            }
            BinaryOp::Mul => {
                let $f = |x: T, y: T| x * y;
                $body
            }
            op => {
                let $f = |x: T, y: T| op.f(x, y);
                $body
            }
        }
    };
}

/// Runs `$body` with `$f` bound to a closure computing `op.f(x)`, the op matched once so that
/// the cheap ops (ReLU, negation, affine maps, ...) get a loop of their own (and vectorise);
/// the values are those of `op.f`.
macro_rules! with_unary_fn {
    ($op:expr, |$f:ident| $body:block) => {
        match $op {
            UnaryOp::Relu => {
                let $f = |x: T| if x > T::zero() { x } else { T::zero() };
                $body
            }
            UnaryOp::Neg => {
                let $f = |x: T| -x;
                $body
            }
            UnaryOp::Abs => {
                let $f = |x: T| num_traits::Float::abs(x);
                $body
            }
            UnaryOp::AddC(c) => {
                let c = T::cast_from(c);
                let $f = |x: T| x + c;
                $body
            }
            UnaryOp::MulC(c) => {
                let c = T::cast_from(c);
                let $f = |x: T| x * c;
                $body
            }
            UnaryOp::RSubC(c) => {
                let c = T::cast_from(c);
                let $f = |x: T| c - x;
                $body
            }
            UnaryOp::DivC(c) => {
                let c = T::cast_from(c);
                let $f = |x: T| x / c;
                $body
            }
            // `powi` takes its exponent at run time and does not vectorise; the square, the
            // common case (squared errors), is the product it equals exactly.
            UnaryOp::PowI(2) => {
                let $f = |x: T| x * x;
                $body
            }
            op => {
                let $f = |x: T| op.f(x);
                $body
            }
        }
    };
}

/// If an array of shape `small` broadcast to `full` is a repetition of its own elements along
/// the leading dimensions of `full` (its shape, without leading 1s, is a suffix of `full`),
/// the length of that period: `small.len()` elements. Covers equal shapes, a bias row and a
/// scalar.
pub(crate) fn row_period(small: &[usize], full: &[usize]) -> Option<usize> {
    let lead = small.iter().take_while(|&&d| d == 1).count();
    let core = &small[lead..];
    let n = numel(core);
    (core.len() <= full.len() && full.ends_with(core) && n > 0).then_some(n)
}

/// The sum of `xs` by pairwise (cascade) summation: halves summed separately down to blocks
/// of at most 256 elements, each summed in eight interleaved lanes. The rounding error grows
/// with the logarithm of the length instead of the length, the lanes vectorise, and the order
/// of the additions depends on the length only, so equal inputs give equal sums.
pub(crate) fn pairwise_sum<T: Element>(xs: &[T]) -> T {
    const BLOCK: usize = 256;
    if xs.len() > BLOCK {
        // A multiple of 8, and less than the length (which is at least 257).
        let half = (xs.len() / 2).next_multiple_of(8);
        let (a, b) = xs.split_at(half);
        return pairwise_sum(a) + pairwise_sum(b);
    }
    let mut lanes = [T::zero(); 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += x;
        }
    }
    let mut tail = T::zero();
    for &x in chunks.remainder() {
        tail += x;
    }
    let [l0, l1, l2, l3, l4, l5, l6, l7] = lanes;
    (((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))) + tail
}

/// Adds the rows of `xs`, a row-major `[rows, out.len()]` matrix, to `out`: in order for up to
/// 256 rows, otherwise each half of the rows summed separately (the second into a buffer) and
/// the two added, so that the rounding error grows with the logarithm of the number of rows,
/// as in [`pairwise_sum`].
fn pairwise_rows<T: Element>(xs: &[T], inner: usize, out: &mut [T]) {
    const BLOCK: usize = 256;
    let rows = xs.len() / inner;
    if rows > BLOCK {
        let (a, b) = xs.split_at(rows / 2 * inner);
        pairwise_rows(a, inner, out);
        let mut part = buffers::filled(inner, T::zero());
        pairwise_rows(b, inner, &mut part);
        for (o, &p) in out.iter_mut().zip(&part) {
            *o += p;
        }
        buffers::recycle(part);
        return;
    }
    for row in xs.chunks_exact(inner) {
        for (o, &x) in out.iter_mut().zip(row) {
            *o += x;
        }
    }
}

impl<T: Element> Array<T> {
    /// `op` element by element on two arrays of the same shape (the output's): one zipped
    /// pass. Small arrays (scalar-like code, W4) are pushed into a fresh vector, the cheapest
    /// to set up; large ones written into a recycled buffer of the final length.
    pub(crate) fn zip_same(&self, other: &Array<T>, op: BinaryOp) -> Array<T> {
        debug_assert_eq!(self.shape, other.shape);
        let n = self.data.len();
        let data = if n < buffers::MIN_LEN {
            let mut data = Vec::with_capacity(n);
            with_binary_fn!(op, |f| {
                data.extend(
                    self.data
                        .iter()
                        .zip(other.data.iter())
                        .map(|(&x, &y)| f(x, y)),
                );
            });
            data
        } else {
            let mut data = buffers::scratch(n);
            with_binary_fn!(op, |f| {
                for_chunks(&mut data, 1, |start, out| {
                    let end = start + out.len();
                    for ((o, &x), &y) in out
                        .iter_mut()
                        .zip(&self.data[start..end])
                        .zip(&other.data[start..end])
                    {
                        *o = f(x, y);
                    }
                });
            });
            data
        };
        Array::from_parts(data, self.shape.clone())
    }

    /// Elementwise binary op with broadcasting; `out_shape` is the broadcast shape.
    pub(crate) fn zip_broadcast(
        &self,
        other: &Array<T>,
        out_shape: &[usize],
        op: BinaryOp,
    ) -> Array<T> {
        let n = numel(out_shape);
        if self.shape == other.shape {
            return self.zip_same(other, op);
        }
        if self.shape.as_slice() == out_shape && row_period(&other.shape, out_shape).is_some() {
            // `other` repeats along the leading dimensions (a bias row, or a scalar): walk
            // `self` in rows of `other`'s length, with the op chosen once, not per element,
            // writing into a buffer of the final length (a loop that vectorises).
            let row = other.data.len();
            let mut data = buffers::scratch(n);
            if row > 0 {
                with_binary_fn!(op, |f| {
                    for_chunks(&mut data, row, |start, out| {
                        let xs = &self.data[start..start + out.len()];
                        for (outs, xs) in out.chunks_exact_mut(row).zip(xs.chunks_exact(row)) {
                            for ((o, &x), &y) in outs.iter_mut().zip(xs).zip(&other.data) {
                                *o = f(x, y);
                            }
                        }
                    });
                });
            }
            return Array::from_parts(data, Shape::from_slice(out_shape));
        }
        // Any other broadcast (a column `[m, 1]` against `[m, n]`, the repeated operand on the
        // left, both operands broadcast): in runs, with the loop chosen once by how each
        // operand moves along a run.
        let mut data = buffers::scratch(n);
        let sa = broadcast_strides(&self.shape, out_shape);
        let sb = broadcast_strides(&other.shape, out_shape);
        let runs = Runs::new(out_shape, &sa, &sb);
        let len = runs.len;
        let (xs, ys) = (&self.data[..], &other.data[..]);
        with_binary_fn!(op, |f| {
            match (runs.a_step, runs.b_step) {
                (1, 1) => runs.for_each(|o, i, j| {
                    for ((d, &x), &y) in data[o..o + len]
                        .iter_mut()
                        .zip(&xs[i..i + len])
                        .zip(&ys[j..j + len])
                    {
                        *d = f(x, y);
                    }
                }),
                (1, 0) => runs.for_each(|o, i, j| {
                    let y = ys[j];
                    for (d, &x) in data[o..o + len].iter_mut().zip(&xs[i..i + len]) {
                        *d = f(x, y);
                    }
                }),
                (0, 1) => runs.for_each(|o, i, j| {
                    let x = xs[i];
                    for (d, &y) in data[o..o + len].iter_mut().zip(&ys[j..j + len]) {
                        *d = f(x, y);
                    }
                }),
                (a_step, b_step) => runs.for_each(|o, i, j| {
                    for (k, d) in data[o..o + len].iter_mut().enumerate() {
                        *d = f(xs[i + k * a_step], ys[j + k * b_step]);
                    }
                }),
            }
        });
        Array::from_parts(data, Shape::from_slice(out_shape))
    }

    /// `op.f` applied to every element.
    pub(crate) fn unary(&self, op: UnaryOp) -> Array<T> {
        let mut data = buffers::scratch(self.data.len());
        with_unary_fn!(op, |f| {
            for_chunks(&mut data, 1, |start, out| {
                let xs = &self.data[start..start + out.len()];
                for (o, &x) in out.iter_mut().zip(xs) {
                    *o = f(x);
                }
            });
        });
        Array::from_parts(data, self.shape.clone())
    }

    /// `op(self) · op(other)` where `op` transposes a 2-D array when its flag is set.
    pub(crate) fn matmul_t(&self, ta: bool, other: &Array<T>, tb: bool) -> Array<T> {
        let (r_a, c_a) = (self.shape[0], self.shape[1]);
        let (r_b, c_b) = (other.shape[0], other.shape[1]);
        let (m, k, a_strides) = if ta {
            (c_a, r_a, (1, c_a as isize))
        } else {
            (r_a, c_a, (c_a as isize, 1))
        };
        let (n, b_strides) = if tb {
            (r_b, (1, c_b as isize))
        } else {
            (c_b, (c_b as isize, 1))
        };
        // With k > 0 the product overwrites every element (beta = 0: `c` is not read), so a
        // recycled buffer needs no clearing; with k = 0 the product is zeros.
        let mut out = if k > 0 {
            buffers::scratch(m * n)
        } else {
            buffers::filled(m * n, T::zero())
        };
        let team = crate::parallel::Team::for_product(m, k, n);
        let (a, b) = (
            Operand::new(&self.data, a_strides),
            Operand::new(&other.data, b_strides),
        );
        crate::parallel::gemm(m, k, n, a, b, &mut out, team);
        Array::from_parts(out, Shape::from_slice(&[m, n]))
    }

    /// Sums over the broadcast dimensions so the result has `shape` (which must broadcast to
    /// `self.shape`): the adjoint of [`Array::broadcast_to`].
    pub(crate) fn sum_to(&self, shape: &[usize]) -> Array<T> {
        if self.shape.as_slice() == shape {
            return self.clone();
        }
        let mut out = buffers::filled(numel(shape), T::zero());
        let inner = out.len();
        // Right-aligned, `shape` keeps a suffix of `self.shape` and is 1 before it: the sum of
        // the rows of `self` seen as `[outer, inner]`.
        let leading_only = shape.len() <= self.shape.len() && {
            let kept = shape.iter().rev().zip(self.shape.iter().rev());
            let suffix = kept.take_while(|(a, b)| a == b).count();
            shape[..shape.len() - suffix].iter().all(|&d| d == 1)
        };
        if inner == 1 {
            out[0] = pairwise_sum(&self.data);
        } else if leading_only && inner > 0 {
            pairwise_rows(&self.data, inner, &mut out);
        } else {
            // In runs of `self`. A run along reduced innermost dimensions is summed pairwise
            // (as a full reduction and the rows above are), so that a sum along a long axis
            // keeps the accuracy of `sum`; otherwise each output element receives its terms in
            // row-major order of `self`, as a per-element walk would add them.
            let s_self = contiguous_strides(&self.shape);
            let s_out = broadcast_strides(shape, &self.shape);
            let runs = Runs::new(&self.shape, &s_self, &s_out);
            let (len, xs) = (runs.len, &self.data[..]);
            match (runs.a_step, runs.b_step) {
                // A run lands on a run of the output (the reduced dimensions are outer ones).
                (1, 1) => runs.for_each(|_, i, io| {
                    for (o, &x) in out[io..io + len].iter_mut().zip(&xs[i..i + len]) {
                        *o += x;
                    }
                }),
                // A run lands on one output element (the innermost dimensions are reduced).
                (1, 0) => runs.for_each(|_, i, io| out[io] += pairwise_sum(&xs[i..i + len])),
                (a_step, b_step) => runs.for_each(|_, i, io| {
                    for k in 0..len {
                        out[io + k * b_step] += xs[i + k * a_step];
                    }
                }),
            }
        }
        Array::from_parts(out, Shape::from_slice(shape))
    }

    /// Repeats along broadcast dimensions to `shape` (which `self.shape` must broadcast to).
    pub(crate) fn broadcast_to(&self, shape: &[usize]) -> Array<T> {
        if self.shape.as_slice() == shape {
            return self.clone();
        }
        if self.data.len() == 1 {
            let data = buffers::filled(numel(shape), self.data[0]);
            return Array::from_parts(data, Shape::from_slice(shape));
        }
        // In runs: each either repeats one element (a broadcast innermost dimension) or copies
        // a contiguous stretch.
        let mut data = buffers::scratch(numel(shape));
        let s = broadcast_strides(&self.shape, shape);
        let runs = Runs::new(shape, &s, &s);
        let (len, xs) = (runs.len, &self.data[..]);
        match runs.a_step {
            0 => runs.for_each(|o, i, _| data[o..o + len].fill(xs[i])),
            1 => runs.for_each(|o, i, _| data[o..o + len].copy_from_slice(&xs[i..i + len])),
            step => runs.for_each(|o, i, _| {
                for (k, d) in data[o..o + len].iter_mut().enumerate() {
                    *d = xs[i + k * step];
                }
            }),
        }
        Array::from_parts(data, Shape::from_slice(shape))
    }

    /// Reorders the axes: output axis `i` is input axis `perm[i]`.
    pub(crate) fn permute(&self, perm: &[usize]) -> Array<T> {
        let strides = contiguous_strides(&self.shape);
        let out_shape: Shape = perm.iter().map(|&p| self.shape[p]).collect();
        let src: Shape = perm.iter().map(|&p| strides[p]).collect();
        let mut data = buffers::scratch(self.data.len());
        let runs = Runs::new(&out_shape, &src, &src);
        let (len, xs) = (runs.len, &self.data[..]);
        match runs.a_step {
            // The innermost axes stay innermost: contiguous stretches.
            1 => runs.for_each(|o, i, _| data[o..o + len].copy_from_slice(&xs[i..i + len])),
            step => runs.for_each(|o, i, _| {
                for (k, d) in data[o..o + len].iter_mut().enumerate() {
                    *d = xs[i + k * step];
                }
            }),
        }
        Array::from_parts(data, out_shape)
    }

    /// View as `[outer, n, inner]` around `axis`.
    fn around(&self, axis: usize) -> (usize, usize, usize) {
        let outer = numel(&self.shape[..axis]);
        let inner = numel(&self.shape[axis + 1..]);
        (outer, self.shape[axis], inner)
    }

    /// Sum of all elements, by [`pairwise_sum`].
    pub(crate) fn sum_all(&self) -> T {
        pairwise_sum(&self.data)
    }

    /// Maximum along `axis` (the axis removed) and, for each output element, the flat index of
    /// the first maximal input element. NaN wins over numbers, so it propagates.
    pub(crate) fn max_axis(&self, axis: usize) -> (Array<T>, Vec<usize>) {
        let (outer, n, inner) = self.around(axis);
        let mut vals = Vec::with_capacity(outer * inner);
        let mut arg = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let base = o * n * inner + i;
                let mut best = base;
                for j in 1..n {
                    let at = base + j * inner;
                    let (v, b) = (self.data[at], self.data[best]);
                    if v > b || (v.is_nan() && !b.is_nan()) {
                        best = at;
                    }
                }
                vals.push(self.data[best]);
                arg.push(best);
            }
        }
        let mut shape = self.shape.clone();
        shape.remove(axis);
        (Array::from_parts(vals, shape), arg)
    }

    /// Flat index of the first maximal element (NaN wins, so it propagates).
    pub(crate) fn argmax_all(&self) -> usize {
        let mut best = 0;
        for (i, &v) in self.data.iter().enumerate() {
            let b = self.data[best];
            if v > b || (v.is_nan() && !b.is_nan()) {
                best = i;
            }
        }
        best
    }

    /// A one-hot mask of `self.shape` with ones at the given flat positions.
    pub(crate) fn mask_at(shape: &[usize], positions: &[usize]) -> Array<T> {
        let mut m = vec![T::zero(); numel(shape)];
        for &p in positions {
            m[p] = T::one();
        }
        Array::from_parts(m, Shape::from_slice(shape))
    }

    /// `out[r] = self[r, idx[r]]` for a 2-D array.
    pub(crate) fn gather_elems(&self, idx: &[usize]) -> Array<T> {
        let c = self.shape[1];
        let data = idx
            .iter()
            .enumerate()
            .map(|(r, &j)| self.data[r * c + j])
            .collect();
        Array::from_parts(data, Shape::from_slice(&[idx.len()]))
    }

    /// The adjoint of `gather_elems`: a `[n, n_cols]` array of zeros with `self[r]` at
    /// `(r, idx[r])`.
    pub(crate) fn scatter_elems(&self, idx: &[usize], n_cols: usize) -> Array<T> {
        let mut out = vec![T::zero(); idx.len() * n_cols];
        for (r, &j) in idx.iter().enumerate() {
            out[r * n_cols + j] += self.data[r];
        }
        Array::from_parts(out, Shape::from_slice(&[idx.len(), n_cols]))
    }

    /// Rows `idx` of the array (along axis 0).
    pub(crate) fn index_select(&self, idx: &[usize]) -> Array<T> {
        let row = numel(&self.shape[1..]);
        let mut data = buffers::scratch(idx.len() * row);
        if row > 0 {
            // Split across threads by whole rows: a shuffled mini-batch is a gather of rows
            // scattered over a large data set, which waits on memory, and two cores fetch
            // more at a time than one (128 random rows of 784 `f32` out of 60,000: 41–44 µs
            // on one thread, 23–26 on two).
            for_chunks(&mut data, row, |start, out| {
                let rows = &idx[start / row..];
                for (dst, &r) in out.chunks_exact_mut(row).zip(rows) {
                    dst.copy_from_slice(&self.data[r * row..(r + 1) * row]);
                }
            });
        }
        let mut shape = self.shape.clone();
        shape[0] = idx.len();
        Array::from_parts(data, shape)
    }

    /// The adjoint of `index_select`: `n_rows` rows of zeros, with row `k` of `self` added to
    /// row `idx[k]`.
    pub(crate) fn index_add(&self, idx: &[usize], n_rows: usize) -> Array<T> {
        let row = numel(&self.shape[1..]);
        let mut out = buffers::filled(n_rows * row, T::zero());
        for (k, &r) in idx.iter().enumerate() {
            for (o, &v) in out[r * row..(r + 1) * row]
                .iter_mut()
                .zip(&self.data[k * row..(k + 1) * row])
            {
                *o += v;
            }
        }
        let mut shape = self.shape.clone();
        shape[0] = n_rows;
        Array::from_parts(out, shape)
    }

    /// Elements `start..end` along `axis`.
    pub(crate) fn slice_axis(&self, axis: usize, start: usize, end: usize) -> Array<T> {
        let (outer, n, inner) = self.around(axis);
        let len = end - start;
        let mut data = buffers::with_capacity(outer * len * inner);
        for o in 0..outer {
            let base = o * n * inner;
            data.extend_from_slice(&self.data[base + start * inner..base + end * inner]);
        }
        let mut shape = self.shape.clone();
        shape[axis] = len;
        Array::from_parts(data, shape)
    }

    /// Adds `g` to the elements `start..start + len` along `axis` (`len` being `g`'s length
    /// there): the adjoint of `slice_axis`, accumulated in place instead of padded and added.
    pub(crate) fn add_at_axis(&mut self, g: &Array<T>, axis: usize, start: usize) {
        let (outer, n, inner) = self.around(axis);
        let len = g.shape[axis];
        let row = len * inner;
        let gd = g.data();
        let data = self.data_mut();
        for (o, src) in gd.chunks_exact(row.max(1)).take(outer).enumerate() {
            let dst = &mut data[o * n * inner + start * inner..][..row];
            for (d, &v) in dst.iter_mut().zip(src) {
                *d += v;
            }
        }
    }

    /// Zeros added before and after along `axis`: the adjoint of `slice_axis`.
    pub(crate) fn pad_axis(&self, axis: usize, before: usize, after: usize) -> Array<T> {
        let (outer, n, inner) = self.around(axis);
        let total = before + n + after;
        let mut data = buffers::filled(outer * total * inner, T::zero());
        for o in 0..outer {
            let dst = o * total * inner + before * inner;
            data[dst..dst + n * inner]
                .copy_from_slice(&self.data[o * n * inner..(o + 1) * n * inner]);
        }
        let mut shape = self.shape.clone();
        shape[axis] = total;
        Array::from_parts(data, shape)
    }

    /// Joins arrays along `axis`; all other dimensions must agree.
    pub(crate) fn concat(parts: &[&Array<T>], axis: usize) -> Array<T> {
        let first = parts[0];
        let outer = numel(&first.shape[..axis]);
        let inner = numel(&first.shape[axis + 1..]);
        let total: usize = parts.iter().map(|p| p.shape[axis]).sum();
        let mut data = Vec::with_capacity(outer * total * inner);
        for o in 0..outer {
            for p in parts {
                let len = p.shape[axis] * inner;
                data.extend_from_slice(&p.data[o * len..(o + 1) * len]);
            }
        }
        let mut shape = first.shape.clone();
        shape[axis] = total;
        Array::from_parts(data, shape)
    }
}

#[cfg(test)]
mod tests {
    //! The broadcasting kernels, which walk in runs, against per-element walks.

    use super::*;
    use crate::shape::{broadcast_shapes, for_each_broadcast};
    use proptest::prelude::*;

    /// A shape of rank 0 to 4 and one that broadcasts to it: each of its dimensions kept or
    /// set to 1, and some leading ones dropped. Sizes include 0 and 1.
    fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
        prop::collection::vec((0usize..5, any::<bool>()), 0..5).prop_flat_map(|dims| {
            let full: Vec<usize> = dims.iter().map(|&(d, _)| d).collect();
            let small: Vec<usize> = dims
                .iter()
                .map(|&(d, keep)| if keep { d } else { 1 })
                .collect();
            let rank = full.len();
            (Just(full), Just(small), 0..=rank)
                .prop_map(|(full, small, drop)| (full, small[drop..].to_vec()))
        })
    }

    fn values(shape: &[usize], seed: u64) -> Array<f64> {
        Array::rand_uniform(shape, 0.5, 2.0, seed)
    }

    /// Equal shapes and elements (NaN equal to NaN).
    fn same(a: &Array<f64>, b: &Array<f64>) -> bool {
        a.shape() == b.shape()
            && a.data()
                .iter()
                .zip(b.data())
                .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    }

    #[test]
    fn sums_along_a_long_last_axis_are_pairwise() {
        // 2²⁰ copies of 0.1 per row in `f32`: a running sum past 2¹⁶ rounds every 0.1 it adds
        // to a multiple of 2⁻⁷ (13 such steps, 0.1016) and ends about 1.5 % high; pairwise,
        // each row stays within 40·ε of its exact sum, as `sum` does.
        let n = 1 << 20;
        let x = Array::<f32>::from_vec(vec![0.1; 2 * n], &[2, n]).unwrap();
        let exact = n as f64 * f64::from(0.1f32);
        let bound = 40.0 * f64::from(f32::EPSILON) * exact;
        let running = x.data()[..n].iter().sum::<f32>();
        assert!((f64::from(running) - exact).abs() > bound, "{running}");
        let sums = x.sum_to(&[2, 1]);
        for &s in sums.data() {
            assert!((f64::from(s) - exact).abs() <= bound, "{s} vs {exact}");
        }
        // The same along the first axis, 2²⁰ rows of three, and of a leading axis of three
        // dimensions; the bound allows for the halvings of the rows (20 levels).
        let bound = (40.0 + 20.0) * f64::from(f32::EPSILON) * exact;
        let x = Array::<f32>::from_vec(vec![0.1; 3 * n], &[n, 3]).unwrap();
        let cols = x.sum_to(&[3]);
        let deep = x
            .clone()
            .reshaped(&[n / 4, 4, 3])
            .unwrap()
            .sum_to(&[1, 4, 3]);
        assert_eq!(deep.shape(), &[1, 4, 3][..]);
        for &s in cols.data() {
            assert!((f64::from(s) - exact).abs() <= bound, "{s} vs {exact}");
        }
        for &s in deep.data() {
            let exact = exact / 4.0;
            assert!(
                (f64::from(s) - exact).abs() <= bound / 4.0,
                "{s} vs {exact}"
            );
        }
        // Every row counted once, in its own column: distinct integers (exact in any order)
        // over an odd number of rows, enough to be halved three times.
        let (rows, cols) = (2_049, 5);
        let ints: Vec<f64> = (0..rows * cols)
            .map(|i| ((i * 7919) % 1009) as f64)
            .collect();
        let expected: Vec<f64> = (0..cols)
            .map(|c| (0..rows).map(|r| ints[r * cols + c]).sum())
            .collect();
        let x = Array::from_vec(ints, &[rows, cols]).unwrap();
        assert_eq!(x.sum_to(&[1, cols]).data(), &expected[..]);
    }

    #[test]
    fn gathered_rows_are_the_rows_asked_for_on_any_number_of_threads() {
        // Long enough to be split by rows across threads (rows of 784 and of 3, the latter not
        // a multiple of the split's alignment), with repeated and unordered indices, an empty
        // selection and rows of no elements, over recycled buffers full of NaN.
        for &(rows, row, picks) in &[(600, 784, 128), (40_000, 3, 20_000), (5, 0, 4), (7, 5, 0)] {
            let a = values(&[rows, row], 3);
            let idx: Vec<usize> = (0..picks).map(|k| (k * 7919 + k / 3) % rows).collect();
            let mut expected = Vec::with_capacity(picks * row);
            for &r in &idx {
                expected.extend_from_slice(&a.data()[r * row..(r + 1) * row]);
            }
            for threads in 1..=3 {
                crate::parallel::set_num_threads(threads);
                buffers::recycle(vec![f64::NAN; picks * row]);
                let got = a.index_select(&idx);
                assert_eq!(got.shape(), &[picks, row][..], "{threads} threads");
                assert_eq!(got.data(), &expected[..], "{rows}x{row}, {threads} threads");
            }
        }
    }

    #[test]
    fn pairwise_sums_are_exact_on_integers_and_close_to_the_exact_sum() {
        for n in [0, 1, 7, 8, 9, 255, 256, 257, 1000, 4099, 100_000] {
            // Integers below 2²⁴: every partial sum is exact in `f64`, in any order.
            let ints: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
            assert_eq!(pairwise_sum(&ints), ints.iter().sum::<f64>(), "n = {n}");
        }
        // Ten million ones in `f32`: a running sum stops growing at 2²⁴; the pairwise sum is
        // exact.
        let ones = vec![1.0f32; 10_000_000];
        assert_eq!(pairwise_sum(&ones), 1e7);
        // NaN and infinities propagate.
        assert!(pairwise_sum(&[1.0, f64::NAN, 2.0]).is_nan());
        assert_eq!(pairwise_sum(&vec![f64::INFINITY; 300]), f64::INFINITY);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn pairwise_sum_is_within_its_error_bound(
            xs in prop::collection::vec(-1e3..1e3f64, 0..3000)
        ) {
            // Against an exactly rounded reference: `f32` inputs summed in `f64` lose nothing
            // for these lengths (24 + 12 bits < 53).
            let xs32: Vec<f32> = xs.iter().map(|&x| x as f32).collect();
            let exact: f64 = xs32.iter().map(|&x| x as f64).sum();
            let abs: f64 = xs32.iter().map(|&x| (x as f64).abs()).sum();
            let got = pairwise_sum(&xs32) as f64;
            // Each result is at most 40 roundings from the inputs: up to 31 in a lane (32
            // terms), three joining the lanes, one adding the tail, and at most four halvings
            // below 4096 elements. Each costs at most ε times a partial sum, itself ≤ Σ|x|.
            let bound = 40.0 * f32::EPSILON as f64 * abs;
            prop_assert!((got - exact).abs() <= bound, "{} vs {} (bound {})", got, exact, bound);
        }

        #[test]
        fn broadcast_to_equals_the_per_element_walk((full, small) in broadcast_pair()) {
            let x = values(&small, 1);
            let s = broadcast_strides(&small, &full);
            let mut expected = Vec::new();
            for_each_broadcast(&full, &s, &s, |_, i, _| expected.push(x.data()[i]));
            let got = x.broadcast_to(&full);
            prop_assert!(same(&got, &Array::from_vec(expected, &full).unwrap()));
        }

        #[test]
        fn sum_to_equals_the_per_element_walk((full, small) in broadcast_pair()) {
            // Distinct integers: every partial sum is exact whatever the order (reductions
            // along the innermost dimensions are pairwise, the others in order), so the
            // sums agree to the bit, and an element added to the wrong output, twice or not
            // at all changes one.
            let x = Array::from_vec(
                (0..numel(&full)).map(|i| ((i * 7919) % 1009) as f64 - 500.0).collect(),
                &full,
            )
            .unwrap();
            let mut expected = vec![0.0; numel(&small)];
            let (s_self, s_out) = (contiguous_strides(&full), broadcast_strides(&small, &full));
            for_each_broadcast(&full, &s_self, &s_out, |_, i, io| expected[io] += x.data()[i]);
            let got = x.sum_to(&small);
            prop_assert!(same(&got, &Array::from_vec(expected, &small).unwrap()));
        }

        #[test]
        fn zip_broadcast_equals_the_per_element_walk(
            ((full, small), left, both) in (broadcast_pair(), any::<bool>(), any::<bool>())
        ) {
            // The broadcast operand on either side; with `both`, each side broadcast along
            // different dimensions (`small` against `full` with its kept dimensions set to 1).
            let other: Vec<usize> = if both {
                let offset = full.len() - small.len();
                full.iter()
                    .enumerate()
                    .map(|(d, &n)| if d >= offset && small[d - offset] == n && n != 1 { 1 } else { n })
                    .collect()
            } else {
                full.clone()
            };
            let (a_shape, b_shape) = if left { (small.clone(), other) } else { (other, small.clone()) };
            let shape = broadcast_shapes("test", &a_shape, &b_shape).unwrap();
            let (a, b) = (values(&a_shape, 3), values(&b_shape, 4));
            let (sa, sb) = (broadcast_strides(&a_shape, &shape), broadcast_strides(&b_shape, &shape));
            for &op in BinaryOp::ALL {
                let mut expected = Vec::new();
                for_each_broadcast(&shape, &sa, &sb, |_, i, j| {
                    expected.push(op.f(a.data()[i], b.data()[j]))
                });
                let got = a.zip_broadcast(&b, &shape, op);
                prop_assert!(same(&got, &Array::from_vec(expected, &shape).unwrap()), "{:?}", op);
            }
        }

        #[test]
        fn permute_equals_the_per_element_walk(
            shape in prop::collection::vec(0usize..5, 0..5),
            seed in any::<u64>(),
        ) {
            // A permutation of the axes from the seed.
            let mut perm: Vec<usize> = (0..shape.len()).collect();
            let mut s = seed;
            for i in (1..perm.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                perm.swap(i, (s >> 33) as usize % (i + 1));
            }
            let x = values(&shape, 5);
            let strides = contiguous_strides(&shape);
            let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
            let src: Vec<usize> = perm.iter().map(|&p| strides[p]).collect();
            let mut expected = Vec::new();
            for_each_broadcast(&out_shape, &src, &src, |_, i, _| expected.push(x.data()[i]));
            prop_assert!(same(&x.permute(&perm), &Array::from_vec(expected, &out_shape).unwrap()));
        }
    }
}
