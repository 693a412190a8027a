//! Forward-mode dual numbers: a value and `K` tangent components, carried through a formula so
//! that one evaluation gives the value and its `K` partial derivatives.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use num_traits::Float;

use crate::Element;

/// A dual number: a value and the partial derivatives of that value with respect to `K`
/// inputs, `value + Σₖ tangent[k]·εₖ` with `εₖ² = εⱼεₖ = 0`.
///
/// Arithmetic and the methods below apply the chain rule to the tangent as they compute the
/// value, so a formula written once over `Dual` gives its value and all `K` partials in one
/// evaluation (forward mode). [`fused`](crate::fused) uses it to make a whole per-element
/// formula one tape node. Plain numbers mix in on either side (`1.0 - x`, `x * 100.0`).
///
/// Methods present: `powi`, `powf`, `pow`, `sqrt`, `cbrt`, `exp`, `exp2`, `exp_m1`, `ln`,
/// `ln_1p`, `log2`, `log10`, `sin`, `cos`, `tan`, `asin`, `acos`, `atan`, `atan2`, `sinh`,
/// `cosh`, `tanh`, `asinh`, `acosh`, `atanh`, `recip`, `abs`, `signum`, `max`, `min`,
/// `hypot`, `mul_add`, `sigmoid`. `Dual` is not a `num_traits::Float`. At kinks the
/// conventions are those of the tape's own ops: `abs` has derivative 0 at 0, and a tie of
/// `max` or `min` takes the derivative of `self`.
///
/// ```
/// use tape::fused::Dual;
///
/// // f(a, b) = a·b + sin a at (2, 3): ∂f/∂a = b + cos a, ∂f/∂b = a.
/// let (a, b) = (Dual::<f64, 2>::variable(2.0, 0), Dual::variable(3.0, 1));
/// let f = a * b + a.sin();
/// assert_eq!(f.value, 6.0 + 2f64.sin());
/// assert_eq!(f.tangent, [3.0 + 2f64.cos(), 2.0]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dual<T, const K: usize> {
    /// The value.
    pub value: T,
    /// The partial derivatives of the value with respect to the `K` inputs.
    pub tangent: [T; K],
}

impl<T: Element, const K: usize> Dual<T, K> {
    /// A constant: its tangent is zero.
    ///
    /// ```
    /// let c = tape::fused::Dual::<f64, 2>::constant(4.0);
    /// assert_eq!((c.value, c.tangent), (4.0, [0.0, 0.0]));
    /// ```
    #[inline(always)]
    pub fn constant(value: T) -> Self {
        Dual {
            value,
            tangent: [T::zero(); K],
        }
    }

    /// Input number `k` (of `K`): its tangent is the `k`-th unit vector.
    ///
    /// # Panics
    /// If `k ≥ K`.
    ///
    /// ```
    /// let x = tape::fused::Dual::<f64, 3>::variable(4.0, 1);
    /// assert_eq!(x.tangent, [0.0, 1.0, 0.0]);
    /// ```
    #[inline(always)]
    pub fn variable(value: T, k: usize) -> Self {
        let mut tangent = [T::zero(); K];
        tangent[k] = T::one();
        Dual { value, tangent }
    }

    /// The chain rule for a function of `self` alone: the result `value`, whose derivative
    /// with respect to `self` is `d`.
    #[inline(always)]
    fn chain(self, value: T, d: T) -> Self {
        Dual {
            value,
            tangent: self.tangent.map(|t| t * d),
        }
    }

    /// The chain rule for a function of `self` and `other`: the result `value`, whose
    /// derivatives with respect to them are `da` and `db`.
    #[inline(always)]
    fn chain2(self, other: Self, value: T, da: T, db: T) -> Self {
        Dual {
            value,
            tangent: std::array::from_fn(|k| self.tangent[k] * da + other.tangent[k] * db),
        }
    }

    /// `xⁿ`; derivative `n xⁿ⁻¹` (0 for `n = 0`, also at 0).
    ///
    /// ```
    /// let x = tape::fused::Dual::<f64, 1>::variable(3.0, 0);
    /// assert_eq!(x.powi(2).tangent, [6.0]);
    /// ```
    #[inline(always)]
    pub fn powi(self, n: i32) -> Self {
        let d = if n == 0 {
            T::zero()
        } else {
            T::cast_from(f64::from(n)) * Float::powi(self.value, n - 1)
        };
        self.chain(Float::powi(self.value, n), d)
    }

