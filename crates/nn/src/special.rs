//! Special functions the tape does not have as primitives: the error function and its
//! complement, each a custom [`Function`] with a hand-written derivative.
//!
//! The values come from the `libm` crate (a port of musl's libm, accurate to within an ulp),
//! evaluated in `f64` and rounded for `f32`. `libm` is already in tapegrad's dependency graph
//! (through `num-traits`), so using it adds no crate to the build, and it spares us a page of
//! rational-approximation coefficients of our own.
//!
//! The backward exists twice, as for every custom function that supports higher order: on
//! plain arrays (the fast first-order path) and as tape ops (`backward_on_tape`), so that a
//! gradient through `erf` can itself be differentiated (`Scalar::backward_graph`).

use std::f64::consts::PI;

use tape::{Array, Element, Function, TapeError, Tensor};

/// Which of the two functions a node computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Erf,
    Erfc,
}

/// `erf` or `erfc` elementwise, as a tape primitive.
#[derive(Clone, Copy, Debug)]
struct ErrorFunction(Kind);

impl ErrorFunction {
    /// The derivative is this times `e^(−x²)`: erf'(x) = 2/√π · e^(−x²), and erfc = 1 − erf,
    /// so erfc'(x) = −2/√π · e^(−x²).
    fn derivative_scale(self) -> f64 {
        match self.0 {
            Kind::Erf => 2.0 / PI.sqrt(),
            Kind::Erfc => -2.0 / PI.sqrt(),
        }
    }
}

impl<T: Element> Function<T> for ErrorFunction {
    fn name(&self) -> &str {
        match self.0 {
            Kind::Erf => "erf",
            Kind::Erfc => "erfc",
        }
    }

    fn forward(&self, inputs: &[&Array<T>]) -> Result<Array<T>, TapeError> {
        let f = match self.0 {
            Kind::Erf => libm::erf,
            Kind::Erfc => libm::erfc,
        };
        Ok(inputs[0].map(|x| T::cast_from(f(x.as_f64()))))
    }

    fn backward(
        &self,
        inputs: &[&Array<T>],
        _out: &Array<T>,
        grad_out: &Array<T>,
    ) -> Vec<Array<T>> {
        // e^(−x²) underflows to 0 for large |x|, which is the correct limit.
        let scale = self.derivative_scale();
        let x = inputs[0];
        let data = x
            .data()
            .iter()
            .zip(grad_out.data())
            .map(|(&x, &g)| {
                let x = x.as_f64();
                g * T::cast_from(scale * (-x * x).exp())
            })
            .collect();
        vec![Array::from_vec(data, x.shape()).expect("internal error: erf gradient shape")]
    }

    fn backward_on_tape<'t>(
        &self,
        inputs: &[Tensor<'t, T>],
        _out: Tensor<'t, T>,
        grad_out: Tensor<'t, T>,
    ) -> Option<Vec<Tensor<'t, T>>> {
        // The same rule as `backward`, recorded: ±2/√π · e^(−x²) · g.
        let x = inputs[0];
        let scale = T::cast_from(self.derivative_scale());
        Some(vec![grad_out * (-(x * x)).exp() * scale])
    }
}

fn apply<'t, T: Element>(x: Tensor<'t, T>, kind: Kind) -> Tensor<'t, T> {
    x.tape()
        .apply(&ErrorFunction(kind), &[x])
        .expect("internal error: erf accepts any shape")
}

/// The error function `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt`, elementwise; derivative
/// `2/√π · e^(−x²)`.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![0.0, 1.0, -1e4], &[3]).unwrap();
/// let y = nn::special::erf(x);
/// let v = y.to_vec();
/// assert_eq!(v[0], 0.0);
/// assert!((v[1] - 0.842_700_792_949_714_9).abs() < 1e-15); // erf(1), from tables
/// assert_eq!(v[2], -1.0);
/// let g = y.sum().backward();
/// assert!((g.wrt(x).data()[0] - 2.0 / std::f64::consts::PI.sqrt()).abs() < 1e-15);
/// ```
#[track_caller]
pub fn erf<'t, T: Element>(x: Tensor<'t, T>) -> Tensor<'t, T> {
    apply(x, Kind::Erf)
}

/// The complementary error function `erfc(x) = 1 − erf(x)`, elementwise, accurate in the right
/// tail where `1 − erf(x)` would cancel to 0; derivative `−2/√π · e^(−x²)`.
///
/// ```
/// let tape = tape::Tape::<f64>::new();
/// let x = tape.tensor_from_vec(vec![0.0, 10.0], &[2]).unwrap();
/// let v = nn::special::erfc(x).to_vec();
/// assert_eq!(v[0], 1.0);
/// // erfc(10) ≈ 2.088e-45, far below what 1 − erf(10) can represent.
/// assert!((v[1] / 2.088_487_583_762_545e-45 - 1.0).abs() < 1e-12);
/// ```
#[track_caller]
pub fn erfc<'t, T: Element>(x: Tensor<'t, T>) -> Tensor<'t, T> {
    apply(x, Kind::Erfc)
}
