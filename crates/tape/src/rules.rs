//! The elementwise op table: every op's forward and derivative, written once, shared by
//! scalars and tensors, by first-order and higher-order backward.
//!
//! Each entry gives an op's name, its `Scalar`/`Tensor` method, the forward `f` on plain numbers,
//! the derivative rule `df` (generic over [`Real`], so one rule serves every use: evaluated on
//! `f32`/`f64` at record time it gives the partials a scalar node stores; evaluated per element
//! it gives a tensor op's vector-Jacobian product; evaluated on tape handles it records the
//! derivative so it can be differentiated again), the [`Domain`] its property tests draw from,
//! and one worked example. `generate.rs` turns the table into [`UnaryOp`], [`BinaryOp`],
//! [`Real`]'s methods, the scalar node's op codes and the methods on [`Scalar`] and [`Tensor`]
//! with their doc examples; every test of elementwise ops iterates [`UnaryOp::ALL`] and
//! [`BinaryOp::ALL`]. **Adding an elementwise op is one entry here** (and a row in
//! `docs/ops.md`).
//!
//! `float:` names the `num_traits::Float` method the op implements, or `-`.

use std::f64::consts::{LN_2, LN_10};
use std::ops::{Add, Div, Mul, Neg, Sub};

use num_traits::Float;

use crate::real::sigmoid_value;
use crate::{Element, Scalar, TapeError, Tensor};

#[macro_use]
mod generate;

