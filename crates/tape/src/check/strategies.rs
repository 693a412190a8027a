//! Proptest strategies for shapes and arrays, to property-test differentiable functions
//! (enabled by the `proptest` feature).
//!
//! ```
//! use proptest::prelude::*;
//! use tape::check::{gradcheck, strategies, CheckConfig};
//!
//! proptest!(ProptestConfig::with_cases(8), |(x in strategies::array_up_to::<f64>(2, 3, -2.0, 2.0))| {
//!     let r = gradcheck(|_, t| t[0].tanh() * t[0], &[x], &CheckConfig::default());
//!     prop_assert!(r.is_ok(), "{}", r.unwrap_err());
//! });
//! ```

use proptest::prelude::*;

use crate::rules::{BinaryDomain, Domain};
use crate::{Array, Element, Shape};

/// Shapes of rank `0..=max_rank` with every dimension in `1..=max_dim`.
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::strategies;
///
/// proptest!(ProptestConfig::with_cases(32), |(s in strategies::shape(3, 4))| {
///     prop_assert!(s.len() <= 3);
///     prop_assert!(s.iter().all(|&d| (1..=4).contains(&d)));
/// });
/// # }
/// ```
pub fn shape(max_rank: usize, max_dim: usize) -> impl Strategy<Value = Shape> {
    proptest::collection::vec(1..=max_dim, 0..=max_rank).prop_map(Shape::from_vec)
}

/// Arrays of a given shape with elements uniform in `[lo, hi)`.
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::strategies;
///
/// proptest!(ProptestConfig::with_cases(32), |(a in strategies::array::<f64>(&[2, 3], -1.0, 1.0))| {
///     prop_assert_eq!(a.shape(), &[2, 3]);
///     prop_assert!(a.data().iter().all(|&v| (-1.0..1.0).contains(&v)));
/// });
/// # }
/// ```
pub fn array<T: Element>(
    shape: &[usize],
    lo: f64,
    hi: f64,
) -> impl Strategy<Value = Array<T>> + use<T> {
    let shape = Shape::from_slice(shape);
    let n = crate::shape::numel(&shape);
    proptest::collection::vec(lo..hi, n).prop_map(move |v| {
        Array::from_vec(v.into_iter().map(T::cast_from).collect(), &shape)
            .expect("internal error: strategy shape")
    })
}

/// Arrays of a random shape (see [`shape`]) with elements uniform in `[lo, hi)`.
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::strategies;
///
/// proptest!(ProptestConfig::with_cases(32), |(a in strategies::array_up_to::<f32>(2, 3, 0.0, 1.0))| {
///     prop_assert!(a.ndim() <= 2);
///     prop_assert!(a.shape().iter().all(|&d| (1..=3).contains(&d)));
///     prop_assert!(a.data().iter().all(|&v| (0.0..1.0).contains(&v)));
/// });
/// # }
/// ```
pub fn array_up_to<T: Element>(
    max_rank: usize,
    max_dim: usize,
    lo: f64,
    hi: f64,
) -> impl Strategy<Value = Array<T>> {
    shape(max_rank, max_dim).prop_flat_map(move |s| array::<T>(&s, lo, hi))
}

/// Arrays of a given shape whose elements are uniform in `[lo, hi)` but at least `margin`
/// away from each of `kinks`: for checking functions that are not differentiable there
/// (`relu` and `abs` at 0), where finite differences straddling the kink are meaningless.
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::{gradcheck, strategies, CheckConfig};
///
/// proptest!(ProptestConfig::with_cases(16), |(
///     x in strategies::array_avoiding::<f64>(&[4], -1.0, 1.0, &[0.0], 0.1),
/// )| {
///     prop_assert!(x.data().iter().all(|v| v.abs() >= 0.1));
///     prop_assert!(gradcheck(|_, t| t[0].relu(), &[x], &CheckConfig::default()).is_ok());
/// });
/// # }
/// ```
pub fn array_avoiding<T: Element>(
    shape: &[usize],
    lo: f64,
    hi: f64,
    kinks: &'static [f64],
    margin: f64,
) -> impl Strategy<Value = Array<T>> + use<T> {
    let domain = Domain::new(lo, hi).avoiding(kinks, margin);
    array::<f64>(shape, lo, hi).prop_map(move |a| a.map(|v| domain.push_out(v)).cast::<T>())
}

/// Two shapes that broadcast together under NumPy's rules (possibly of different ranks, with
/// some dimensions 1 on either side), of rank at most `max_rank`.
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::strategies;
///
/// proptest!(ProptestConfig::with_cases(32), |((a, b) in strategies::broadcast_pair(3, 4))| {
///     prop_assert!(a.len() <= 3 && b.len() <= 3);
///     prop_assert!(tape::broadcast_shapes("add", &a, &b).is_ok());
/// });
/// # }
/// ```
pub fn broadcast_pair(max_rank: usize, max_dim: usize) -> impl Strategy<Value = (Shape, Shape)> {
    shape(max_rank, max_dim).prop_flat_map(move |out| {
        let r = out.len();
        (
            Just(out),
            0..=r,
            0..=r,
            proptest::collection::vec(any::<bool>(), r),
            proptest::collection::vec(any::<bool>(), r),
        )
            .prop_map(|(out, drop_a, drop_b, ones_a, ones_b)| {
                let make = |drop: usize, ones: &[bool]| -> Shape {
                    out.iter()
                        .zip(ones)
                        .skip(drop)
                        .map(|(&d, &one)| if one { 1 } else { d })
                        .collect()
                };
                (make(drop_a, &ones_a), make(drop_b, &ones_b))
            })
    })
}

