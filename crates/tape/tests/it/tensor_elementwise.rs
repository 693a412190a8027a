//! Elementwise tensor ops against central differences beyond the table's own checks (each
//! op of the table is checked on random shapes and broadcast pairs in `table.rs`): tensors
//! with constants and with scalar handles, custom elementwise functions, compositions and the
//! `try_` forms, in `f64` and `f32`.

use proptest::prelude::*;
use tape::check::{CheckConfig, strategies};
use tape::{Array, Element, Function, Real, Shape, Tape, TapeError, Tensor};

use crate::common::{assert_array_close, assert_grad};

/// Rank ≤ 3, dimensions ≤ 4.
const RANK: usize = 3;
const DIM: usize = 4;

/// Arrays of a random shape whose elements avoid `kinks` by `margin`.
fn avoiding<T: Element>(
    lo: f64,
    hi: f64,
    kinks: &'static [f64],
    margin: f64,
) -> impl Strategy<Value = Array<T>> {
    strategies::shape(RANK, DIM)
        .prop_flat_map(move |s| strategies::array_avoiding::<T>(&s, lo, hi, kinks, margin))
}

/// Two broadcasting arrays for a divisor: the second stays at least 0.5 away from 0.
fn broadcast_arrays_nonzero_rhs<T: Element>() -> impl Strategy<Value = (Array<T>, Array<T>)> {
    strategies::broadcast_pair(RANK, DIM).prop_flat_map(|(sa, sb)| {
        (
            strategies::array::<T>(&sa, -3.0, 3.0),
            strategies::array_avoiding::<T>(&sb, -3.0, 3.0, &[0.0], 0.5),
        )
    })
}

/// A tensor and a one-element array (shape `[]` or `[1]`) to make a scalar handle from.
fn tensor_and_scalar<T: Element>(lo: f64, hi: f64) -> impl Strategy<Value = (Array<T>, Array<T>)> {
    let scalar_shape = prop_oneof![Just(Shape::new()), Just(Shape::from_slice(&[1]))];
    (strategies::shape(RANK, DIM), scalar_shape).prop_flat_map(move |(s, one)| {
        (
            strategies::array::<T>(&s, -3.0, 3.0),
            strategies::array::<T>(&one, lo, hi),
        )
    })
}

/// One property test per unary op over random shapes: `$x` is drawn from the strategy and
/// rebound to the tensor handle inside the function checked.
macro_rules! unary_props {
    ($cfg:expr; $($name:ident($x:ident in $strat:expr) => $body:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(24))]
            $(
                #[test]
                fn $name($x in $strat) {
                    assert_grad(|_, t| { let $x = t[0]; $body }, &[$x], &$cfg);
                }
            )*
        }
    };
}

/// One property test per binary op, as [`unary_props`] with two inputs.
macro_rules! binary_props {
    ($cfg:expr; $($name:ident(($x:ident, $y:ident) in $strat:expr) => $body:expr;)*) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(24))]
            $(
                #[test]
                fn $name(($x, $y) in $strat) {
                    assert_grad(
                        |_, t| { let ($x, $y) = (t[0], t[1]); $body },
                        &[$x, $y],
                        &$cfg,
                    );
                }
            )*
        }
    };
}

/// `x·sin x` elementwise as a custom function, derivative `sin x + x·cos x`.
#[derive(Clone)]
struct XSinX;

impl<T: Element> Function<T> for XSinX {
    fn name(&self) -> &str {
        "x_sin_x"
    }
    fn forward(&self, x: &[&Array<T>]) -> Result<Array<T>, TapeError> {
        Ok(x[0].map(|v| v * Real::sin(v)))
    }
    fn backward(&self, x: &[&Array<T>], _out: &Array<T>, g: &Array<T>) -> Vec<Array<T>> {
        let data = x[0]
            .data()
            .iter()
            .zip(g.data())
            .map(|(&v, &g)| g * (Real::sin(v) + v * Real::cos(v)))
            .collect();
        vec![Array::from_vec(data, x[0].shape()).expect("same shape")]
    }
}

// ---- unary, f64 --------------------------------------------------------------------------

unary_props! { CheckConfig::default();
    custom(x in strategies::array_up_to::<f64>(RANK, DIM, -3.0, 3.0)) => {
        x.tape().apply(&XSinX, &[x]).expect("elementwise")
    };
    // The same tensor used twice: the two contributions add.
    composition(x in strategies::array_up_to::<f64>(RANK, DIM, 0.1, 2.0)) => {
        (x.sin() * x.exp() + x.ln()).tanh() * x
    };
}

// ---- tensor ∘ constant, f64 --------------------------------------------------------------