elementwise_ops! {
    unary {
        /// `-x`; derivative −1.
        Neg {
            name: "neg", method: -, float: -,
            f: |x| -x,
            df: |x, _out| x.cst(-1.0),
            domain: Domain::new(-3.0, 3.0),
            example: 0.5 => (-0.5, -1.0),
        }
        /// `eˣ`; derivative `eˣ` (the result, reused).
        Exp {
            name: "exp", method: exp, float: exp,
            f: |x| Float::exp(x),
            df: |_x, out| out,
            domain: Domain::new(-3.0, 3.0),
            example: 0.5 => (0.5f64.exp(), 0.5f64.exp()),
        }
        /// `eˣ − 1`, accurate for `x` near 0 where `x.exp() − 1` cancels; derivative `eˣ`.
        ExpM1 {
            name: "exp_m1", method: exp_m1, float: exp_m1,
            f: |x| Float::exp_m1(x),
            df: |x, out| out + x.cst(1.0),
            domain: Domain::new(-3.0, 3.0),
            example: 1e-20 => (1e-20, 1.0), // 1e-20f64.exp() - 1.0 is 0
        }
        /// `2ˣ`; derivative `2ˣ ln 2`.
        Exp2 {
            name: "exp2", method: exp2, float: exp2,
            f: |x| Float::exp2(x),
            df: |x, out| out * x.cst(LN_2),
            domain: Domain::new(-3.0, 3.0),
            example: 0.5 => (2f64.sqrt(), 2f64.sqrt() * std::f64::consts::LN_2),
        }
        /// Natural logarithm; derivative `1/x`. NaN for `x < 0`, `−∞` at 0.
        Ln {
            name: "ln", method: ln, float: ln,
            f: |x| Float::ln(x),
            df: |x, _out| x.recip(),
            domain: Domain::new(0.0, 5.0).avoiding(&[0.0], 0.05),
            example: 4.0 => (4f64.ln(), 0.25),
        }
        /// `ln(1 + x)`, accurate for `x` near 0 where `(1 + x).ln()` rounds `1 + x` first;
        /// derivative `1/(1 + x)`.
        Ln1p {
            name: "ln_1p", method: ln_1p, float: ln_1p,
            f: |x| Float::ln_1p(x),
            df: |x, _out| (x + x.cst(1.0)).recip(),
            domain: Domain::new(-1.0, 3.0).avoiding(&[-1.0], 0.2),
            example: 1e-20 => (1e-20, 1.0), // (1.0 + 1e-20f64).ln() is 0
        }
        /// Base-2 logarithm; derivative `1/(x ln 2)`.
        Log2 {
            name: "log2", method: log2, float: log2,
            f: |x| Float::log2(x),
            df: |x, _out| (x * x.cst(LN_2)).recip(),
            domain: Domain::new(0.0, 5.0).avoiding(&[0.0], 0.05),
            example: 8.0 => (3.0, 1.0 / (8.0 * std::f64::consts::LN_2)),
        }
        /// Base-10 logarithm; derivative `1/(x ln 10)`.
        Log10 {
            name: "log10", method: log10, float: log10,
            f: |x| Float::log10(x),
            df: |x, _out| (x * x.cst(LN_10)).recip(),
            domain: Domain::new(0.0, 5.0).avoiding(&[0.0], 0.05),
            example: 100.0 => (2.0, 1.0 / (100.0 * std::f64::consts::LN_10)),
        }
        /// Square root; derivative `1/(2√x)`, infinite at 0.
        Sqrt {
            name: "sqrt", method: sqrt, float: sqrt,
            f: |x| Float::sqrt(x),
            df: |x, out| x.cst(0.5) / out,
            domain: Domain::new(0.0, 5.0).avoiding(&[0.0], 0.05),
            example: 4.0 => (2.0, 0.25),
        }
        /// Cube root, real for negative `x`; derivative `1/(3 ∛x²)`, infinite at 0.
        Cbrt {
            name: "cbrt", method: cbrt, float: cbrt,
            f: |x| Float::cbrt(x),
            df: |x, out| x.cst(1.0 / 3.0) / (out * out),
            domain: Domain::new(-3.0, 3.0).avoiding(&[0.0], 0.1),
            example: -8.0 => (-2.0, 1.0 / 12.0),
        }
        /// `1/x`; derivative `−1/x²`.
        Recip {
            name: "recip", method: recip, float: recip,
            f: |x| Float::recip(x),
            df: |_x, out| -(out * out),
            domain: Domain::new(-3.0, 3.0).avoiding(&[0.0], 0.2),
            example: 2.0 => (0.5, -0.25),
        }
        /// Sine; derivative `cos x`.
        Sin {
            name: "sin", method: sin, float: sin,
            f: |x| Float::sin(x),
            df: |x, _out| x.cos(),
            domain: Domain::new(-6.0, 6.0),
            example: 0.5 => (0.5f64.sin(), 0.5f64.cos()),
        }
        /// Cosine; derivative `−sin x`.
        Cos {
            name: "cos", method: cos, float: cos,
            f: |x| Float::cos(x),
            df: |x, _out| -x.sin(),
            domain: Domain::new(-6.0, 6.0),
            example: 0.5 => (0.5f64.cos(), -0.5f64.sin()),
        }
        /// Tangent; derivative `1 + tan² x` (the result, reused); poles as IEEE.
        Tan {
            name: "tan", method: tan, float: tan,
            f: |x| Float::tan(x),
            df: |x, out| x.cst(1.0) + out * out,
            // The poles at ±π/2 ≈ ±1.571 stay outside.
            domain: Domain::new(-1.3, 1.3),
            example: 0.5 => (0.5f64.tan(), 1.0 / (0.5f64.cos() * 0.5f64.cos())),
        }
        /// Inverse sine, on `[−1, 1]`; derivative `1/√(1 − x²)`, infinite at ±1.
        Asin {
            name: "asin", method: asin, float: asin,
            f: |x| Float::asin(x),
            df: |x, _out| (x.cst(1.0) - x * x).sqrt().recip(),
            domain: Domain::new(-1.0, 1.0).avoiding(&[-1.0, 1.0], 0.05),
            example: 0.5 => (std::f64::consts::FRAC_PI_6, 1.0 / 0.75f64.sqrt()),
        }
        /// Inverse cosine, on `[−1, 1]`; derivative `−1/√(1 − x²)`, infinite at ±1.
        Acos {
            name: "acos", method: acos, float: acos,
            f: |x| Float::acos(x),
            df: |x, _out| -(x.cst(1.0) - x * x).sqrt().recip(),
            domain: Domain::new(-1.0, 1.0).avoiding(&[-1.0, 1.0], 0.05),
            example: 0.5 => (std::f64::consts::FRAC_PI_3, -1.0 / 0.75f64.sqrt()),
        }
        /// Inverse tangent; derivative `1/(1 + x²)`.
        Atan {
            name: "atan", method: atan, float: atan,
            f: |x| Float::atan(x),
            df: |x, _out| (x * x + x.cst(1.0)).recip(),
            domain: Domain::new(-3.0, 3.0),
            example: 1.0 => (std::f64::consts::FRAC_PI_4, 0.5),
        }
        /// Hyperbolic sine; derivative `cosh x`.
        Sinh {
            name: "sinh", method: sinh, float: sinh,
            f: |x| Float::sinh(x),
            df: |x, _out| x.cosh(),
            domain: Domain::new(-3.0, 3.0),
            example: 0.5 => ((0.5f64.exp() - (-0.5f64).exp()) / 2.0, (0.5f64.exp() + (-0.5f64).exp()) / 2.0),
        }
        /// Hyperbolic cosine; derivative `sinh x`.
        Cosh {
            name: "cosh", method: cosh, float: cosh,
            f: |x| Float::cosh(x),
            df: |x, _out| x.sinh(),
            domain: Domain::new(-3.0, 3.0),
            example: 0.5 => ((0.5f64.exp() + (-0.5f64).exp()) / 2.0, (0.5f64.exp() - (-0.5f64).exp()) / 2.0),
        }
        /// Hyperbolic tangent; derivative `1 − tanh² x` (the result, reused).
        Tanh {
            name: "tanh", method: tanh, float: tanh,
            f: |x| Float::tanh(x),
            df: |x, out| x.cst(1.0) - out * out,
            domain: Domain::new(-4.0, 4.0),
            example: 0.5 => (0.5f64.tanh(), 1.0 - 0.5f64.tanh() * 0.5f64.tanh()),
        }
        /// Inverse hyperbolic sine; derivative `1/√(x² + 1)`.
        Asinh {
            name: "asinh", method: asinh, float: asinh,
            f: |x| Float::asinh(x),
            df: |x, _out| (x * x + x.cst(1.0)).sqrt().recip(),
            domain: Domain::new(-3.0, 3.0),
            example: 0.75 => (2f64.ln(), 0.8), // ln(0.75 + √(0.75² + 1)) = ln 2; 1/1.25
        }
        /// Inverse hyperbolic cosine, on `[1, ∞)`; derivative `1/(√(x − 1) √(x + 1))`,
        /// infinite at 1.
        Acosh {
            name: "acosh", method: acosh, float: acosh,
            f: |x| Float::acosh(x),
            df: |x, _out| ((x - x.cst(1.0)).sqrt() * (x + x.cst(1.0)).sqrt()).recip(),
            domain: Domain::new(1.0, 4.0).avoiding(&[1.0], 0.1),
            example: 1.25 => (2f64.ln(), 1.0 / 0.75), // ln(1.25 + √(1.25² − 1)) = ln 2
        }
        /// Inverse hyperbolic tangent, on `(−1, 1)`; derivative `1/(1 − x²)`.
        Atanh {
            name: "atanh", method: atanh, float: atanh,
            f: |x| Float::atanh(x),
            df: |x, _out| (x.cst(1.0) - x * x).recip(),
            domain: Domain::new(-1.0, 1.0).avoiding(&[-1.0, 1.0], 0.1),
            example: 0.6 => (2f64.ln(), 1.0 / 0.64), // ½ ln(1.6 / 0.4) = ln 2
        }
        /// Logistic sigmoid `1/(1 + e⁻ˣ)`, computed without overflow for large `|x|`;
        /// derivative `σ(1 − σ)` (the result, reused).
        Sigmoid {
            name: "sigmoid", method: sigmoid, float: -,
            f: |x| sigmoid_value(x),
            df: |x, out| out * (x.cst(1.0) - out),
            domain: Domain::new(-8.0, 8.0),
            example: 0.0 => (0.5, 0.25),
        }
        /// `max(x, 0)`; derivative 1 for `x > 0` and **0 at and below 0** (PyTorch, JAX).
        Relu {
            name: "relu", method: relu, float: -,
            f: |x| if x > T::zero() { x } else { T::zero() },
            df: |x, _out| x.step(),
            domain: Domain::new(-3.0, 3.0).avoiding(&[0.0], 1e-3),
            example: -0.5 => (0.0, 0.0),
        }
        /// `|x|`; derivative `sign x`, **0 at 0** (PyTorch, JAX).
        Abs {
            name: "abs", method: abs, float: abs,
            f: |x| Float::abs(x),
            df: |x, _out| x.sign(),
            domain: Domain::new(-3.0, 3.0).avoiding(&[0.0], 1e-3),
            example: -2.0 => (2.0, -1.0),
        }
    }
    unary_with_param {
        /// `xⁿ`, integer `n`; derivative `n xⁿ⁻¹` (`x⁰` is constant: derivative 0, also at 0).
        PowI(n: i32) {
            name: "powi",
            samples: [3, 2, 1, 0, -2, -3],
            f: |x| Float::powi(x, n),
            df: |x, _out| if n == 0 { x.cst(0.0) } else { x.powi(n - 1) * x.cst(n as f64) },
            domain: Domain::new(-2.0, 2.0).avoiding(&[0.0], 0.3),
            example: (3) at 2.0 => (8.0, 12.0),
        }
        /// `xᶜ`, constant `c`; derivative `c xᶜ⁻¹`.
        PowF(c: f64) {
            name: "powf",
            samples: [0.5, 1.7, -1.3],
            f: |x| Float::powf(x, T::cast_from(c)),
            df: |x, _out| x.powf(c - 1.0) * x.cst(c),
            domain: Domain::new(0.0, 4.0).avoiding(&[0.0], 0.1),
            example: (1.5) at 4.0 => (8.0, 3.0),
        }
        /// `x + c` (recorded for `x + c`, `x − c` and `c + x`); derivative 1.
        AddC(c: f64) {
            name: "add_const",
            samples: [2.0, -0.25],
            f: |x| x + T::cast_from(c),
            df: |x, _out| x.cst(1.0),
            domain: Domain::new(-3.0, 3.0),
            example: (2.0) at 0.5 => (2.5, 1.0),
        }
        /// `c · x` (recorded for `x · c` and `c · x`); derivative `c`.
        MulC(c: f64) {
            name: "mul_const",
            samples: [3.0, -1.5],
            f: |x| x * T::cast_from(c),
            df: |x, _out| x.cst(c),
            domain: Domain::new(-3.0, 3.0),
            example: (3.0) at 0.5 => (1.5, 3.0),
        }
        /// `c − x` (recorded for `c − x` with a constant `c`); derivative −1.
        RSubC(c: f64) {
            name: "rsub_const",
            samples: [2.0, -0.5],
            f: |x| T::cast_from(c) - x,
            df: |x, _out| x.cst(-1.0),
            domain: Domain::new(-3.0, 3.0),
            example: (2.0) at 0.5 => (1.5, -1.0),
        }
        /// `x / c`, exactly IEEE division (recorded for `x / c` with a constant `c`);
        /// derivative `1/c`.
        DivC(c: f64) {
            name: "div_const",
            samples: [3.0, -0.5],
            f: |x| x / T::cast_from(c),
            df: |x, _out| x.cst(1.0 / c),
            domain: Domain::new(-3.0, 3.0),
            example: (4.0) at 3.0 => (0.75, 0.25),
        }
        /// `c / x` (recorded for `c / x` with a constant `c`); derivative `−c/x²`, computed
        /// as `−out/x`.
        RDivC(c: f64) {
            name: "rdiv_const",
            samples: [2.0, -1.5],
            f: |x| T::cast_from(c) / x,
            df: |x, out| -(out / x),
            domain: Domain::new(-3.0, 3.0).avoiding(&[0.0], 0.2),
            example: (2.0) at 4.0 => (0.5, -0.125),
        }
    }
    binary {
        /// `x + y`.
        Add {
            name: "add", scalar: -, tensor: - / try_add, float: -,
            f: |x, y| x + y,
            df: |x, y, _out| (x.cst(1.0), y.cst(1.0)),
            domain: BinaryDomain::new(Domain::new(-3.0, 3.0), Domain::new(-3.0, 3.0)),
            example: (0.5, 2.0) => (2.5, 1.0, 1.0),
        }
        /// `x − y`.
        Sub {
            name: "sub", scalar: -, tensor: - / try_sub, float: -,
            f: |x, y| x - y,
            df: |x, y, _out| (x.cst(1.0), y.cst(-1.0)),
            domain: BinaryDomain::new(Domain::new(-3.0, 3.0), Domain::new(-3.0, 3.0)),
            example: (0.5, 2.0) => (-1.5, 1.0, -1.0),
        }
        /// `x · y`.
        Mul {
            name: "mul", scalar: -, tensor: - / try_mul, float: -,
            f: |x, y| x * y,
            df: |x, y, _out| (y, x),
            domain: BinaryDomain::new(Domain::new(-3.0, 3.0), Domain::new(-3.0, 3.0)),
            example: (0.5, 2.0) => (1.0, 2.0, 0.5),
        }
        /// `x / y`; partials `1/y` and `−x/y²` (`y = 0` gives ±∞ or NaN, as IEEE does).
        Div {
            name: "div", scalar: -, tensor: - / try_div, float: -,
            f: |x, y| x / y,
            df: |_x, y, out| {
                let r = y.recip();
                (r, -(out * r)) // d(x/y)/dy = −x/y² = −out/y
            },
            domain: BinaryDomain::new(Domain::new(-3.0, 3.0), Domain::new(-3.0, 3.0).avoiding(&[0.0], 0.3)),
            example: (1.0, 4.0) => (0.25, 0.25, -0.0625),
        }
        /// `x % y`, the remainder with the sign of `x` (IEEE `fmod`, as Rust's `%`); partials 1
        /// and `−trunc(x/y)`, computed as `−(x − out)/y` so that it differentiates to 0. Jumps
        /// where `x/y` crosses an integer.
        Rem {
            name: "rem", scalar: -, tensor: - / try_rem, float: -,
            f: |x, y| x % y,
            df: |x, y, out| (x.cst(1.0), -((x - out) / y)),
            // x/y stays in (2.05, 2.4): away from the jumps at the integers.
            domain: BinaryDomain::new(Domain::new(4.2, 4.8), Domain::new(2.0, 2.05)),
            example: (5.5, 2.0) => (1.5, 1.0, -2.0),
        }
        /// `xʸ` with a variable exponent; partials `y xʸ⁻¹` and `xʸ ln x`, the latter **0 at
        /// `x = 0`** (PyTorch) and NaN for `x < 0`.
        Pow {
            name: "pow", scalar: pow, tensor: pow / try_pow, float: powf,
            f: |x, y| Float::powf(x, y),
            df: |x, y, out| {
                // d/dx xʸ = y·xʸ⁻¹ (not y·out/x, which is 0/0 at x = 0).
                let dx = y * x.pow(y - y.cst(1.0));
                // Mask x == 0 to 0 without producing 0·(−∞) = NaN: ln is taken of
                // x + (x == 0), which is ln 1 = 0 there.
                let is_zero = x.ge_mask(x.cst(0.0)) * x.cst(0.0).ge_mask(x);
                (dx, out * (x + is_zero).ln())
            },
            domain: BinaryDomain::new(Domain::new(0.0, 3.0).avoiding(&[0.0], 0.1), Domain::new(-2.0, 2.0)),
            example: (2.0, 3.0) => (8.0, 12.0, 8.0 * std::f64::consts::LN_2),
        }
        /// The larger of `x` and `y`; **a tie sends the whole gradient to `x`**, the first
        /// operand; NaN in `x` propagates. (`Float::max` on a scalar returns the other operand
        /// where one is NaN, as `f64::max` does, and this op otherwise.)
        Max {
            name: "max", scalar: max, tensor: maximum / try_maximum, float: -,
            f: |x, y| if x >= y || x.is_nan() { x } else { y },
            df: |x, y, _out| {
                let m = x.ge_mask(y);
                (m, y.cst(1.0) - m)
            },
            domain: BinaryDomain::new(Domain::new(-3.0, 3.0), Domain::new(-3.0, 3.0)).apart(0.05),
            example: (0.5, 2.0) => (2.0, 0.0, 1.0),
        }
        /// The smaller of `x` and `y`; **a tie sends the whole gradient to `x`**, the first
        /// operand; NaN in `x` propagates. (`Float::min`: as `Float::max`.)
        Min {
            name: "min", scalar: min, tensor: minimum / try_minimum, float: -,
            f: |x, y| if x <= y || x.is_nan() { x } else { y },
            df: |x, y, _out| {
                let m = y.ge_mask(x);
                (m, x.cst(1.0) - m)
            },
            domain: BinaryDomain::new(Domain::new(-3.0, 3.0), Domain::new(-3.0, 3.0)).apart(0.05),
            example: (0.5, 2.0) => (0.5, 1.0, 0.0),
        }
        /// `atan2(x, y)`: the angle of the point `(y, x)` — `x` is the ordinate, as in
        /// `f64::atan2`; partials `y/(x² + y²)` and `−x/(x² + y²)`. Discontinuous across the
        /// negative abscissa (`x = 0`, `y < 0`); NaN partials at the origin.
        Atan2 {
            name: "atan2", scalar: atan2, tensor: atan2 / try_atan2, float: atan2,
            f: |x, y| Float::atan2(x, y),
            df: |x, y, _out| {
                let r = (x * x + y * y).recip();
                (y * r, -(x * r))
            },
            domain: BinaryDomain::new(Domain::new(-3.0, 3.0).avoiding(&[0.0], 0.2), Domain::new(-3.0, 3.0)),
            example: (0.5, -1.0) => (0.5f64.atan2(-1.0), -0.8, -0.4),
        }
        /// `√(x² + y²)` without overflow or underflow in the squares; partials `x/out` and
        /// `y/out`, **0 at the origin** (as `abs` at 0).
        Hypot {
            name: "hypot", scalar: hypot, tensor: hypot / try_hypot, float: hypot,
            f: |x, y| Float::hypot(x, y),
            df: |x, y, out| {
                // out + (out == 0) is 1 at the origin, where both numerators are 0.
                let is_zero = out.ge_mask(out.cst(0.0)) * out.cst(0.0).ge_mask(out);
                let r = (out + is_zero).recip();
                (x * r, y * r)
            },
            domain: BinaryDomain::new(Domain::new(-3.0, 3.0).avoiding(&[0.0], 0.2), Domain::new(-3.0, 3.0)),
            example: (3.0, 4.0) => (5.0, 0.6, 0.8),
        }
    }
}

