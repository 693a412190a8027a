//! [`TensorAlgebra`]: what tensor backward rules compute with, implemented by plain arrays
//! (first order) and by tensor handles (the backward recorded on the tape).

use crate::array::{buffers, row_period};
use crate::parallel::for_chunks;
use crate::rules::{BinaryOp, UnaryOp};
use crate::shape::{Runs, broadcast_shapes, broadcast_strides, for_each_broadcast};
use crate::{Array, Element, Real, Shape, Tensor};

/// Runs `$body` with `$df` bound to a closure computing `op.df(x, y, out)`, the op matched
/// once, so that the common ops get loops of their own. The arms compute exactly what
/// [`BinaryOp::df`] computes.
macro_rules! with_binary_df {
    ($op:expr, |$df:ident| $body:block) => {
        match $op {
            BinaryOp::Add => {
                let $df = |_: T, _: T, _: T| (T::one(), T::one());
                $body
            }
            BinaryOp::Sub => {
                let $df = |_: T, _: T, _: T| (T::one(), -T::one());
                $body
            }
            BinaryOp::Mul => {
                let $df = |x: T, y: T, _: T| (y, x);
                $body
            }
            BinaryOp::Div => {
                let $df = |_: T, y: T, out: T| {
                    let r = T::one() / y;
                    (r, -(out * r))
                };
                $body
            }
            op => {
                let $df = |x: T, y: T, out: T| op.df(x, y, out);
                $body
            }
        }
    };
}

/// The operations tensor vector-Jacobian products are written in.
///
/// `Array<T>` implements it with direct kernels (the first-order path); `Tensor<'t, T>`
/// implements it by recording tape ops, so a rule evaluated on handles is itself
/// differentiable.
///
/// ```
/// use tape::rules::UnaryOp;
/// use tape::{Array, TensorAlgebra};
/// // The vector-Jacobian product of x², on plain arrays: g · 2x.
/// let x = Array::from_vec(vec![1.0, -2.0], &[2]).unwrap();
/// let out = x.map(|v| v * v);
/// let g = Array::ones(&[2]);
/// let vjp = <Array<f64> as TensorAlgebra<f64>>::unary_vjp(UnaryOp::PowI(2), &x, &out, &g);
/// assert_eq!(vjp.data(), &[2.0, -4.0]);
/// ```
pub trait TensorAlgebra<T: Element>: Sized {
    /// The shape.
    fn shape(&self) -> Shape;
    /// Gradient of a unary elementwise op: `g · f'(x)`.
    fn unary_vjp(op: UnaryOp, x: &Self, out: &Self, g: &Self) -> Self;
    /// Gradients of a broadcasting binary op, each summed back to its input's shape.
    fn binary_vjp(op: BinaryOp, x: &Self, y: &Self, out: &Self, g: &Self) -> (Self, Self);
    /// Elementwise product with broadcasting.
    fn mul(&self, other: &Self) -> Self;
    /// `op(self) · op(other)`, `op` transposing when its flag is set.
    fn matmul_t(&self, ta: bool, other: &Self, tb: bool) -> Self;
    /// Sum over broadcast dimensions down to `shape`.
    fn sum_to(&self, shape: &[usize]) -> Self;
    /// Repeat along broadcast dimensions up to `shape`.
    fn broadcast_to(&self, shape: &[usize]) -> Self;
    /// Same data, another shape.
    fn reshape(&self, shape: &[usize]) -> Self;
    /// Reorder axes.
    fn permute(&self, perm: &[usize]) -> Self;
    /// `out[r] = self[r, idx[r]]`.
    fn gather_elems(&self, idx: &[usize]) -> Self;
    /// Adjoint of `gather_elems`.
    fn scatter_elems(&self, idx: &[usize], n_cols: usize) -> Self;
    /// Rows `idx`.
    fn index_select(&self, idx: &[usize]) -> Self;
    /// Adjoint of `index_select`.
    fn index_add(&self, idx: &[usize], n_rows: usize) -> Self;
    /// `start..end` along `axis`.
    fn slice(&self, axis: usize, start: usize, end: usize) -> Self;
    /// Zeros before and after along `axis`.
    fn pad(&self, axis: usize, before: usize, after: usize) -> Self;
    /// A constant of the same kind as `self` (on the same tape, for handles).
    fn constant(&self, value: Array<T>) -> Self;
}

