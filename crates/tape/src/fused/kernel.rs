//! The loops of the fused ops: the closure inlined into each (it is a type parameter), no
//! allocation per element, the inputs resliced to one length so that indexing needs no check.

use crate::Element;
use crate::array::buffers::scratch;

use super::Dual;

/// Independent partial sums in [`sum_values`], so that the additions of consecutive elements
/// do not wait on each other and can share vector registers.
const LANES: usize = 8;

/// The inputs at element `i`, each seeded as its own dual variable.
#[inline(always)]
fn seeded<T: Element, const K: usize>(xs: &[&[T]; K], i: usize) -> [Dual<T, K>; K] {
    std::array::from_fn(|k| Dual::variable(xs[k][i], k))
}

/// The values `f(x[i])`. The tangents are computed by the closure but never read, so the
/// compiler drops them.
pub(super) fn values<T, F, const K: usize>(f: &F, xs: [&[T]; K]) -> Vec<T>
where
    T: Element,
    F: Fn([Dual<T, K>; K]) -> Dual<T, K>,
{
    let n = xs.first().map_or(0, |x| x.len());
    let xs = xs.map(|x| &x[..n]);
    let mut out = scratch(n);
    for (i, o) in out[..n].iter_mut().enumerate() {
        *o = f(seeded(&xs, i)).value;
    }
    out
}

/// `Σᵢ f(x[i])`, in [`LANES`] partial sums.
pub(super) fn sum_values<T, F, const K: usize>(f: &F, xs: [&[T]; K]) -> T
where
    T: Element,
    F: Fn([Dual<T, K>; K]) -> Dual<T, K>,
{
    let n = xs.first().map_or(0, |x| x.len());
    let xs = xs.map(|x| &x[..n]);
    let mut acc = [T::zero(); LANES];
    let full = n - n % LANES;
    for start in (0..full).step_by(LANES) {
        for (j, a) in acc.iter_mut().enumerate() {
            *a += f(seeded(&xs, start + j)).value;
        }
    }
    let mut tail = T::zero();
    for i in full..n {
        tail += f(seeded(&xs, i)).value;
    }
    acc.iter().fold(tail, |s, &a| s + a)
}

/// The gradient of each input: `grad_out(i) · ∂f/∂xₖ(x[i])`, the partials from the closure
/// evaluated on dual numbers.
pub(super) fn partials_times<T, F, G, const K: usize>(
    f: &F,
    xs: [&[T]; K],
    grad_out: G,
) -> [Vec<T>; K]
where
    T: Element,
    F: Fn([Dual<T, K>; K]) -> Dual<T, K>,
    G: Fn(usize) -> T,
{
    let n = xs.first().map_or(0, |x| x.len());
    let xs = xs.map(|x| &x[..n]);
    let mut grads: [Vec<T>; K] = std::array::from_fn(|_| scratch(n));
    let mut outs = grads.each_mut().map(|g| &mut g[..n]);
    for i in 0..n {
        let d = f(seeded(&xs, i));
        let g = grad_out(i);
        for (out, t) in outs.iter_mut().zip(d.tangent) {
            out[i] = g * t;
        }
    }
    grads
}