/// Dimensions `(m, k, n)` of a matrix product, each in `1..=max_dim`.
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::strategies;
///
/// proptest!(ProptestConfig::with_cases(16), |((m, k, n) in strategies::matmul_dims(4))| {
///     let tape = tape::Tape::<f64>::new();
///     let c = tape.ones(&[m, k]).matmul(tape.ones(&[k, n]));
///     prop_assert_eq!(c.shape().to_vec(), vec![m, n]);
///     prop_assert!(c.to_vec().iter().all(|&v| v == k as f64)); // each entry sums k ones
/// });
/// # }
/// ```
pub fn matmul_dims(max_dim: usize) -> impl Strategy<Value = (usize, usize, usize)> {
    (1..=max_dim, 1..=max_dim, 1..=max_dim)
}

/// Numbers from a [`Domain`]: uniform in `[lo, hi)`, pushed out of the margin around each
/// point to avoid. The op table gives every elementwise op its domain
/// ([`UnaryOp::domain`](crate::rules::UnaryOp::domain)).
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::strategies;
/// use tape::rules::UnaryOp;
///
/// let domain = UnaryOp::Ln.domain();
/// proptest!(ProptestConfig::with_cases(32), |(x in strategies::value_in(domain))| {
///     prop_assert!(domain.admits(x) && x >= 0.05); // at least 0.05 above ln's pole at 0
/// });
/// # }
/// ```
pub fn value_in(domain: Domain) -> impl Strategy<Value = f64> {
    (domain.lo..domain.hi).prop_map(move |v| domain.push_out(v))
}

/// Arrays of a given shape with elements from a [`Domain`] (see [`value_in`]).
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::strategies;
/// use tape::rules::UnaryOp;
///
/// let domain = UnaryOp::Ln.domain();
/// proptest!(ProptestConfig::with_cases(16), |(a in strategies::array_in::<f64>(&[2, 3], domain))| {
///     prop_assert!(a.data().iter().all(|&v| domain.admits(v)));
/// });
/// # }
/// ```
pub fn array_in<T: Element>(
    shape: &[usize],
    domain: Domain,
) -> impl Strategy<Value = Array<T>> + use<T> {
    array::<f64>(shape, domain.lo, domain.hi)
        .prop_map(move |a| a.map(|v| domain.push_out(v)).cast::<T>())
}

/// Pairs of numbers from a [`BinaryDomain`]; where the operands must stay `apart` (`max`,
/// `min`), the first is put on the grid of even multiples of `apart` and the second on the odd
/// ones, so that no two are closer than `apart`.
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::strategies;
/// use tape::rules::BinaryOp;
///
/// let domain = BinaryOp::Max.domain();
/// proptest!(ProptestConfig::with_cases(32), |((x, y) in strategies::pair_in(domain))| {
///     prop_assert!((x - y).abs() >= domain.apart * 0.999);
/// });
/// # }
/// ```
pub fn pair_in(domain: BinaryDomain) -> impl Strategy<Value = (f64, f64)> {
    (value_in(domain.x), value_in(domain.y))
        .prop_map(move |(x, y)| (snap_x(&domain, x), snap_y(&domain, y)))
}

/// Two arrays of the given shapes (which should broadcast together) with elements from a
/// [`BinaryDomain`]; with `apart > 0`, every element of the first is at least `apart` from
/// every element of the second, whichever elements broadcasting pairs (see [`pair_in`]).
///
/// ```
/// # #[cfg(feature = "proptest")] {
/// use proptest::prelude::*;
/// use tape::check::strategies;
/// use tape::rules::BinaryOp;
///
/// let domain = BinaryOp::Div.domain();
/// proptest!(ProptestConfig::with_cases(16), |((a, b) in strategies::arrays_in::<f64>(&[2, 3], &[3], domain))| {
///     prop_assert!(b.data().iter().all(|&v| v.abs() >= 0.3)); // divisors away from 0
///     prop_assert_eq!((a.shape(), b.shape()), (&[2, 3][..], &[3][..]));
/// });
/// # }
/// ```
pub fn arrays_in<T: Element>(
    shape_x: &[usize],
    shape_y: &[usize],
    domain: BinaryDomain,
) -> impl Strategy<Value = (Array<T>, Array<T>)> + use<T> {
    (
        array_in::<f64>(shape_x, domain.x),
        array_in::<f64>(shape_y, domain.y),
    )
        .prop_map(move |(a, b)| {
            (
                a.map(|v| snap_x(&domain, v)).cast::<T>(),
                b.map(|v| snap_y(&domain, v)).cast::<T>(),
            )
        })
}

/// The first operand on the even multiples of `apart` (unchanged if `apart` is 0).
fn snap_x(domain: &BinaryDomain, v: f64) -> f64 {
    if domain.apart > 0.0 {
        let step = 2.0 * domain.apart;
        (v / step).round() * step
    } else {
        v
    }
}

/// The second operand on the odd multiples of `apart` (unchanged if `apart` is 0).
fn snap_y(domain: &BinaryDomain, v: f64) -> f64 {
    if domain.apart > 0.0 {
        let step = 2.0 * domain.apart;
        ((v - domain.apart) / step).round() * step + domain.apart
    } else {
        v
    }
}