impl<T: Element> TensorAlgebra<T> for Array<T> {
    fn shape(&self) -> Shape {
        Shape::from_slice(Array::shape(self))
    }

    fn unary_vjp(op: UnaryOp, x: &Self, out: &Self, g: &Self) -> Self {
        // The rule evaluated per element on plain numbers: no intermediate arrays. ReLU and
        // the square, the common cases, get loops of their own with their rules written out,
        // so that they vectorise; `unary_vjp_generic` is the reference they are tested against.
        match op {
            UnaryOp::Relu => unary_vjp_with(x, g, |x, g| g * Real::step(x)),
            // The square's rule `g·(x·2)`, as `powi` does not vectorise.
            UnaryOp::PowI(2) => {
                let two = T::cast_from(2.0);
                unary_vjp_with(x, g, |x, g| g * (x * two))
            }
            _ => unary_vjp_generic(op, x, out, g),
        }
    }

    fn binary_vjp(op: BinaryOp, x: &Self, y: &Self, out: &Self, g: &Self) -> (Self, Self) {
        // Fast path: `x` has the output's shape and `y` repeats along its leading dimensions
        // (a bias row). Otherwise the generic rule's walk, in runs.
        if x.shape() == out.shape() && row_period(y.shape(), out.shape()).is_some() {
            binary_vjp_rows(op, x, y, out, g)
        } else {
            binary_vjp_runs(op, x, y, out, g)
        }
    }

    fn mul(&self, other: &Self) -> Self {
        let shape = broadcast_shapes("mul", self.shape(), other.shape())
            .expect("internal error: backward shapes do not broadcast");
        self.zip_broadcast(other, &shape, BinaryOp::Mul)
    }

    fn matmul_t(&self, ta: bool, other: &Self, tb: bool) -> Self {
        Array::matmul_t(self, ta, other, tb)
    }

    fn sum_to(&self, shape: &[usize]) -> Self {
        Array::sum_to(self, shape)
    }

    fn broadcast_to(&self, shape: &[usize]) -> Self {
        Array::broadcast_to(self, shape)
    }

    fn reshape(&self, shape: &[usize]) -> Self {
        self.clone()
            .reshaped(shape)
            .expect("internal error: backward reshape")
    }

    fn permute(&self, perm: &[usize]) -> Self {
        Array::permute(self, perm)
    }

    fn gather_elems(&self, idx: &[usize]) -> Self {
        Array::gather_elems(self, idx)
    }

    fn scatter_elems(&self, idx: &[usize], n_cols: usize) -> Self {
        Array::scatter_elems(self, idx, n_cols)
    }

    fn index_select(&self, idx: &[usize]) -> Self {
        Array::index_select(self, idx)
    }

    fn index_add(&self, idx: &[usize], n_rows: usize) -> Self {
        Array::index_add(self, idx, n_rows)
    }

    fn slice(&self, axis: usize, start: usize, end: usize) -> Self {
        self.slice_axis(axis, start, end)
    }

    fn pad(&self, axis: usize, before: usize, after: usize) -> Self {
        self.pad_axis(axis, before, after)
    }

    fn constant(&self, value: Array<T>) -> Self {
        value
    }
}