impl BinaryOp {
    /// The unary op of the table that computes this op with one operand a constant `c` — `x +
    /// c`, `c − x`, `c · x`, `x / c`, `xᶜ`, ... (`constant_first`: `c` is the first operand) —
    /// if there is one: a scalar op with a constant then records one node, with `c` as its
    /// parameter. The value is the same to the bit (`x − c` is `x + (−c)` in IEEE arithmetic).
    ///
    /// ```
    /// use tape::rules::{BinaryOp, UnaryOp};
    /// assert_eq!(BinaryOp::Sub.with_constant(2.0, true), Some(UnaryOp::RSubC(2.0)));
    /// assert_eq!(BinaryOp::Sub.with_constant(2.0, false), Some(UnaryOp::AddC(-2.0)));
    /// assert_eq!(BinaryOp::Max.with_constant(2.0, false), None);
    /// ```
    #[inline(always)]
    pub fn with_constant(self, c: f64, constant_first: bool) -> Option<UnaryOp> {
        Some(match (self, constant_first) {
            (BinaryOp::Add, _) => UnaryOp::AddC(c),
            (BinaryOp::Mul, _) => UnaryOp::MulC(c),
            (BinaryOp::Sub, false) => UnaryOp::AddC(-c),
            (BinaryOp::Sub, true) => UnaryOp::RSubC(c),
            (BinaryOp::Div, false) => UnaryOp::DivC(c),
            (BinaryOp::Div, true) => UnaryOp::RDivC(c),
            (BinaryOp::Pow, false) => UnaryOp::PowF(c),
            _ => return None,
        })
    }
}

