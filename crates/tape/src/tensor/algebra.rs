//! [`TensorAlgebra`]: what tensor backward rules compute with, implemented by plain arrays
//! (first order) and by tensor handles (the backward recorded on the tape).

use crate::rules::{BinaryOp, UnaryOp};
use crate::shape::{broadcast_shapes, broadcast_strides, for_each_broadcast};
use crate::{Array, Element, Real, Shape, Tensor};

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
        // The rule evaluated per element on plain numbers: no intermediate arrays.
        let data = x
            .data()
            .iter()
            .zip(out.data())
            .zip(g.data())
            .map(|((&x, &o), &g)| g * op.df(x, o))
            .collect();
        Array::from_parts(data, Shape::from_slice(x.shape()))
    }

    fn binary_vjp(op: BinaryOp, x: &Self, y: &Self, out: &Self, g: &Self) -> (Self, Self) {
        // One pass over the output: evaluate both partials per element and accumulate straight
        // into each input's (smaller) shape, which un-does the broadcast as it goes.
        let shape = out.shape();
        let mut gx = vec![T::zero(); x.len()];
        let mut gy = vec![T::zero(); y.len()];
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
    fn exp(self) -> Self {
        Tensor::exp(self)
    }
    fn ln(self) -> Self {
        Tensor::ln(self)
    }
    fn sqrt(self) -> Self {
        Tensor::sqrt(self)
    }
    fn sin(self) -> Self {
        Tensor::sin(self)
    }
    fn cos(self) -> Self {
        Tensor::cos(self)
    }
    fn tan(self) -> Self {
        Tensor::tan(self)
    }
    fn tanh(self) -> Self {
        Tensor::tanh(self)
    }
    fn sigmoid(self) -> Self {
        Tensor::sigmoid(self)
    }
    fn powi(self, n: i32) -> Self {
        Tensor::powi(self, n)
    }
    fn powf(self, c: f64) -> Self {
        Tensor::powf(self, T::cast_from(c))
    }
    fn pow(self, y: Self) -> Self {
        Tensor::pow(self, y)
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