/// [`TensorAlgebra::binary_vjp`] on arrays where `x` has the output's shape and `y` repeats
/// along its leading dimensions (a bias row). The partials are evaluated and summed in the same
/// order as the generic loop, so the values are the same; `Add` skips the multiplications by
/// one.
fn binary_vjp_rows<T: Element>(
    op: BinaryOp,
    x: &Array<T>,
    y: &Array<T>,
    out: &Array<T>,
    g: &Array<T>,
) -> (Array<T>, Array<T>) {
    let row = y.len();
    let mut gy = vec![T::zero(); row];
    let gx = if op == BinaryOp::Add {
        for gs in g.data().chunks_exact(row) {
            for (a, &v) in gy.iter_mut().zip(gs) {
                *a += v;
            }
        }
        // The gradient passes through unchanged: a clone, which for a gradient the
        // sweep has made shared is a second reference rather than a copy.
        return (
            g.clone(),
            Array::from_parts(gy, Shape::from_slice(y.shape())),
        );
    } else {
        let (xd, yd, od, gd) = (x.data(), y.data(), out.data(), g.data());
        let mut gx = buffers::scratch(x.len());
        with_binary_df!(op, |df| {
            for (r, gxr) in gx.chunks_exact_mut(row).enumerate() {
                let base = r * row;
                let (xs, os, gs) = (
                    &xd[base..base + row],
                    &od[base..base + row],
                    &gd[base..base + row],
                );
                for j in 0..row {
                    let (dx, dy) = df(xs[j], yd[j], os[j]);
                    gxr[j] = gs[j] * dx;
                    gy[j] += gs[j] * dy;
                }
            }
        });
        gx
    };
    (
        Array::from_parts(gx, Shape::from_slice(x.shape())),
        Array::from_parts(gy, Shape::from_slice(y.shape())),
    )
}

/// [`TensorAlgebra::binary_vjp`] on arrays for any broadcast: the generic rule's walk, in runs,
/// with the op matched once. Each input's gradient receives its terms in the same order as in
/// the generic rule.
fn binary_vjp_runs<T: Element>(
    op: BinaryOp,
    x: &Array<T>,
    y: &Array<T>,
    out: &Array<T>,
    g: &Array<T>,
) -> (Array<T>, Array<T>) {
    let shape = out.shape();
    let mut gx = buffers::filled(x.len(), T::zero());
    let mut gy = buffers::filled(y.len(), T::zero());
    let (xd, yd, od, gd) = (x.data(), y.data(), out.data(), g.data());
    let sx = broadcast_strides(x.shape(), shape);
    let sy = broadcast_strides(y.shape(), shape);
    let runs = Runs::new(shape, &sx, &sy);
    let (len, ax, ay) = (runs.len, runs.a_step, runs.b_step);
    with_binary_df!(op, |df| {
        match (ax, ay) {
            // `y` repeats along the run (a column `[m, 1]`): its term is summed in a
            // register, in the same order.
            (1, 0) => runs.for_each(|i0, ix0, iy| {
                let (xs, os, gs) = (&xd[ix0..ix0 + len], &od[i0..i0 + len], &gd[i0..i0 + len]);
                let (y, mut acc) = (yd[iy], gy[iy]);
                for (k, gxk) in gx[ix0..ix0 + len].iter_mut().enumerate() {
                    let (dx, dy) = df(xs[k], y, os[k]);
                    *gxk += gs[k] * dx;
                    acc += gs[k] * dy;
                }
                gy[iy] = acc;
            }),
            (0, 1) => runs.for_each(|i0, ix, iy0| {
                let (ys, os, gs) = (&yd[iy0..iy0 + len], &od[i0..i0 + len], &gd[i0..i0 + len]);
                let (x, mut acc) = (xd[ix], gx[ix]);
                for (k, gyk) in gy[iy0..iy0 + len].iter_mut().enumerate() {
                    let (dx, dy) = df(x, ys[k], os[k]);
                    acc += gs[k] * dx;
                    *gyk += gs[k] * dy;
                }
                gx[ix] = acc;
            }),
            (1, 1) => runs.for_each(|i0, ix0, iy0| {
                let (xs, ys) = (&xd[ix0..ix0 + len], &yd[iy0..iy0 + len]);
                let (os, gs) = (&od[i0..i0 + len], &gd[i0..i0 + len]);
                let (gxs, gys) = (&mut gx[ix0..ix0 + len], &mut gy[iy0..iy0 + len]);
                for k in 0..len {
                    let (dx, dy) = df(xs[k], ys[k], os[k]);
                    gxs[k] += gs[k] * dx;
                    gys[k] += gs[k] * dy;
                }
            }),
            _ => runs.for_each(|i0, ix0, iy0| {
                for k in 0..len {
                    let (i, ix, iy) = (i0 + k, ix0 + k * ax, iy0 + k * ay);
                    let (dx, dy) = df(xd[ix], yd[iy], od[i]);
                    gx[ix] += gd[i] * dx;
                    gy[iy] += gd[i] * dy;
                }
            }),
        }
    });
    (
        Array::from_parts(gx, Shape::from_slice(x.shape())),
        Array::from_parts(gy, Shape::from_slice(y.shape())),
    )
}