/// An interval with points to keep away from (kinks, poles, branch cuts): where an op is
/// smooth enough for central differences to approximate its derivative. Property tests draw
/// inputs uniformly from `[lo, hi]` and push any within `margin` of a point of `avoid` out to
/// that distance.
///
/// ```
/// use tape::rules::Domain;
/// let d = Domain::new(-3.0, 3.0).avoiding(&[0.0], 0.1);
/// assert!(d.admits(0.5) && !d.admits(0.05) && !d.admits(4.0));
/// assert_eq!(d.for_f32().margin, 0.5); // wider for f32's coarser differences
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Domain {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Points the op is not smooth at.
    pub avoid: &'static [f64],
    /// How far inputs stay from each point of `avoid`.
    pub margin: f64,
}

impl Domain {
    /// The interval `[lo, hi]`, with nothing to avoid.
    pub const fn new(lo: f64, hi: f64) -> Self {
        Domain {
            lo,
            hi,
            avoid: &[],
            margin: 0.0,
        }
    }

    /// The same interval, keeping `margin` away from each point of `avoid`.
    pub const fn avoiding(self, avoid: &'static [f64], margin: f64) -> Self {
        Domain {
            avoid,
            margin,
            ..self
        }
    }

    /// Whether `x` lies in the interval and far enough from every point to avoid.
    pub fn admits(&self, x: f64) -> bool {
        (self.lo..=self.hi).contains(&x) && self.avoid.iter().all(|&k| (x - k).abs() >= self.margin)
    }