unary_props! { CheckConfig::default();
    add_const_rhs(x in strategies::array_up_to::<f64>(RANK, DIM, -3.0, 3.0)) => x + 2.0;
    add_const_lhs(x in strategies::array_up_to::<f64>(RANK, DIM, -3.0, 3.0)) => 2.0 + x;
    sub_const_rhs(x in strategies::array_up_to::<f64>(RANK, DIM, -3.0, 3.0)) => x - 2.0;
    sub_const_lhs(x in strategies::array_up_to::<f64>(RANK, DIM, -3.0, 3.0)) => 2.0 - x;
    mul_const_rhs(x in strategies::array_up_to::<f64>(RANK, DIM, -3.0, 3.0)) => x * 3.0;
    mul_const_lhs(x in strategies::array_up_to::<f64>(RANK, DIM, -3.0, 3.0)) => 3.0 * x;
    div_const_rhs(x in strategies::array_up_to::<f64>(RANK, DIM, -3.0, 3.0)) => x / 3.0;
    div_const_lhs(x in avoiding::<f64>(-3.0, 3.0, &[0.0], 0.3)) => 2.0 / x;
}

// ---- binary with broadcasting, f64 -------------------------------------------------------

binary_props! { CheckConfig::default();
    try_forms((a, b) in broadcast_arrays_nonzero_rhs::<f64>()) => {
        let s = a.try_add(b).unwrap().try_mul(b).unwrap();
        s.try_sub(a).unwrap().try_div(b).unwrap()
    };
}

// ---- tensor ∘ scalar handle, f64 ---------------------------------------------------------
//
// The second input is a one-element array made into a Scalar with `.item()` (or `.sum()`), so
// gradcheck also checks the gradient that flows back into the scalar.

binary_props! { CheckConfig::default();
    add_scalar_rhs((t, s) in tensor_and_scalar::<f64>(-3.0, 3.0)) => t + s.item();
    add_scalar_lhs((t, s) in tensor_and_scalar::<f64>(-3.0, 3.0)) => s.sum() + t;
    sub_scalar_rhs((t, s) in tensor_and_scalar::<f64>(-3.0, 3.0)) => t - s.item();
    sub_scalar_lhs((t, s) in tensor_and_scalar::<f64>(-3.0, 3.0)) => s.item() - t;
    mul_scalar_rhs((t, s) in tensor_and_scalar::<f64>(-3.0, 3.0)) => t * s.item();
    mul_scalar_lhs((t, s) in tensor_and_scalar::<f64>(-3.0, 3.0)) => s.sum() * t;
    div_scalar_rhs((t, s) in tensor_and_scalar::<f64>(0.5, 3.0)) => t / s.item();
    div_scalar_lhs((t, s) in tensor_and_scalar::<f64>(-3.0, 3.0)) => s.item() / (t * t + 1.0);
    // A scalar computed from the tensor itself, combined with it again.
    scalar_from_same_tensor((t, s) in tensor_and_scalar::<f64>(-3.0, 3.0)) => {
        let m = t.sin().sum() * s.item();
        t * m - m
    };
}

// ---- f32 with `CheckConfig::f32()` --------------------------------------------------------

mod f32_ops {
    use super::*;

    unary_props! { CheckConfig::f32();
        custom(x in strategies::array_up_to::<f32>(RANK, DIM, -3.0, 3.0)) => {
            x.tape().apply(&XSinX, &[x]).expect("elementwise")
        };
        add_const_lhs(x in strategies::array_up_to::<f32>(RANK, DIM, -3.0, 3.0)) => 2.0 + x;
        sub_const_lhs(x in strategies::array_up_to::<f32>(RANK, DIM, -3.0, 3.0)) => 2.0 - x;
        mul_const_rhs(x in strategies::array_up_to::<f32>(RANK, DIM, -3.0, 3.0)) => x * 3.0;
        div_const_rhs(x in strategies::array_up_to::<f32>(RANK, DIM, -3.0, 3.0)) => x / 3.0;
        div_const_lhs(x in avoiding::<f32>(-3.0, 3.0, &[0.0], 0.5)) => 2.0 / x;
    }

    binary_props! { CheckConfig::f32();
        mul_scalar((t, s) in tensor_and_scalar::<f32>(-3.0, 3.0)) => t * s.item();
        sub_scalar_lhs((t, s) in tensor_and_scalar::<f32>(-3.0, 3.0)) => s.item() - t;
        div_scalar_rhs((t, s) in tensor_and_scalar::<f32>(0.5, 3.0)) => t / s.item();
    }
}

// ---- conventions at kinks and broadcasting by hand ----------------------------------------