    /// `xᵖ`, real `p`; derivative `p xᵖ⁻¹`.
    ///
    /// ```
    /// let x = tape::fused::Dual::<f64, 1>::variable(4.0, 0);
    /// assert_eq!((x.powf(0.5).value, x.powf(0.5).tangent), (2.0, [0.25]));
    /// ```
    #[inline(always)]
    pub fn powf(self, p: T) -> Self {
        self.chain(
            Float::powf(self.value, p),
            p * Float::powf(self.value, p - T::one()),
        )
    }

    /// `xʸ` with both sides dual; derivatives `y xʸ⁻¹` and `xʸ ln x`.
    ///
    /// ```
    /// use tape::fused::Dual;
    /// let (x, y) = (Dual::<f64, 2>::variable(2.0, 0), Dual::variable(3.0, 1));
    /// assert_eq!(x.pow(y).tangent, [12.0, 8.0 * 2f64.ln()]);
    /// ```
    #[inline(always)]
    pub fn pow(self, y: Self) -> Self {
        let out = Float::powf(self.value, y.value);
        let da = y.value * Float::powf(self.value, y.value - T::one());
        self.chain2(y, out, da, out * Float::ln(self.value))
    }

    /// `max(x, y)`; a tie takes the derivative of `self` (as the tape's `max`).
    ///
    /// ```
    /// use tape::fused::Dual;
    /// let (x, y) = (Dual::<f64, 2>::variable(1.0, 0), Dual::variable(1.0, 1));
    /// assert_eq!(x.max(y).tangent, [1.0, 0.0]); // a tie: self's
    /// ```
    #[inline(always)]
    pub fn max(self, y: Self) -> Self {
        if y.value > self.value { y } else { self }
    }

    /// `min(x, y)`; a tie takes the derivative of `self` (as the tape's `min`).
    ///
    /// ```
    /// use tape::fused::Dual;
    /// let (x, y) = (Dual::<f64, 2>::variable(1.0, 0), Dual::variable(2.0, 1));
    /// assert_eq!(x.min(y).tangent, [1.0, 0.0]);
    /// ```
    #[inline(always)]
    pub fn min(self, y: Self) -> Self {
        if y.value < self.value { y } else { self }
    }

    /// `atan2(self, x)`, the angle of `(x, self)`; derivatives `x / r²` and `−self / r²`.
    ///
    /// ```
    /// use tape::fused::Dual;
    /// let (y, x) = (Dual::<f64, 2>::variable(1.0, 0), Dual::variable(1.0, 1));
    /// assert_eq!(y.atan2(x).tangent, [0.5, -0.5]);
    /// ```
    #[inline(always)]
    pub fn atan2(self, x: Self) -> Self {
        let r2 = self.value * self.value + x.value * x.value;
        let out = Float::atan2(self.value, x.value);
        self.chain2(x, out, x.value / r2, -self.value / r2)
    }

    /// `√(x² + y²)`; derivatives `x / out` and `y / out`.
    ///
    /// ```
    /// use tape::fused::Dual;
    /// let (x, y) = (Dual::<f64, 2>::variable(3.0, 0), Dual::variable(4.0, 1));
    /// assert_eq!((x.hypot(y).value, x.hypot(y).tangent), (5.0, [0.6, 0.8]));
    /// ```
    #[inline(always)]
    pub fn hypot(self, y: Self) -> Self {
        let out = Float::hypot(self.value, y.value);
        self.chain2(y, out, self.value / out, y.value / out)
    }

    /// `self·a + b`; derivatives `a`, `self` and 1.
    ///
    /// ```
    /// use tape::fused::Dual;
    /// let (x, a) = (Dual::<f64, 2>::variable(3.0, 0), Dual::variable(4.0, 1));
    /// assert_eq!(x.mul_add(a, Dual::constant(1.0)).tangent, [4.0, 3.0]);
    /// ```
    #[inline(always)]
    pub fn mul_add(self, a: Self, b: Self) -> Self {
        self * a + b
    }

    /// The logistic function `1 / (1 + e⁻ˣ)`; derivative `out (1 − out)`.
    ///
    /// ```
    /// let x = tape::fused::Dual::<f64, 1>::variable(0.0, 0);
    /// assert_eq!((x.sigmoid().value, x.sigmoid().tangent), (0.5, [0.25]));
    /// ```
    #[inline(always)]
    pub fn sigmoid(self) -> Self {
        let out = T::one() / (T::one() + Float::exp(-self.value));
        self.chain(out, out * (T::one() - out))
    }
}