/// `rule(xᵢ, gᵢ)` for every element, in chunks shared across threads: a unary op's gradient
/// with its rule written out, so that the loop vectorises.
fn unary_vjp_with<T: Element>(
    x: &Array<T>,
    g: &Array<T>,
    rule: impl Fn(T, T) -> T + Sync,
) -> Array<T> {
    let mut data = buffers::scratch(x.len());
    for_chunks(&mut data, 1, |start, out| {
        let end = start + out.len();
        for ((d, &x), &g) in out
            .iter_mut()
            .zip(&x.data()[start..end])
            .zip(&g.data()[start..end])
        {
            *d = rule(x, g);
        }
    });
    Array::from_parts(data, Shape::from_slice(x.shape()))
}

/// The gradient of a unary elementwise op by the rule evaluated per element: the reference the
/// fast paths of `unary_vjp` are tested against, and what it runs otherwise.
pub(crate) fn unary_vjp_generic<T: Element>(
    op: UnaryOp,
    x: &Array<T>,
    out: &Array<T>,
    g: &Array<T>,
) -> Array<T> {
    let mut data = buffers::with_capacity(x.len());
    data.extend(
        x.data()
            .iter()
            .zip(out.data())
            .zip(g.data())
            .map(|((&x, &o), &g)| g * op.df(x, o)),
    );
    Array::from_parts(data, Shape::from_slice(x.shape()))
}

/// The gradients of a broadcasting binary op by the rule evaluated per element: the reference
/// the paths of `binary_vjp` are tested against.
#[cfg(test)]
pub(crate) fn binary_vjp_generic<T: Element>(
    op: BinaryOp,
    x: &Array<T>,
    y: &Array<T>,
    out: &Array<T>,
    g: &Array<T>,
) -> (Array<T>, Array<T>) {
    // One pass over the output: evaluate both partials per element and accumulate straight
    // into each input's (smaller) shape, which un-does the broadcast as it goes.
    let shape = out.shape();
    let mut gx = buffers::filled(x.len(), T::zero());
    let mut gy = buffers::filled(y.len(), T::zero());
    let (xd, yd, od, gd) = (x.data(), y.data(), out.data(), g.data());
    if x.shape() == shape && y.shape() == shape {
        for i in 0..od.len() {
            let (dx, dy) = op.df(xd[i], yd[i], od[i]);
            gx[i] = gd[i] * dx;
            gy[i] = gd[i] * dy;
        }
    } else {
        let sx = broadcast_strides(x.shape(), shape);
        let sy = broadcast_strides(y.shape(), shape);
        for_each_broadcast(shape, &sx, &sy, |i, ix, iy| {
            let (dx, dy) = op.df(xd[ix], yd[iy], od[i]);
            gx[ix] += gd[i] * dx;
            gy[iy] += gd[i] * dy;
        });
    }
    (
        Array::from_parts(gx, Shape::from_slice(x.shape())),
        Array::from_parts(gy, Shape::from_slice(y.shape())),
    )
}

impl<'t, T: Element> TensorAlgebra<T> for Tensor<'t, T> {
    fn shape(&self) -> Shape {
        Tensor::shape(*self)
    }

    fn unary_vjp(op: UnaryOp, x: &Self, out: &Self, g: &Self) -> Self {
        *g * op.df(*x, *out)
    }

    fn binary_vjp(op: BinaryOp, x: &Self, y: &Self, out: &Self, g: &Self) -> (Self, Self) {
        let (dx, dy) = op.df(*x, *y, *out);
        ((*g * dx).sum_to(&x.shape()), (*g * dy).sum_to(&y.shape()))
    }