#[test]
fn kinks_follow_the_scalar_conventions() {
    let tape = Tape::<f64>::new();
    let x = tape
        .tensor_from_vec(vec![-1.0, 0.0, 2.0], &[3])
        .expect("3 elements");
    let g = (x.relu() + x.abs()).sum().backward();
    // relu' = [0, 0 (at the kink), 1]; abs' = [−1, 0 (at the kink), 1].
    assert_array_close("relu' + abs'", g.wrt(x), &[3], &[-1.0, 0.0, 2.0], 0.0);

    // maximum/minimum ties (the middle element) go to the first operand.
    let a = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    let b = tape.tensor_from_vec(vec![3.0, 2.0, 1.0], &[3]).unwrap();
    let g = a.maximum(b).sum().backward();
    assert_array_close("max wrt a", g.wrt(a), &[3], &[0.0, 1.0, 1.0], 0.0);
    assert_array_close("max wrt b", g.wrt(b), &[3], &[1.0, 0.0, 0.0], 0.0);
    let g = b.minimum(a).sum().backward();
    assert_array_close("min wrt b", g.wrt(b), &[3], &[0.0, 1.0, 1.0], 0.0);
    assert_array_close("min wrt a", g.wrt(a), &[3], &[1.0, 0.0, 0.0], 0.0);

    // pow at a zero base: ∂/∂y 0^y = 0 by convention; ∂/∂x x^2 at 0 = 2·0 = 0.
    let base = tape.tensor_from_vec(vec![0.0, 2.0], &[2]).unwrap();
    let exponent = tape.full(&[], 2.0);
    let g = base.pow(exponent).sum().backward();
    assert_array_close("pow wrt x", g.wrt(base), &[2], &[0.0, 4.0], 0.0);
    // ∂/∂y Σ x^y = 0^2·(0 by convention) + 2^2·ln 2.
    assert_array_close("pow wrt y", g.wrt(exponent), &[], &[4.0 * 2f64.ln()], 1e-15);
}

#[test]
fn broadcast_gradients_sum_back_to_each_shape() {
    let tape = Tape::<f64>::new();
    // a: [2, 1], b: [3] → a·b: [2, 3]; ∂Σ(a·b)/∂a_i = Σ_j b_j = 6, ∂/∂b_j = Σ_i a_i = 3.
    let a = tape.tensor_from_vec(vec![1.0, 2.0], &[2, 1]).unwrap();
    let b = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    let y = a * b;
    assert_eq!(y.shape().as_slice(), &[2, 3]);
    let g = y.sum().backward();
    assert_array_close("wrt a", g.wrt(a), &[2, 1], &[6.0, 6.0], 0.0);
    assert_array_close("wrt b", g.wrt(b), &[3], &[3.0, 3.0, 3.0], 0.0);
}

#[test]
fn operators_and_binary_ops_agree_with_the_standard_library() {
    let tape = Tape::<f64>::new();
    let xs = [0.7, -1.9, 2.5];
    let x = tape.tensor_from_vec(xs.to_vec(), &[3]).unwrap();
    let y = tape.tensor_from_vec(vec![1.5, 0.5, -2.0], &[3]).unwrap();
    let s = tape.var(1.5);
    type Case<'t> = (&'static str, Tensor<'t, f64>, fn(f64) -> f64);
    let cases: Vec<Case<'_>> = vec![
        ("add_const", x + 3.0, |v| v + 3.0),
        ("radd", 3.0 + x, |v| 3.0 + v),
        ("sub_const", x - 3.0, |v| v - 3.0),
        ("rsub", 3.0 - x, |v| 3.0 - v),
        ("mul_const", x * 3.0, |v| v * 3.0),
        ("rmul", 3.0 * x, |v| 3.0 * v),
        ("div_const", x / 3.0, |v| v / 3.0),
        ("rdiv", 3.0 / x, |v| 3.0 / v),
        ("add_scalar", x + s, |v| v + 1.5),
        ("scalar_sub", s - x, |v| 1.5 - v),
        ("mul_scalar", x * s, |v| v * 1.5),
        ("scalar_div", s / x, |v| 1.5 / v),
    ];
    for (name, t, f) in cases {
        let want: Vec<f64> = xs.iter().map(|&v| f(v)).collect();
        // Identical formulas, so anything beyond the last bit or two is a different formula.
        assert_array_close(name, &t.value(), &[3], &want, 1e-15);
    }
    let ys = [1.5, 0.5, -2.0];
    type BinaryCase<'t> = (&'static str, Tensor<'t, f64>, fn(f64, f64) -> f64);
    let binary: [BinaryCase<'_>; 7] = [
        ("add", x + y, |a, b| a + b),
        ("sub", x - y, |a, b| a - b),
        ("mul", x * y, |a, b| a * b),
        ("div", x / y, |a, b| a / b),
        ("pow", x.abs().pow(y), |a, b| a.abs().powf(b)),
        ("maximum", x.maximum(y), f64::max),
        ("minimum", x.minimum(y), f64::min),
    ];
    for (name, t, f) in binary {
        let want: Vec<f64> = xs.iter().zip(&ys).map(|(&a, &b)| f(a, b)).collect();
        assert_array_close(name, &t.value(), &[3], &want, 1e-15);
    }
}