/// The one-argument methods: `name: |x, out| derivative`, where `out = x.name()` (the rules of
/// `rules.rs`, on one line each).
macro_rules! unary_methods {
    ($($(#[$doc:meta])* $name:ident($at:literal): |$x:ident, $out:ident| $d:expr;)*) => {
        impl<T: Element, const K: usize> Dual<T, K> {
            $(
                $(#[$doc])*
                ///
                /// ```
                #[doc = concat!("let x = tape::fused::Dual::<f64, 1>::variable(", stringify!($at), ", 0);")]
                #[doc = concat!("assert_eq!(x.", stringify!($name), "().value, ", stringify!($at), "f64.", stringify!($name), "());")]
                /// ```
                #[inline(always)]
                pub fn $name(self) -> Self {
                    let $x = self.value;
                    let $out = Float::$name($x);
                    let d = $d;
                    self.chain($out, d)
                }
            )*
        }
    };
}

unary_methods! {
    /// `√x`; derivative `1 / (2 out)` (infinite at 0).
    sqrt(0.5): |_x, out| T::one() / (out + out);
    /// `∛x`; derivative `1 / (3 out²)`.
    cbrt(0.5): |_x, out| T::one() / (T::cast_from(3.0) * out * out);
    /// `eˣ`; derivative `out`.
    exp(0.5): |_x, out| out;
    /// `2ˣ`; derivative `out ln 2`.
    exp2(0.5): |_x, out| out * T::cast_from(std::f64::consts::LN_2);
    /// `eˣ − 1`; derivative `out + 1`.
    exp_m1(0.5): |_x, out| out + T::one();
    /// `ln x`; derivative `1 / x`.
    ln(0.5): |x, _out| Float::recip(x);
    /// `ln(1 + x)`; derivative `1 / (1 + x)`.
    ln_1p(0.5): |x, _out| Float::recip(T::one() + x);
    /// `log₂ x`; derivative `1 / (x ln 2)`.
    log2(0.5): |x, _out| Float::recip(x * T::cast_from(std::f64::consts::LN_2));
    /// `log₁₀ x`; derivative `1 / (x ln 10)`.
    log10(0.5): |x, _out| Float::recip(x * T::cast_from(std::f64::consts::LN_10));
    /// `sin x`; derivative `cos x`.
    sin(0.5): |x, _out| Float::cos(x);
    /// `cos x`; derivative `−sin x`.
    cos(0.5): |x, _out| -Float::sin(x);
    /// `tan x`; derivative `1 + out²`.
    tan(0.5): |_x, out| T::one() + out * out;
    /// `asin x`; derivative `1 / √(1 − x²)`.
    asin(0.5): |x, _out| Float::recip(Float::sqrt(T::one() - x * x));
    /// `acos x`; derivative `−1 / √(1 − x²)`.
    acos(0.5): |x, _out| -Float::recip(Float::sqrt(T::one() - x * x));
    /// `atan x`; derivative `1 / (1 + x²)`.
    atan(0.5): |x, _out| Float::recip(T::one() + x * x);
    /// `sinh x`; derivative `cosh x`.
    sinh(0.5): |x, _out| Float::cosh(x);
    /// `cosh x`; derivative `sinh x`.
    cosh(0.5): |x, _out| Float::sinh(x);
    /// `tanh x`; derivative `1 − out²`.
    tanh(0.5): |_x, out| T::one() - out * out;
    /// `asinh x`; derivative `1 / √(x² + 1)`.
    asinh(0.5): |x, _out| Float::recip(Float::sqrt(x * x + T::one()));
    /// `acosh x`; derivative `1 / √(x² − 1)`.
    acosh(1.5): |x, _out| Float::recip(Float::sqrt(x * x - T::one()));
    /// `atanh x`; derivative `1 / (1 − x²)`.
    atanh(0.5): |x, _out| Float::recip(T::one() - x * x);
    /// `1 / x`; derivative `−out²`.
    recip(0.5): |_x, out| -(out * out);
    /// `|x|`; derivative `sign x`, **0 at 0** (as the tape's `abs`).
    abs(0.5): |x, _out| if x > T::zero() { T::one() } else if x < T::zero() { -T::one() } else { T::zero() };
    /// The sign of `x` (±1); derivative 0.
    signum(0.5): |_x, _out| T::zero();
}

impl<T: Element, const K: usize> Neg for Dual<T, K> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        Dual {
            value: -self.value,
            tangent: self.tangent.map(|t| -t),
        }
    }
}

impl<T: Element, const K: usize> Add for Dual<T, K> {
    type Output = Self;
    #[inline(always)]
    fn add(self, y: Self) -> Self {
        Dual {
            value: self.value + y.value,
            tangent: std::array::from_fn(|k| self.tangent[k] + y.tangent[k]),
        }
    }
}

impl<T: Element, const K: usize> Sub for Dual<T, K> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, y: Self) -> Self {
        Dual {
            value: self.value - y.value,
            tangent: std::array::from_fn(|k| self.tangent[k] - y.tangent[k]),
        }
    }
}

