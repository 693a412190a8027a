//! The elementwise op table: each op's forward and derivative on one line, shared by scalars
//! and tensors, by first-order and higher-order backward.
//!
//! `df` is generic over [`Real`], so one rule serves every use: evaluated on `f32`/`f64` at record
//! time it gives the partials a scalar node stores; evaluated per element it gives a tensor op's
//! vector-Jacobian product; evaluated on tape handles it records the derivative so it can be
//! differentiated again.

use crate::real::sigmoid_value;
use num_traits::Float;

use crate::{Element, Real};

/// An elementwise op of one input (plus, for some, a constant parameter).
///
/// ```
/// use tape::rules::UnaryOp;
/// let op = UnaryOp::Sin;
/// assert_eq!(op.f(0.0f64), 0.0);
/// assert_eq!(op.df(0.0f64, 0.0), 1.0); // cos 0
/// assert_eq!(UnaryOp::PowI(3).f(2.0f64), 8.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `eˣ`
    Exp,
    /// `ln x`
    Ln,
    /// `√x`
    Sqrt,
    /// `sin x`
    Sin,
    /// `cos x`
    Cos,
    /// `tan x`
    Tan,
    /// `tanh x`
    Tanh,
    /// `1 / (1 + e⁻ˣ)`
    Sigmoid,
    /// `max(x, 0)`
    Relu,
    /// `|x|`
    Abs,
    /// `1 / x`
    Recip,
    /// `ln(1 + x)`, accurate where `x` is small
    Ln1p,
    /// `eˣ − 1`, accurate where `x` is small
    ExpM1,
    /// `xⁿ`, integer `n`
    PowI(i32),
    /// `xᶜ`, constant `c`
    PowF(f64),
    /// `x + c`
    AddC(f64),
    /// `c · x`
    MulC(f64),
}

