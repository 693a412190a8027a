//! Shapes and NumPy broadcasting.

use smallvec::SmallVec;

use crate::TapeError;

/// The shape of an array: its dimensions, outermost first. Four dimensions are stored inline.
///
/// ```
/// use tape::Shape;
/// let tape = tape::Tape::<f64>::new();
/// let s: Shape = tape.zeros(&[2, 3]).shape();
/// assert_eq!(s.as_slice(), &[2, 3]);
/// assert!(!s.spilled()); // up to four dimensions are stored inline, without allocating
/// ```
pub type Shape = SmallVec<[usize; 4]>;

/// Number of elements of a shape (1 for a 0-d shape).
#[inline]
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides of a contiguous array of `shape`, in elements.
pub fn contiguous_strides(shape: &[usize]) -> Shape {
    let mut strides: Shape = SmallVec::from_elem(0, shape.len());
    let mut acc = 1;
    for (s, &d) in strides.iter_mut().zip(shape).rev() {
        *s = acc;
        acc *= d;
    }
    strides
}

/// The shape two shapes broadcast to under NumPy's rules: align from the right; each pair of
/// dimensions must be equal or one of them 1.
///
/// ```
/// use tape::broadcast_shapes;
/// assert_eq!(broadcast_shapes("add", &[3, 1], &[4]).unwrap().as_slice(), &[3, 4]);
/// assert!(broadcast_shapes("add", &[3], &[4]).is_err());
/// ```
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Shape, TapeError> {
    if a == b {
        return Ok(Shape::from_slice(a));
    }
    let n = a.len().max(b.len());
    let mut out: Shape = SmallVec::from_elem(0, n);
    for i in 0..n {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(TapeError::shape(op, "shapes cannot be broadcast", a, b));
        };
    }
    Ok(out)
}

/// Strides for reading an array of shape `from` as if it had the (broadcast) shape `to`:
/// broadcast dimensions get stride 0. `from` must broadcast to `to`.
pub(crate) fn broadcast_strides(from: &[usize], to: &[usize]) -> Shape {
    let strides = contiguous_strides(from);
    let offset = to.len() - from.len();
    let mut out: Shape = SmallVec::from_elem(0, to.len());
    for (i, o) in out.iter_mut().enumerate().skip(offset) {
        let d = from[i - offset];
        *o = if d == 1 && to[i] != 1 {
            0
        } else {
            strides[i - offset]
        };
    }
    out
}

/// Calls `f(out_index, a_index, b_index)` for each element of the broadcast shape `out`, in
/// row-major order, where `a_strides`/`b_strides` come from [`broadcast_strides`].
#[inline]
pub(crate) fn for_each_broadcast(
    out: &[usize],
    a_strides: &[usize],
    b_strides: &[usize],
    mut f: impl FnMut(usize, usize, usize),
) {
    let n = numel(out);
    if n == 0 {
        return;
    }
    let rank = out.len();
    if rank == 0 {
        f(0, 0, 0);
        return;
    }
    // Walk the innermost dimension in a tight loop; carry into the outer dimensions by hand.
    let inner = out[rank - 1];
    let (sa, sb) = (a_strides[rank - 1], b_strides[rank - 1]);
    let mut counter: Shape = SmallVec::from_elem(0, rank);
    let (mut ia, mut ib) = (0usize, 0usize);
    let mut i = 0;
    while i < n {
        for j in 0..inner {
            f(i + j, ia + j * sa, ib + j * sb);
        }
        i += inner;
        // Advance the outer counter.
        let mut d = rank - 1;
        loop {
            if d == 0 {
                break;
            }
            d -= 1;
            counter[d] += 1;
            ia += a_strides[d];
            ib += b_strides[d];
            if counter[d] < out[d] {
                break;
            }
            ia -= a_strides[d] * out[d];
            ib -= b_strides[d] * out[d];
            counter[d] = 0;
        }
    }
}