    /// The domain for `f32` checks, whose step (`1e-2`) is coarser: points to avoid are kept
    /// at least 0.5 away.
    pub fn for_f32(self) -> Self {
        if self.avoid.is_empty() {
            self
        } else {
            Domain {
                margin: self.margin.max(0.5),
                ..self
            }
        }
    }

    /// `v`, moved out of the margin around each point to avoid (to the side it is on).
    ///
    /// ```
    /// use tape::rules::Domain;
    /// let d = Domain::new(-3.0, 3.0).avoiding(&[0.0], 0.1);
    /// assert_eq!((d.push_out(0.05), d.push_out(-0.01), d.push_out(2.0)), (0.1, -0.1, 2.0));
    /// ```
    pub fn push_out(&self, v: f64) -> f64 {
        let mut v = v;
        for &k in self.avoid {
            if (v - k).abs() < self.margin {
                v = if v >= k {
                    k + self.margin
                } else {
                    k - self.margin
                };
            }
        }
        v
    }
}

/// The [`Domain`]s of a binary op's two operands, and how far apart they must stay (`max` and
/// `min` are not smooth where the operands tie).
///
/// ```
/// use tape::rules::{BinaryDomain, Domain};
/// let d = BinaryDomain::new(Domain::new(-1.0, 1.0), Domain::new(0.0, 2.0)).apart(0.1);
/// assert_eq!((d.x.lo, d.y.hi, d.apart), (-1.0, 2.0, 0.1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinaryDomain {
    /// The first operand's domain.
    pub x: Domain,
    /// The second operand's domain.
    pub y: Domain,
    /// The least distance between the operands (0: any).
    pub apart: f64,
}

