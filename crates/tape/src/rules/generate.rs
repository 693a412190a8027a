//! The macro that turns the op table of [`crate::rules`] into code.
//!
//! `elementwise_ops!` takes the table (three sections: unary ops, unary ops with a constant
//! parameter, binary ops) and writes, from each entry:
//! - the [`UnaryOp`](crate::rules::UnaryOp) / [`BinaryOp`](crate::rules::BinaryOp) variant with
//!   its doc, and the `name`, `f`, `df`, `domain` and `ALL` that read the table;
//! - the op's code in the compact scalar node (`code` / `from_code`: the position in the
//!   table, so there is no list to keep in step by hand);
//! - the method of [`Real`](crate::Real) that derivative rules call it by;
//! - the methods on [`Scalar`](crate::Scalar) and on [`Tensor`](crate::Tensor), each with a
//!   doc example that checks the value and the derivative at the entry's example point.
//!
//! Ops with a parameter (`powi`, `powf`, and the affine maps behind `x + c`, `c · x`) take it
//! through hand-written methods and operators, so the table gives them no methods.

/// See the module docs. Internal rules (`@…`) come first; the table rule is the last.
macro_rules! elementwise_ops {
    // ---- per-entry pieces: an entry whose method is `-` has none -------------------------
    (@scalar_unary - $($rest:tt)*) => {};
    (@scalar_unary $m:ident $V:ident [$($doc:literal)*] ($x0:expr) ($val:expr) ($grad:expr)) => {
        $(#[doc = $doc])*
        ///
        /// ```
        /// # let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs().max(1.0);
        /// let tape = tape::Tape::<f64>::new();
        #[doc = concat!("let x = tape.var(", stringify!($x0), ");")]
        #[doc = concat!("let y = x.", stringify!($m), "();")]
        #[doc = concat!("assert!(close(y.value(), ", stringify!($val), "));")]
        #[doc = concat!("assert!(close(y.backward().wrt(x), ", stringify!($grad), ")); // the derivative")]
        /// ```
        #[inline]
        #[track_caller]
        pub fn $m(self) -> Self {
            self.unary(UnaryOp::$V)
        }
    };
    (@tensor_unary - $($rest:tt)*) => {};
    (@tensor_unary $m:ident $V:ident [$($doc:literal)*] ($x0:expr) ($val:expr) ($grad:expr)) => {
        $(#[doc = $doc])*
        /// Elementwise.
        ///
        /// ```
        /// # let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs().max(1.0);
        /// let tape = tape::Tape::<f64>::new();
        #[doc = concat!("let x = tape.full(&[2], ", stringify!($x0), ");")]
        #[doc = concat!("let y = x.", stringify!($m), "();")]
        #[doc = concat!("assert!(y.to_vec().iter().all(|&v| close(v, ", stringify!($val), ")));")]
        /// let g = y.sum().backward();
        #[doc = concat!("assert!(g.wrt(x).data().iter().all(|&d| close(d, ", stringify!($grad), ")));")]
        /// ```
        #[track_caller]
        pub fn $m(self) -> Self {
            self.unary(UnaryOp::$V)
        }
    };
    (@real_unary - $($rest:tt)*) => {};
    (@real_unary $m:ident $V:ident [$($doc:literal)*]) => {
        $(#[doc = $doc])*
        #[inline]
        fn $m(self) -> Self {
            self.unary(UnaryOp::$V)
        }
    };
    (@scalar_binary - $($rest:tt)*) => {};
    (@scalar_binary $m:ident $V:ident [$($doc:literal)*] ($x0:expr, $y0:expr) ($val:expr) ($gx:expr, $gy:expr)) => {
        $(#[doc = $doc])*
        ///
        /// # Panics
        /// If the operands belong to different tapes.
        ///
        /// ```
        /// # let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs().max(1.0);
        /// let tape = tape::Tape::<f64>::new();
        #[doc = concat!("let (x, y) = (tape.var(", stringify!($x0), "), tape.var(", stringify!($y0), "));")]
        #[doc = concat!("let out = x.", stringify!($m), "(y);")]
        #[doc = concat!("assert!(close(out.value(), ", stringify!($val), "));")]
        /// let g = out.backward();
        #[doc = concat!("assert!(close(g.wrt(x), ", stringify!($gx), ") && close(g.wrt(y), ", stringify!($gy), "));")]
        /// ```
        #[inline]
        #[track_caller]
        pub fn $m(self, other: Self) -> Self {
            self.binary(other, BinaryOp::$V)
        }
    };
    (@tensor_binary - $($rest:tt)*) => {};
    (@tensor_binary $m:ident $try:ident $V:ident [$($doc:literal)*] ($x0:expr, $y0:expr) ($val:expr) ($gx:expr, $gy:expr)) => {
        $(#[doc = $doc])*
        /// Elementwise, with broadcasting; each gradient is summed back to its input's shape.
        ///
        /// # Panics
        #[doc = concat!("If the shapes do not broadcast (see [`Tensor::", stringify!($try), "`]); the message names the op and both shapes.")]
        ///
        /// ```
        /// # let close = |a: f64, b: f64| (a - b).abs() <= 1e-14 * b.abs().max(1.0);
        /// let tape = tape::Tape::<f64>::new();
        #[doc = concat!("let x = tape.full(&[2], ", stringify!($x0), ");")]
        #[doc = concat!("let y = tape.full(&[], ", stringify!($y0), "); // 0-d: broadcasts to x's shape")]
        #[doc = concat!("let out = x.", stringify!($m), "(y);")]
        #[doc = concat!("assert!(out.to_vec().iter().all(|&v| close(v, ", stringify!($val), ")));")]
        /// let g = out.sum().backward();
        #[doc = concat!("assert!(g.wrt(x).data().iter().all(|&d| close(d, ", stringify!($gx), ")));")]
        #[doc = concat!("assert!(close(g.wrt(y).data()[0], 2.0 * ", stringify!($gy), ")); // summed over the broadcast")]
        /// ```
        #[track_caller]
        pub fn $m(self, other: Self) -> Self {
            self.binary(other, BinaryOp::$V)
        }
    };
    (@tensor_try $try:ident $V:ident $name:literal [$($doc:literal)*]) => {
        $(#[doc = $doc])*
        /// Elementwise, with broadcasting, returning an error where the operator form would panic.
        ///
        /// # Errors
        /// [`TapeError::ShapeMismatch`] if the shapes do not broadcast.
        ///
        /// ```
        /// let tape = tape::Tape::<f64>::new();
        /// let a = tape.ones(&[2, 3]);
        #[doc = concat!("assert!(a.", stringify!($try), "(tape.ones(&[3])).is_ok()); // [3] broadcasts to [2, 3]")]
        #[doc = concat!("let err = a.", stringify!($try), "(tape.ones(&[2])).unwrap_err();")]
        #[doc = concat!("assert_eq!(err.to_string(), \"", $name, ": shapes cannot be broadcast: lhs [2, 3], rhs [2]\");")]
        /// ```
        #[track_caller]
        pub fn $try(self, other: Self) -> Result<Self, TapeError> {
            self.try_binary(other, BinaryOp::$V)
        }
    };
    (@real_binary - $($rest:tt)*) => {};
    (@real_binary $m:ident $V:ident [$($doc:literal)*]) => {
        $(#[doc = $doc])*
        #[inline]
        fn $m(self, other: Self) -> Self {
            self.binary(other, BinaryOp::$V)
        }
    };

    (@float_unary - $($rest:tt)*) => {};
    (@float_unary $m:ident $V:ident) => {
        #[inline]
        #[track_caller]
        fn $m(self) -> Self {
            self.unary(UnaryOp::$V)
        }
    };
    (@float_binary - $($rest:tt)*) => {};
    (@float_binary $m:ident $V:ident) => {
        #[inline]
        #[track_caller]
        fn $m(self, other: Self) -> Self {
            self.binary(other, BinaryOp::$V)
        }
    };

    // ---- the table ------------------------------------------------------------------------
    (
        unary {
            $(
                $(#[doc = $udoc:literal])*
                $U:ident {
                    name: $uname:literal,
                    method: $um:tt,
                    float: $ufloat:tt,
                    f: |$ux:ident| $uf:expr,
                    df: |$udx:ident, $udout:ident| $udf:expr,
                    domain: $udom:expr,
                    example: $uex:expr => ($uval:expr, $ugrad:expr) $(,)?
                }
            )*
        }
        unary_with_param {
            $(
                $(#[doc = $pdoc:literal])*
                $P:ident($pp:ident: $pty:ty) {
                    name: $pname:literal,
                    samples: [$($psample:expr),+ $(,)?],
                    f: |$px:ident| $pf:expr,
                    df: |$pdx:ident, $pdout:ident| $pdf:expr,
                    domain: $pdom:expr,
                    example: ($pex:expr) at $pex0:expr => ($pval:expr, $pgrad:expr) $(,)?
                }
            )*
        }
        binary {
            $(
                $(#[doc = $bdoc:literal])*
                $B:ident {
                    name: $bname:literal,
                    scalar: $bs:tt,
                    tensor: $bt:tt / $btry:ident,
                    float: $bfloat:tt,
                    f: |$bx:ident, $by:ident| $bf:expr,
                    df: |$bdx:ident, $bdy:ident, $bdout:ident| $bdf:expr,
                    domain: $bdom:expr,
                    example: ($bex:expr, $bey:expr) => ($bval:expr, $bgx:expr, $bgy:expr) $(,)?
                }
            )*
        }
    ) => {
        /// An elementwise op of one input (plus, for some, a constant parameter): one entry of
        /// the table in [`crate::rules`].
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
            $( $(#[doc = $udoc])* $U, )*
            $( $(#[doc = $pdoc])* $P($pty), )*
        }

        /// The position of each unary op in the table: its code in the compact scalar node.
        #[derive(Clone, Copy)]
        #[repr(u8)]
        enum UnaryCode {
            $( $U, )*
            $( $P, )*
        }

        const UNARY_CODES: &[UnaryCode] = &[$( UnaryCode::$U, )* $( UnaryCode::$P, )*];

        impl UnaryOp {
            /// Every op of the table, ops with a parameter at a few sample values: what the
            /// property tests, second-order tests and kernel tests run over.
            ///
            /// ```
            /// use tape::rules::UnaryOp;
            /// assert!(UnaryOp::ALL.contains(&UnaryOp::Tanh));
            /// assert!(UnaryOp::ALL.contains(&UnaryOp::PowI(3)));
            /// ```
            pub const ALL: &'static [UnaryOp] = &[
                $( UnaryOp::$U, )*
                $( $( UnaryOp::$P($psample), )+ )*
            ];

            /// The number of distinct ops (parameters aside).
            pub(crate) const COUNT: usize = UNARY_CODES.len();

            /// The op's name as shown in tape listings.
            ///
            /// ```
            /// use tape::rules::UnaryOp;
            /// assert_eq!(UnaryOp::Tanh.name(), "tanh");
            /// assert_eq!(UnaryOp::PowI(2).name(), "powi"); // the parameter is not part of the name
            /// ```
            pub fn name(self) -> &'static str {
                match self {
                    $( UnaryOp::$U => $uname, )*
                    $( UnaryOp::$P(_) => $pname, )*
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
                    $( UnaryOp::$U => None, )*
                    $( UnaryOp::$P(p) => Some(Param::to_f64(p)), )*
                }
            }

            /// The op's code: its position in the table.
            #[inline(always)]
            pub(crate) fn code(self) -> u8 {
                match self {
                    $( UnaryOp::$U => UnaryCode::$U as u8, )*
                    $( UnaryOp::$P(_) => UnaryCode::$P as u8, )*
                }
            }

            /// The op of a code, given the parameter stored beside it; `None` past the table.
            pub(crate) fn from_code(code: u8, param: f64) -> Option<UnaryOp> {
                Some(match UNARY_CODES.get(code as usize)? {
                    $( UnaryCode::$U => UnaryOp::$U, )*
                    $( UnaryCode::$P => UnaryOp::$P(Param::from_f64(param)), )*
                })
            }

            /// Forward: `f(x)` on a plain number.
            ///
            /// ```
            /// use tape::rules::UnaryOp;
            /// assert_eq!(UnaryOp::Sqrt.f(9.0f64), 3.0);
            /// assert_eq!(UnaryOp::AddC(1.5).f(2.0f32), 3.5);
            /// assert_eq!(UnaryOp::Relu.f(-2.0f64), 0.0);
            /// ```
            #[inline(always)]
            #[allow(clippy::redundant_locals)]
            pub fn f<T: Element>(self, x: T) -> T {
                match self {
                    $( UnaryOp::$U => {
                        let $ux = x;
                        $uf
                    } )*
                    $( UnaryOp::$P($pp) => {
                        let $px = x;
                        $pf
                    } )*
                }
            }

            /// Derivative `f'(x)`, given `x` and the forward result `out = f(x)` (reused where it
            /// is cheaper, as PyTorch's `derivatives.yaml` does). Written over [`Real`], so the
            /// same rule gives numbers (first order) or records on a tape (higher order).
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
            #[inline(always)]
            #[allow(clippy::redundant_locals, unused_variables)]
            pub fn df<N: Real>(self, x: N, out: N) -> N {
                match self {
                    $( UnaryOp::$U => {
                        let ($udx, $udout) = (x, out);
                        $udf
                    } )*
                    $( UnaryOp::$P($pp) => {
                        let ($pdx, $pdout) = (x, out);
                        $pdf
                    } )*
                }
            }

            /// Where the op is smooth enough for central differences: what its property tests
            /// draw inputs from (see [`Domain`]).
            ///
            /// ```
            /// use tape::rules::UnaryOp;
            /// let d = UnaryOp::Ln.domain();
            /// assert!(d.lo >= 0.0 && d.avoid.contains(&0.0)); // positive, away from the pole
            /// ```
            pub fn domain(self) -> Domain {
                match self {
                    $( UnaryOp::$U => $udom, )*
                    $( UnaryOp::$P(_) => $pdom, )*
                }
            }

            /// One worked point per op: `x`, the value and the derivative there, written with
            /// the standard library and closed forms (not with tapegrad's rules), as each op's
            /// doc example shows them. Ops with a parameter appear at one sample parameter.
            ///
            /// ```
            /// use tape::rules::UnaryOp;
            /// let sin = UnaryOp::examples().into_iter().find(|e| e.op == UnaryOp::Sin).unwrap();
            /// assert_eq!(sin.derivative, sin.x.cos());
            /// ```
            pub fn examples() -> Vec<UnaryExample> {
                vec![
                    $( UnaryExample { op: UnaryOp::$U, x: $uex, value: $uval, derivative: $ugrad }, )*
                    $( UnaryExample { op: UnaryOp::$P($pex), x: $pex0, value: $pval, derivative: $pgrad }, )*
                ]
            }
        }

        /// An elementwise op of two inputs (broadcasting, for tensors): one entry of the table
        /// in [`crate::rules`].
        ///
        /// ```
        /// use tape::rules::BinaryOp;
        /// assert_eq!(BinaryOp::Sub.f(5.0f64, 3.0), 2.0);
        /// assert_eq!(BinaryOp::Mul.df(2.0f64, 3.0, 6.0), (3.0, 2.0)); // (y, x)
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        #[non_exhaustive]
        pub enum BinaryOp {
            $( $(#[doc = $bdoc])* $B, )*
        }

        impl BinaryOp {
            /// Every op of the table, in table order.
            ///
            /// ```
            /// use tape::rules::BinaryOp;
            /// assert_eq!(BinaryOp::ALL[0], BinaryOp::Add);
            /// assert!(BinaryOp::ALL.contains(&BinaryOp::Pow));
            /// ```
            pub const ALL: &'static [BinaryOp] = &[$( BinaryOp::$B, )*];

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
                    $( BinaryOp::$B => $bname, )*
                }
            }

            /// The op's code: its position in the table.
            #[inline(always)]
            pub(crate) fn code(self) -> u8 {
                self as u8
            }

            /// The op of a code; `None` past the table.
            pub(crate) fn from_code(code: u8) -> Option<BinaryOp> {
                Self::ALL.get(code as usize).copied()
            }

            /// Forward on plain numbers.
            ///
            /// ```
            /// use tape::rules::BinaryOp;
            /// assert_eq!(BinaryOp::Pow.f(2.0f64, 10.0), 1024.0);
            /// assert_eq!(BinaryOp::Div.f(1.0f64, 4.0), 0.25);
            /// assert_eq!(BinaryOp::Max.f(-1.0f32, 2.0), 2.0);
            /// ```
            #[inline(always)]
            #[allow(clippy::redundant_locals)]
            pub fn f<T: Element>(self, x: T, y: T) -> T {
                match self {
                    $( BinaryOp::$B => {
                        let ($bx, $by) = (x, y);
                        $bf
                    } )*
                }
            }

            /// Partial derivatives `(∂out/∂x, ∂out/∂y)`, given the inputs and `out`.
            ///
            /// Conventions: at a tie `max`/`min` send the whole gradient to `x` (the first
            /// operand); `∂(xʸ)/∂y = xʸ ln x` is taken as 0 where `x = 0`, matching PyTorch (the
            /// limit from the right when `y > 0`), and is NaN for `x < 0` as the real power is.
            ///
            /// ```
            /// use tape::rules::BinaryOp;
            /// // x / y at (1, 4): (1/y, −x/y²)
            /// assert_eq!(BinaryOp::Div.df(1.0f64, 4.0, 0.25), (0.25, -0.0625));
            /// assert_eq!(BinaryOp::Max.df(3.0f64, 3.0, 3.0), (1.0, 0.0)); // a tie: all to x
            /// assert_eq!(BinaryOp::Pow.df(0.0f64, 2.0, 0.0), (0.0, 0.0)); // 2·0¹, and 0 by convention
            /// ```
            #[inline(always)]
            #[allow(clippy::redundant_locals)]
            pub fn df<N: Real>(self, x: N, y: N, out: N) -> (N, N) {
                match self {
                    $( BinaryOp::$B => {
                        let ($bdx, $bdy, $bdout) = (x, y, out);
                        $bdf
                    } )*
                }
            }

            /// Where the op is smooth enough for central differences (see [`BinaryDomain`]).
            ///
            /// ```
            /// use tape::rules::BinaryOp;
            /// assert!(BinaryOp::Max.domain().apart > 0.0); // away from ties
            /// ```
            pub fn domain(self) -> BinaryDomain {
                match self {
                    $( BinaryOp::$B => $bdom, )*
                }
            }

            /// One worked point per op: `(x, y)`, the value and both partials there, written
            /// with the standard library and closed forms, as each op's doc example shows them.
            ///
            /// ```
            /// use tape::rules::BinaryOp;
            /// let mul = BinaryOp::examples().into_iter().find(|e| e.op == BinaryOp::Mul).unwrap();
            /// assert_eq!(mul.partials, (mul.y, mul.x));
            /// ```
            pub fn examples() -> Vec<BinaryExample> {
                vec![
                    $( BinaryExample { op: BinaryOp::$B, x: $bex, y: $bey, value: $bval, partials: ($bgx, $bgy) }, )*
                ]
            }
        }

        /// What derivative rules compute with: plain numbers (`f32`, `f64`: first order) or
        /// tape handles ([`Scalar`](crate::Scalar), [`Tensor`](crate::Tensor): the rule is
        /// recorded, so the derivative can be differentiated again).
        ///
        /// An implementation gives the constant, the ops of the table (`unary`, `binary`) and
        /// three piecewise-constant masks; every named method (`exp`, `cosh`, `atan2`, ...)
        /// follows from the table. The masks `step`, `sign` and `ge_mask` return constants:
        /// their derivative is zero wherever it exists, and a handle records them without a
        /// path back to the input.
        ///
        /// ```
        /// use tape::Real;
        /// // The derivative of tanh written once: 1 - tanh(x)².
        /// fn dtanh<N: Real>(out: N) -> N { out.cst(1.0) - out * out }
        /// assert_eq!(dtanh(0.0f64), 1.0);
        /// let tape = tape::Tape::<f64>::new();
        /// let x = tape.var(0.5);
        /// let d = dtanh(x.tanh());                   // recorded: differentiable again
        /// let d2 = d.backward().wrt(x);              // −2 tanh(x)(1 − tanh²(x))
        /// let t = 0.5f64.tanh();
        /// assert!((d2 + 2.0 * t * (1.0 - t * t)).abs() < 1e-15);
        /// ```
        pub trait Real:
            Copy
            + Add<Output = Self>
            + Sub<Output = Self>
            + Mul<Output = Self>
            + Div<Output = Self>
            + Neg<Output = Self>
        {
            /// The constant `c`, of the same kind (and, for tensors, shape) as `self`.
            fn cst(&self, c: f64) -> Self;
            /// An op of the table applied to `self`.
            fn unary(self, op: UnaryOp) -> Self;
            /// A binary op of the table applied to `self` and `other`.
            fn binary(self, other: Self, op: BinaryOp) -> Self;
            /// Heaviside step: 1 where `x > 0`, else 0 (a constant).
            fn step(self) -> Self;
            /// Sign: -1, 0 or 1 (a constant).
            fn sign(self) -> Self;
            /// 1 where `self >= other`, else 0 (a constant).
            fn ge_mask(self, other: Self) -> Self;

            /// Integer power `xⁿ`.
            #[inline]
            fn powi(self, n: i32) -> Self {
                self.unary(UnaryOp::PowI(n))
            }
            /// Power with a constant exponent, `xᶜ`.
            #[inline]
            fn powf(self, c: f64) -> Self {
                self.unary(UnaryOp::PowF(c))
            }
            $( elementwise_ops!(@real_unary $um $U [$($udoc)*]); )*
            $( elementwise_ops!(@real_binary $bs $B [$($bdoc)*]); )*
        }

        impl<'t, T: Element> Scalar<'t, T> {
            $( elementwise_ops!(@scalar_unary $um $U [$($udoc)*] ($uex) ($uval) ($ugrad)); )*
            $( elementwise_ops!(@scalar_binary $bs $B [$($bdoc)*] ($bex, $bey) ($bval) ($bgx, $bgy)); )*
        }

        /// The `num_traits::Float` methods that are ops of the table, for `impl Float for
        /// Scalar` (`scalar/float.rs`).
        macro_rules! table_float_methods {
            () => {
                $( elementwise_ops!(@float_unary $ufloat $U); )*
                $( elementwise_ops!(@float_binary $bfloat $B); )*
            };
        }

        impl<'t, T: Element> Tensor<'t, T> {
            $( elementwise_ops!(@tensor_unary $um $U [$($udoc)*] ($uex) ($uval) ($ugrad)); )*
            $( elementwise_ops!(@tensor_binary $bt $btry $B [$($bdoc)*] ($bex, $bey) ($bval) ($bgx, $bgy)); )*
            $( elementwise_ops!(@tensor_try $btry $B $bname [$($bdoc)*]); )*
        }
    };
}