    fn mul(&self, other: &Self) -> Self {
        *self * *other
    }

    fn matmul_t(&self, ta: bool, other: &Self, tb: bool) -> Self {
        Tensor::matmul_t(*self, ta, *other, tb)
    }

    fn sum_to(&self, shape: &[usize]) -> Self {
        Tensor::sum_to(*self, shape)
    }

    fn broadcast_to(&self, shape: &[usize]) -> Self {
        Tensor::broadcast_to(*self, shape)
    }

    fn reshape(&self, shape: &[usize]) -> Self {
        Tensor::reshape(*self, shape)
    }

    fn permute(&self, perm: &[usize]) -> Self {
        Tensor::permute(*self, perm)
    }

    fn gather_elems(&self, idx: &[usize]) -> Self {
        Tensor::gather(*self, idx)
    }

    fn scatter_elems(&self, idx: &[usize], n_cols: usize) -> Self {
        Tensor::scatter(*self, idx, n_cols)
    }

    fn index_select(&self, idx: &[usize]) -> Self {
        Tensor::index_select(*self, idx)
    }

    fn index_add(&self, idx: &[usize], n_rows: usize) -> Self {
        Tensor::index_add(*self, idx, n_rows)
    }

    fn slice(&self, axis: usize, start: usize, end: usize) -> Self {
        Tensor::slice(*self, axis, start, end)
    }

    fn pad(&self, axis: usize, before: usize, after: usize) -> Self {
        Tensor::pad(*self, axis, before, after)
    }

    fn constant(&self, value: Array<T>) -> Self {
        self.tape.tensor_constant(value)
    }
}

impl<'t, T: Element> Real for Tensor<'t, T> {
    fn cst(&self, c: f64) -> Self {
        self.tape
            .tensor_constant(Array::full(&self.shape(), T::cast_from(c)))
    }
    fn unary(self, op: UnaryOp) -> Self {
        Tensor::unary(self, op)
    }
    fn binary(self, other: Self, op: BinaryOp) -> Self {
        Tensor::binary(self, other, op)
    }
    fn step(self) -> Self {
        let v = self.value().map(|x| Real::step(x));
        self.tape.tensor_constant(v)
    }
    fn sign(self) -> Self {
        let v = self.value().map(|x| Real::sign(x));
        self.tape.tensor_constant(v)
    }
    fn ge_mask(self, other: Self) -> Self {
        let shape = broadcast_shapes("ge_mask", &self.shape(), &other.shape())
            .expect("internal error: ge_mask shapes do not broadcast");
        let (a, b) = (self.value(), other.value());
        let mut data = Vec::with_capacity(crate::shape::numel(&shape));
        let (sa, sb) = (
            broadcast_strides(a.shape(), &shape),
            broadcast_strides(b.shape(), &shape),
        );
        for_each_broadcast(&shape, &sa, &sb, |_, i, j| {
            data.push(Real::ge_mask(a.data()[i], b.data()[j]))
        });
        self.tape.tensor_constant(Array::from_parts(data, shape))
    }
}

#[cfg(test)]
mod tests {
    //! The fast paths of the first-order rules against the generic rules they replace.

    use super::*;
    use crate::shape::{broadcast_shapes, contiguous_strides, numel};

    /// Shape pairs `(x, y)` where `y` repeats along the leading dimensions of `x`, plus a few
    /// that take the generic path.
    const SHAPES: [(&[usize], &[usize]); 18] = [
        (&[40, 30], &[40, 30]),
        (&[40, 30], &[30]),
        (&[5, 4], &[4]),
        (&[5, 4], &[1, 4]),
        (&[2, 3, 4], &[3, 4]),
        (&[2, 3, 4], &[4]),
        (&[5, 4], &[]),
        (&[5, 4], &[5, 4]),
        (&[5, 4], &[5, 1]),
        (&[4], &[5, 4]),
        (&[5, 1], &[5, 4]),
        (&[], &[5, 4]),
        (&[3, 1], &[1, 4]),
        (&[2, 1, 4], &[3, 1]),
        (&[2, 3, 4], &[2, 1, 4]),
        (&[2, 3, 4], &[2, 3, 1]),
        (&[0, 3], &[3]),
        (&[3], &[0, 3]),
    ];