impl BinaryDomain {
    /// Independent domains for the two operands.
    pub const fn new(x: Domain, y: Domain) -> Self {
        BinaryDomain { x, y, apart: 0.0 }
    }

    /// The same domains, with the operands kept at least `gap` apart.
    pub const fn apart(self, gap: f64) -> Self {
        BinaryDomain { apart: gap, ..self }
    }

    /// The domains for `f32` checks (see [`Domain::for_f32`]); ties kept at least 0.2 apart.
    pub fn for_f32(self) -> Self {
        BinaryDomain {
            x: self.x.for_f32(),
            y: self.y.for_f32(),
            apart: if self.apart > 0.0 {
                self.apart.max(0.2)
            } else {
                0.0
            },
        }
    }
}

/// A unary op's worked example (see [`UnaryOp::examples`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct UnaryExample {
    /// The op.
    pub op: UnaryOp,
    /// The point.
    pub x: f64,
    /// `f(x)`.
    pub value: f64,
    /// `f'(x)`.
    pub derivative: f64,
}

/// A binary op's worked example (see [`BinaryOp::examples`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BinaryExample {
    /// The op.
    pub op: BinaryOp,
    /// The first operand.
    pub x: f64,
    /// The second operand.
    pub y: f64,
    /// `f(x, y)`.
    pub value: f64,
    /// `(∂f/∂x, ∂f/∂y)`.
    pub partials: (f64, f64),
}

/// The types of op parameters, stored as `f64` beside a scalar node.
trait Param: Copy {
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
}

impl Param for i32 {
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as i32
    }
}

impl Param for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}