impl UnaryOp {
    /// The op's name as shown in tape listings.
    ///
    /// ```
    /// use tape::rules::UnaryOp;
    /// assert_eq!(UnaryOp::Tanh.name(), "tanh");
    /// assert_eq!(UnaryOp::PowI(2).name(), "powi"); // the parameter is not part of the name
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Ln => "ln",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Sin => "sin",
            UnaryOp::Cos => "cos",
            UnaryOp::Tan => "tan",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Relu => "relu",
            UnaryOp::Abs => "abs",
            UnaryOp::Recip => "recip",
            UnaryOp::Ln1p => "ln_1p",
            UnaryOp::ExpM1 => "exp_m1",
            UnaryOp::PowI(_) => "powi",
            UnaryOp::PowF(_) => "powf",
            UnaryOp::AddC(_) => "add_const",
            UnaryOp::MulC(_) => "mul_const",
        }
    }

    /// The constant parameter, if the op has one.
    ///
    /// ```
    /// use tape::rules::UnaryOp;
    /// assert_eq!(UnaryOp::PowI(3).param(), Some(3.0));
    /// assert_eq!(UnaryOp::MulC(0.5).param(), Some(0.5));
    /// assert_eq!(UnaryOp::Exp.param(), None);
    /// ```
    pub fn param(self) -> Option<f64> {
        match self {
            UnaryOp::PowI(n) => Some(n as f64),
            UnaryOp::PowF(c) | UnaryOp::AddC(c) | UnaryOp::MulC(c) => Some(c),
            _ => None,
        }
    }

    /// Forward: `f(x)` on a plain number.
    ///
    /// ```
    /// use tape::rules::UnaryOp;
    /// assert_eq!(UnaryOp::Sqrt.f(9.0f64), 3.0);
    /// assert_eq!(UnaryOp::AddC(1.5).f(2.0f32), 3.5);
    /// assert_eq!(UnaryOp::Relu.f(-2.0f64), 0.0);
    /// ```
    #[inline]
    pub fn f<T: Element>(self, x: T) -> T {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => Float::exp(x),
            UnaryOp::Ln => Float::ln(x),
            UnaryOp::Sqrt => Float::sqrt(x),
            UnaryOp::Sin => Float::sin(x),
            UnaryOp::Cos => Float::cos(x),
            UnaryOp::Tan => Float::tan(x),
            UnaryOp::Tanh => Float::tanh(x),
            UnaryOp::Sigmoid => sigmoid_value(x),
            UnaryOp::Relu => {
                if x > T::zero() {
                    x
                } else {
                    T::zero()
                }
            }
            UnaryOp::Abs => x.abs(),
            UnaryOp::Recip => x.recip(),
            UnaryOp::Ln1p => Float::ln_1p(x),
            UnaryOp::ExpM1 => Float::exp_m1(x),
            UnaryOp::PowI(n) => Float::powi(x, n),
            UnaryOp::PowF(c) => Float::powf(x, T::cast_from(c)),
            UnaryOp::AddC(c) => x + T::cast_from(c),
            UnaryOp::MulC(c) => x * T::cast_from(c),
        }
    }

    /// Derivative `f'(x)`, given `x` and the forward result `out = f(x)` (reused where it is
    /// cheaper, as PyTorch's `derivatives.yaml` does).
    ///
    /// Conventions at kinks, chosen as PyTorch and JAX do: `relu'(0) = 0`, `abs'(0) = 0`.
    ///
    /// ```
    /// use tape::rules::UnaryOp;
    /// let x = 4.0f64;
    /// assert_eq!(UnaryOp::Sqrt.df(x, UnaryOp::Sqrt.f(x)), 0.25); // 1/(2√4)
    /// assert_eq!(UnaryOp::PowI(3).df(2.0f64, 8.0), 12.0); // 3x²
    /// assert_eq!(UnaryOp::Relu.df(0.0f64, 0.0), 0.0); // the convention at the kink
    /// ```
    #[inline]
    pub fn df<N: Real>(self, x: N, out: N) -> N {
        match self {
            UnaryOp::Neg => x.cst(-1.0),
            UnaryOp::Exp => out,                                 // d eˣ = eˣ
            UnaryOp::Ln => x.cst(1.0) / x,                       // d ln x = 1/x
            UnaryOp::Sqrt => x.cst(0.5) / out,                   // d √x = 1/(2√x)
            UnaryOp::Sin => x.cos(),                             // d sin = cos
            UnaryOp::Cos => -x.sin(),                            // d cos = -sin
            UnaryOp::Tan => x.cst(1.0) + out * out,              // d tan = 1 + tan²
            UnaryOp::Tanh => x.cst(1.0) - out * out,             // d tanh = 1 - tanh²
            UnaryOp::Sigmoid => out * (x.cst(1.0) - out),        // d σ = σ(1-σ)
            UnaryOp::Relu => x.step(),                           // 1 for x > 0; 0 at and below 0
            UnaryOp::Abs => x.sign(),                            // sign(x); 0 at 0
            UnaryOp::Recip => -(out * out),                      // d 1/x = -1/x²
            UnaryOp::Ln1p => x.cst(1.0) / (x + x.cst(1.0)),      // d ln(1+x) = 1/(1+x)
            UnaryOp::ExpM1 => out + x.cst(1.0),                  // d (eˣ−1) = eˣ
            UnaryOp::PowI(0) => x.cst(0.0),                      // x⁰ is constant
            UnaryOp::PowI(n) => x.powi(n - 1) * x.cst(n as f64), // n xⁿ⁻¹
            UnaryOp::PowF(c) => x.powf(c - 1.0) * x.cst(c),      // c xᶜ⁻¹
            UnaryOp::AddC(_) => x.cst(1.0),
            UnaryOp::MulC(c) => x.cst(c),
        }
    }
}

/// An elementwise op of two inputs (broadcasting, for tensors).
///
/// ```
/// use tape::rules::BinaryOp;
/// assert_eq!(BinaryOp::Sub.f(5.0f64, 3.0), 2.0);
/// assert_eq!(BinaryOp::Mul.df(2.0f64, 3.0, 6.0), (3.0, 2.0)); // (y, x)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BinaryOp {
    /// `x + y`
    Add,
    /// `x - y`
    Sub,
    /// `x · y`
    Mul,
    /// `x / y`
    Div,
    /// `xʸ`
    Pow,
    /// `max(x, y)`
    Max,
    /// `min(x, y)`
    Min,
}