    /// Equal shapes and equal elements: the same number, or both NaN. (The generic walk adds
    /// each partial to a zero, so where a product is −0 it reports +0; the values agree.)
    fn same_values(a: &Array<f64>, b: &Array<f64>) -> bool {
        a.shape() == b.shape()
            && a.data()
                .iter()
                .zip(b.data())
                .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    }

    /// `x op y` by the generic broadcasting walk, for comparison with `zip_broadcast`.
    fn zip_reference(op: BinaryOp, x: &Array<f64>, y: &Array<f64>, shape: &[usize]) -> Array<f64> {
        let (sx, sy) = (
            broadcast_strides(x.shape(), shape),
            broadcast_strides(y.shape(), shape),
        );
        let mut data = Vec::new();
        for_each_broadcast(shape, &sx, &sy, |_, i, j| {
            data.push(op.f(x.data()[i], y.data()[j]))
        });
        Array::from_vec(data, shape).unwrap()
    }

    #[test]
    fn binary_fast_paths_equal_the_generic_rule() {
        for (k, &(sx, sy)) in SHAPES.iter().enumerate() {
            let shape = broadcast_shapes("test", sx, sy).unwrap();
            // Positive operands keep `pow` and `ln` finite; a few ties exercise max/min.
            let x = Array::<f64>::rand_uniform(sx, 0.5, 2.0, k as u64);
            let mut y = Array::<f64>::rand_uniform(sy, 0.5, 2.0, 100 + k as u64);
            if let (Some(&x0), Some(y0)) = (x.data().first(), y.data_mut().first_mut()) {
                *y0 = x0;
            }
            let g = Array::<f64>::rand_normal(&shape, 0.0, 1.0, 200 + k as u64);
            for &op in BinaryOp::ALL {
                let out = x.zip_broadcast(&y, &shape, op);
                assert!(
                    same_values(&out, &zip_reference(op, &x, &y, &shape)),
                    "{op:?} {sx:?} {sy:?}"
                );
                let (fx, fy) = <Array<f64> as TensorAlgebra<f64>>::binary_vjp(op, &x, &y, &out, &g);
                let (rx, ry) = binary_vjp_generic(op, &x, &y, &out, &g);
                assert!(same_values(&fx, &rx), "{op:?} {sx:?} {sy:?}: ∂x");
                assert!(same_values(&fy, &ry), "{op:?} {sx:?} {sy:?}: ∂y");
            }
        }
    }

    #[test]
    fn relu_fast_path_equals_the_generic_rule() {
        let x = Array::from_vec(
            vec![-2.0, -0.0, 0.0, 1e-300, 3.0, f64::NAN, f64::INFINITY, -1.0],
            &[2, 4],
        )
        .unwrap();
        let out = x.map(|v| UnaryOp::Relu.f(v));
        let g = Array::from_vec(
            vec![
                1.5,
                f64::INFINITY,
                -2.0,
                4.0,
                f64::NAN,
                1.0,
                2.0,
                f64::NEG_INFINITY,
            ],
            &[2, 4],
        )
        .unwrap();
        let fast = <Array<f64> as TensorAlgebra<f64>>::unary_vjp(UnaryOp::Relu, &x, &out, &g);
        let generic = unary_vjp_generic(UnaryOp::Relu, &x, &out, &g);
        assert!(same_values(&fast, &generic));
    }

    #[test]
    fn the_squares_kernels_equal_the_powi_rule_element_by_element() {
        let specials = [
            -2.5,
            -0.0,
            0.0,
            1e-300,
            1e200,
            f64::NAN,
            f64::INFINITY,
            -3.0,
        ];
        let mut values = specials.to_vec();
        values.extend(Array::<f64>::rand_uniform(&[2000], -3.0, 3.0, 8).data());
        let x = Array::from_vec(values, &[2008]).unwrap();
        let g = Array::<f64>::rand_normal(&[2008], 0.0, 1.0, 9);
        let bits = |a: &Array<f64>| a.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let square = UnaryOp::PowI(2);
        let out = x.unary(square);
        // `f64::powi(x, 2)`, element by element, is what the kernel must give bit for bit.
        assert_eq!(bits(&out), bits(&x.map(|v| v.powi(2))));
        let fast = <Array<f64> as TensorAlgebra<f64>>::unary_vjp(square, &x, &out, &g);
        let generic = unary_vjp_generic(square, &x, &out, &g);
        assert_eq!(bits(&fast), bits(&generic));
    }