impl<T: Element, const K: usize> Mul for Dual<T, K> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, y: Self) -> Self {
        self.chain2(y, self.value * y.value, y.value, self.value)
    }
}

impl<T: Element, const K: usize> Div for Dual<T, K> {
    type Output = Self;
    /// `x / y`; derivatives `1 / y` and `−out / y`.
    #[inline(always)]
    fn div(self, y: Self) -> Self {
        let inv = Float::recip(y.value);
        let out = self.value / y.value;
        self.chain2(y, out, inv, -out * inv)
    }
}

impl<T: Element, const K: usize> Add<T> for Dual<T, K> {
    type Output = Self;
    #[inline(always)]
    fn add(self, c: T) -> Self {
        Dual {
            value: self.value + c,
            tangent: self.tangent,
        }
    }
}

impl<T: Element, const K: usize> Sub<T> for Dual<T, K> {
    type Output = Self;
    #[inline(always)]
    fn sub(self, c: T) -> Self {
        Dual {
            value: self.value - c,
            tangent: self.tangent,
        }
    }
}

impl<T: Element, const K: usize> Mul<T> for Dual<T, K> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, c: T) -> Self {
        self.chain(self.value * c, c)
    }
}

impl<T: Element, const K: usize> Div<T> for Dual<T, K> {
    type Output = Self;
    #[inline(always)]
    fn div(self, c: T) -> Self {
        self.chain(self.value / c, Float::recip(c))
    }
}

/// The compound assignments, each through its binary op, with a dual or a plain right side.
macro_rules! assign_ops {
    ($($trait:ident $method:ident $op:tt;)*) => {$(
        impl<T: Element, const K: usize> $trait for Dual<T, K> {
            #[inline(always)]
            fn $method(&mut self, y: Self) {
                *self = *self $op y;
            }
        }
        impl<T: Element, const K: usize> $trait<T> for Dual<T, K> {
            #[inline(always)]
            fn $method(&mut self, y: T) {
                *self = *self $op y;
            }
        }
    )*};
}

assign_ops! {
    AddAssign add_assign +;
    SubAssign sub_assign -;
    MulAssign mul_assign *;
    DivAssign div_assign /;
}

/// A plain number on the left: `c + x`, `c − x`, `c·x`, `c / x` (for `f32` and `f64`, as a
/// blanket impl over the left operand is not allowed).
macro_rules! scalar_lhs {
    ($($t:ty),*) => {$(
        impl<const K: usize> Add<Dual<$t, K>> for $t {
            type Output = Dual<$t, K>;
            #[inline(always)]
            fn add(self, x: Dual<$t, K>) -> Dual<$t, K> {
                x + self
            }
        }
        impl<const K: usize> Sub<Dual<$t, K>> for $t {
            type Output = Dual<$t, K>;
            #[inline(always)]
            fn sub(self, x: Dual<$t, K>) -> Dual<$t, K> {
                -x + self
            }
        }
        impl<const K: usize> Mul<Dual<$t, K>> for $t {
            type Output = Dual<$t, K>;
            #[inline(always)]
            fn mul(self, x: Dual<$t, K>) -> Dual<$t, K> {
                x * self
            }
        }
        impl<const K: usize> Div<Dual<$t, K>> for $t {
            type Output = Dual<$t, K>;
            /// `c / x`; derivative `−out / x`.
            #[inline(always)]
            fn div(self, x: Dual<$t, K>) -> Dual<$t, K> {
                let inv = x.value.recip();
                let out = self / x.value;
                x.chain(out, -out * inv)
            }
        }
    )*};
}

scalar_lhs!(f32, f64);