#[cfg(test)]
impl BinaryOp {
    /// Every op, for tests that run over all of them.
    pub(crate) const ALL: [BinaryOp; 7] = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Pow,
        BinaryOp::Max,
        BinaryOp::Min,
    ];
}

impl BinaryOp {
    /// The op's name as shown in tape listings and error messages.
    ///
    /// ```
    /// use tape::rules::BinaryOp;
    /// let tape = tape::Tape::<f64>::new();
    /// let err = tape.ones(&[2]).try_mul(tape.ones(&[3])).unwrap_err();
    /// assert_eq!(BinaryOp::Mul.name(), "mul");
    /// assert!(err.to_string().starts_with("mul: "));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Pow => "pow",
            BinaryOp::Max => "max",
            BinaryOp::Min => "min",
        }
    }

    /// Forward on plain numbers.
    ///
    /// ```
    /// use tape::rules::BinaryOp;
    /// assert_eq!(BinaryOp::Pow.f(2.0f64, 10.0), 1024.0);
    /// assert_eq!(BinaryOp::Div.f(1.0f64, 4.0), 0.25);
    /// assert_eq!(BinaryOp::Max.f(-1.0f32, 2.0), 2.0);
    /// ```
    #[inline]
    pub fn f<T: Element>(self, x: T, y: T) -> T {
        match self {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Div => x / y,
            BinaryOp::Pow => Float::powf(x, y),
            // Ties go to the first operand (see `df`); NaN propagates as in IEEE max/min.
            BinaryOp::Max => {
                if x >= y || x.is_nan() {
                    x
                } else {
                    y
                }
            }
            BinaryOp::Min => {
                if x <= y || x.is_nan() {
                    x
                } else {
                    y
                }
            }
        }
    }

    /// Partial derivatives `(∂out/∂x, ∂out/∂y)`, given the inputs and `out`.
    ///
    /// Conventions: at a tie `max`/`min` send the whole gradient to `x` (the first operand);
    /// `∂(xʸ)/∂y = xʸ ln x` is taken as 0 where `x = 0`, matching PyTorch (the limit from the
    /// right when `y > 0`), and is NaN for `x < 0` as the real power is.
    ///
    /// ```
    /// use tape::rules::BinaryOp;
    /// // x / y at (1, 4): (1/y, −x/y²)
    /// assert_eq!(BinaryOp::Div.df(1.0f64, 4.0, 0.25), (0.25, -0.0625));
    /// assert_eq!(BinaryOp::Max.df(3.0f64, 3.0, 3.0), (1.0, 0.0)); // a tie: all to x
    /// assert_eq!(BinaryOp::Pow.df(0.0f64, 2.0, 0.0), (0.0, 0.0)); // 2·0¹, and 0 by convention
    /// ```
    #[inline]
    pub fn df<N: Real>(self, x: N, y: N, out: N) -> (N, N) {
        match self {
            BinaryOp::Add => (x.cst(1.0), y.cst(1.0)),
            BinaryOp::Sub => (x.cst(1.0), y.cst(-1.0)),
            BinaryOp::Mul => (y, x),
            BinaryOp::Div => {
                let r = y.cst(1.0) / y;
                (r, -(out * r)) // d(x/y)/dy = -x/y² = -out/y
            }
            BinaryOp::Pow => {
                // d/dx xʸ = y·xʸ⁻¹ (not y·out/x, which is 0/0 at x = 0).
                let dx = y * x.pow(y - y.cst(1.0));
                // Mask x == 0 to 0 without producing 0·(-inf) = NaN: ln is taken of
                // x + (x == 0), which is ln 1 = 0 there.
                let is_zero = x.ge_mask(x.cst(0.0)) * x.cst(0.0).ge_mask(x);
                let dy = out * (x + is_zero).ln();
                (dx, dy)
            }
            BinaryOp::Max => {
                let m = x.ge_mask(y);
                (m, y.cst(1.0) - m)
            }
            BinaryOp::Min => {
                let m = y.ge_mask(x);
                (m, x.cst(1.0) - m)
            }
        }
    }
}