    #[test]
    fn unary_kernels_equal_the_rule_element_by_element() {
        let specials = [-2.5, -0.0, 0.0, 1e-300, 0.5, 3.0, f64::NAN, f64::INFINITY];
        let mut values = specials.to_vec();
        values.extend(Array::<f64>::rand_uniform(&[2000], -3.0, 3.0, 7).data());
        let x = Array::from_vec(values, &[2008]).unwrap();
        for &op in UnaryOp::ALL {
            let fast = x.unary(op);
            let reference = x.map(|v| op.f(v));
            let bits = |a: &Array<f64>| a.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&reference), "{op:?}");
            assert_eq!(fast.shape(), x.shape());
        }
    }

    #[test]
    fn kernels_split_across_threads_equal_the_rule_element_by_element() {
        // Long enough to be split into chunks, with lengths and rows that do not divide the
        // chunk sizes evenly, and NaN garbage left in the recycled buffers.
        let bits = |a: &Array<f64>| a.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for &(rows, row) in &[(1, 100_003), (3001, 30), (131, 257), (6554, 10)] {
            let n = rows * row;
            assert!(n >= crate::parallel::PARALLEL_ELEMENTS_MIN);
            let shape = [rows, row];
            let x = Array::<f64>::rand_uniform(&shape, -2.0, 2.0, 11);
            let y = Array::<f64>::rand_uniform(&shape, -2.0, 2.0, 12);
            let bias = Array::<f64>::rand_uniform(&[row], -2.0, 2.0, 13);
            let g = Array::<f64>::rand_normal(&shape, 0.0, 1.0, 14);
            let relu = x.map(|v| UnaryOp::Relu.f(v));
            for threads in 1..=3 {
                crate::parallel::set_num_threads(threads);
                crate::array::buffers::recycle(vec![f64::NAN; n]);
                for op in [UnaryOp::Relu, UnaryOp::Exp, UnaryOp::MulC(-1.5)] {
                    let reference = x.map(|v| op.f(v));
                    assert_eq!(bits(&x.unary(op)), bits(&reference), "{op:?} {shape:?}");
                }
                for op in [BinaryOp::Add, BinaryOp::Mul, BinaryOp::Div] {
                    let equal = x.zip_broadcast(&y, &shape, op);
                    assert_eq!(bits(&equal), bits(&zip_reference(op, &x, &y, &shape)));
                    let rows = x.zip_broadcast(&bias, &shape, op);
                    assert_eq!(bits(&rows), bits(&zip_reference(op, &x, &bias, &shape)));
                }
                let fast =
                    <Array<f64> as TensorAlgebra<f64>>::unary_vjp(UnaryOp::Relu, &x, &relu, &g);
                let generic = unary_vjp_generic(UnaryOp::Relu, &x, &relu, &g);
                assert!(
                    same_values(&fast, &generic),
                    "{shape:?} on {threads} threads"
                );
            }
        }
    }

    #[test]
    fn row_period_recognises_repeated_rows_only() {
        assert_eq!(crate::array::row_period(&[4], &[5, 4]), Some(4));
        assert_eq!(crate::array::row_period(&[1, 1, 4], &[5, 4]), Some(4));
        assert_eq!(crate::array::row_period(&[], &[5, 4]), Some(1));
        assert_eq!(crate::array::row_period(&[5, 4], &[5, 4]), Some(20));
        assert_eq!(crate::array::row_period(&[5, 1], &[5, 4]), None);
        assert_eq!(crate::array::row_period(&[0], &[5, 0]), None);
        let _ = (contiguous_strides(&[2]), numel(&[2]));
    }
}
