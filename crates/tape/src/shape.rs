//! Shapes and NumPy broadcasting.

use smallvec::SmallVec;

use crate::TapeError;

/// The shape of an array: its dimensions, outermost first. Four dimensions are stored inline.
///
/// A shape compares with slices, arrays and vectors of `usize` in both directions, and
/// dereferences to `[usize]`, so every slice method applies to it; it grows and shrinks as a
/// vector does (`push`, `pop`, `insert`, `remove`, `truncate`).
///
/// ```
/// use tape::Shape;
/// let tape = tape::Tape::<f64>::new();
/// let s: Shape = tape.zeros(&[2, 3]).shape();
/// assert_eq!(s, [2, 3]);
/// assert_eq!(s, &[2, 3][..]);
/// assert!([2, 3] == s && vec![2, 3] == s);
/// assert_eq!(s.as_slice(), &[2, 3]);
/// assert_eq!(s[1], 3);
/// assert!(!s.spilled()); // up to four dimensions are stored inline, without allocating
/// assert_eq!(format!("{s:?}"), "[2, 3]");
/// ```
///
/// It is a type of its own rather than a name for `SmallVec<[usize; 4]>`, because only a type
/// of this crate can be given comparisons with `[usize]` and `[usize; N]`: both the trait and
/// the other types are foreign.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shape(SmallVec<[usize; 4]>);

impl Shape {
    /// The shape of a 0-dimensional array: no dimensions.
    ///
    /// ```
    /// assert!(tape::Shape::new().is_empty());
    /// ```
    #[inline]
    pub fn new() -> Self {
        Shape(SmallVec::new())
    }

    /// The shape with these dimensions.
    ///
    /// ```
    /// assert_eq!(tape::Shape::from_slice(&[4, 5]), [4, 5]);
    /// ```
    #[inline]
    pub fn from_slice(dims: &[usize]) -> Self {
        Shape(SmallVec::from_slice(dims))
    }

    /// The shape with these dimensions, taking the vector (inline if it has at most four).
    ///
    /// ```
    /// assert_eq!(tape::Shape::from_vec(vec![1, 2, 3]), [1, 2, 3]);
    /// ```
    #[inline]
    pub fn from_vec(dims: Vec<usize>) -> Self {
        Shape(SmallVec::from_vec(dims))
    }

    /// `n` dimensions, each `d`.
    ///
    /// ```
    /// assert_eq!(tape::Shape::from_elem(2, 3), [2, 2, 2]);
    /// ```
    #[inline]
    pub fn from_elem(d: usize, n: usize) -> Self {
        Shape(SmallVec::from_elem(d, n))
    }

    /// The dimensions as a slice.
    ///
    /// ```
    /// let s = tape::Shape::from_slice(&[2, 3]);
    /// assert_eq!(s.as_slice(), &[2, 3]);
    /// ```
    #[inline]
    pub fn as_slice(&self) -> &[usize] {
        &self.0
    }

    /// Appends a dimension (innermost).
    ///
    /// ```
    /// let mut s = tape::Shape::from_slice(&[2]);
    /// s.push(3);
    /// assert_eq!(s, [2, 3]);
    /// ```
    #[inline]
    pub fn push(&mut self, d: usize) {
        self.0.push(d)
    }

    /// Appends dimensions (innermost).
    ///
    /// ```
    /// let mut s = tape::Shape::from_slice(&[2]);
    /// s.extend_from_slice(&[3, 4]);
    /// assert_eq!(s, [2, 3, 4]);
    /// ```
    #[inline]
    pub fn extend_from_slice(&mut self, dims: &[usize]) {
        self.0.extend_from_slice(dims)
    }

    /// Removes and returns the innermost dimension, if there is one.
    ///
    /// ```
    /// let mut s = tape::Shape::from_slice(&[2, 3]);
    /// assert_eq!((s.pop(), s), (Some(3), tape::Shape::from_slice(&[2])));
    /// ```
    #[inline]
    pub fn pop(&mut self) -> Option<usize> {
        self.0.pop()
    }

    /// Inserts a dimension at position `axis`.
    ///
    /// # Panics
    /// If `axis` is greater than the number of dimensions.
    ///
    /// ```
    /// let mut s = tape::Shape::from_slice(&[2, 3]);
    /// s.insert(1, 1);
    /// assert_eq!(s, [2, 1, 3]);
    /// ```
    #[inline]
    pub fn insert(&mut self, axis: usize, d: usize) {
        self.0.insert(axis, d)
    }

    /// Removes and returns the dimension at position `axis`.
    ///
    /// # Panics
    /// If `axis` is out of range.
    ///
    /// ```
    /// let mut s = tape::Shape::from_slice(&[2, 1, 3]);
    /// assert_eq!(s.remove(1), 1);
    /// assert_eq!(s, [2, 3]);
    /// ```
    #[inline]
    pub fn remove(&mut self, axis: usize) -> usize {
        self.0.remove(axis)
    }

    /// Keeps the first `n` dimensions.
    ///
    /// ```
    /// let mut s = tape::Shape::from_slice(&[2, 3, 4]);
    /// s.truncate(1);
    /// assert_eq!(s, [2]);
    /// ```
    #[inline]
    pub fn truncate(&mut self, n: usize) {
        self.0.truncate(n)
    }

    /// Whether the dimensions have moved to the heap (more than four of them).
    ///
    /// ```
    /// assert!(!tape::Shape::from_slice(&[1, 2, 3, 4]).spilled());
    /// assert!(tape::Shape::from_slice(&[1, 2, 3, 4, 5]).spilled());
    /// ```
    #[inline]
    pub fn spilled(&self) -> bool {
        self.0.spilled()
    }

    /// The dimensions in a `Vec`.
    ///
    /// ```
    /// assert_eq!(tape::Shape::from_slice(&[2, 3]).into_vec(), vec![2, 3]);
    /// ```
    #[inline]
    pub fn into_vec(self) -> Vec<usize> {
        self.0.into_vec()
    }
}

impl std::fmt::Debug for Shape {
    /// As a list, `[2, 3]`, the way error messages show shapes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

impl std::ops::Deref for Shape {
    type Target = [usize];
    #[inline]
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Shape {
    #[inline]
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl AsRef<[usize]> for Shape {
    #[inline]
    fn as_ref(&self) -> &[usize] {
        &self.0
    }
}

impl std::borrow::Borrow<[usize]> for Shape {
    #[inline]
    fn borrow(&self) -> &[usize] {
        &self.0
    }
}

impl From<&[usize]> for Shape {
    #[inline]
    fn from(dims: &[usize]) -> Self {
        Shape::from_slice(dims)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    #[inline]
    fn from(dims: [usize; N]) -> Self {
        Shape::from_slice(&dims)
    }
}

impl From<Vec<usize>> for Shape {
    #[inline]
    fn from(dims: Vec<usize>) -> Self {
        Shape::from_vec(dims)
    }
}

impl From<SmallVec<[usize; 4]>> for Shape {
    #[inline]
    fn from(dims: SmallVec<[usize; 4]>) -> Self {
        Shape(dims)
    }
}

impl From<Shape> for Vec<usize> {
    #[inline]
    fn from(s: Shape) -> Self {
        s.into_vec()
    }
}

impl FromIterator<usize> for Shape {
    #[inline]
    fn from_iter<I: IntoIterator<Item = usize>>(iter: I) -> Self {
        Shape(iter.into_iter().collect())
    }
}

impl Extend<usize> for Shape {
    #[inline]
    fn extend<I: IntoIterator<Item = usize>>(&mut self, iter: I) {
        self.0.extend(iter)
    }
}

impl IntoIterator for Shape {
    type Item = usize;
    type IntoIter = smallvec::IntoIter<[usize; 4]>;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Shape {
    type Item = &'a usize;
    type IntoIter = std::slice::Iter<'a, usize>;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a mut Shape {
    type Item = &'a mut usize;
    type IntoIter = std::slice::IterMut<'a, usize>;
    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter_mut()
    }
}

/// `Shape == rhs` and `rhs == Shape` for each kind of list of dimensions.
macro_rules! shape_eq {
    ($([$($gen:tt)*] $rhs:ty;)*) => {$(
        impl<$($gen)*> PartialEq<$rhs> for Shape {
            #[inline]
            fn eq(&self, other: &$rhs) -> bool {
                self.0[..] == other[..]
            }
        }
        impl<$($gen)*> PartialEq<Shape> for $rhs {
            #[inline]
            fn eq(&self, other: &Shape) -> bool {
                self[..] == other.0[..]
            }
        }
    )*};
}

shape_eq! {
    [] [usize];
    ['a] &'a [usize];
    ['a] &'a mut [usize];
    [const N: usize] [usize; N];
    ['a, const N: usize] &'a [usize; N];
    [] Vec<usize>;
    [] SmallVec<[usize; 4]>;
}

/// Number of elements of a shape (1 for a 0-d shape).
#[inline]
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides of a contiguous array of `shape`, in elements.
pub fn contiguous_strides(shape: &[usize]) -> Shape {
    let mut strides = Shape::from_elem(0, shape.len());
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
    let mut out = Shape::from_elem(0, n);
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
    let mut out = Shape::from_elem(0, to.len());
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
    let mut counter = Shape::from_elem(0, rank);
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

/// The walk of a broadcast shape in runs: stretches of consecutive output elements along which
/// each operand's index moves by a fixed step. Dimensions are merged from the innermost out
/// wherever both operands stay linear across them, so a contiguous array is one run, a bias
/// row added to a matrix is one run per row, and a scalar broadcast to any shape is one run
/// with step 0. Kernels choose their loop once per walk from the two steps (0: repeat an
/// element, 1: move through a contiguous slice) instead of once per element.
pub(crate) struct Runs {
    /// The outer dimensions, around the run.
    outer: Shape,
    /// Each operand's strides along the outer dimensions.
    a_outer: Shape,
    b_outer: Shape,
    /// Elements per run (0 when the shape has no elements).
    pub(crate) len: usize,
    /// How far each operand's index moves from one element of a run to the next.
    pub(crate) a_step: usize,
    pub(crate) b_step: usize,
}

impl Runs {
    /// The runs of the broadcast shape `out`, read through `a_strides` and `b_strides` (from
    /// [`broadcast_strides`], or any strides with one entry per dimension of `out`).
    pub(crate) fn new(out: &[usize], a_strides: &[usize], b_strides: &[usize]) -> Runs {
        let (mut len, mut a_step, mut b_step) = (1, 0, 0);
        let mut d = out.len();
        let mut started = false;
        // Grow the run outward while both operands stay linear; dimensions of size 1 merge
        // with anything.
        while d > 0 {
            let (n, sa, sb) = (out[d - 1], a_strides[d - 1], b_strides[d - 1]);
            if n != 1 {
                if !started {
                    (len, a_step, b_step, started) = (n, sa, sb, true);
                } else if sa == a_step * len && sb == b_step * len {
                    len *= n;
                } else {
                    break;
                }
            }
            d -= 1;
        }
        if numel(out) == 0 {
            len = 0;
        }
        Runs {
            outer: Shape::from_slice(&out[..d]),
            a_outer: Shape::from_slice(&a_strides[..d]),
            b_outer: Shape::from_slice(&b_strides[..d]),
            len,
            a_step,
            b_step,
        }
    }

    /// Calls `f(out_start, a_start, b_start)` for each run, in row-major order; run `k`
    /// starts at output element `k · len`.
    #[inline]
    pub(crate) fn for_each(&self, mut f: impl FnMut(usize, usize, usize)) {
        if self.len == 0 {
            return;
        }
        let runs = numel(&self.outer);
        let rank = self.outer.len();
        let mut counter = Shape::from_elem(0, rank);
        let (mut ia, mut ib) = (0usize, 0usize);
        for k in 0..runs {
            f(k * self.len, ia, ib);
            // Advance the outer counter, innermost first.
            for d in (0..rank).rev() {
                counter[d] += 1;
                ia += self.a_outer[d];
                ib += self.b_outer[d];
                if counter[d] < self.outer[d] {
                    break;
                }
                ia -= self.a_outer[d] * self.outer[d];
                ib -= self.b_outer[d] * self.outer[d];
                counter[d] = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each comparison is written in both directions and with references on purpose: every
    // one is a separate `PartialEq` impl under test.
    #[test]
    #[allow(clippy::op_ref)]
    fn shapes_compare_with_every_list_of_dimensions_both_ways() {
        let s = Shape::from_slice(&[2, 3]);
        let slice: &[usize] = &[2, 3];
        let mut dims = [2, 3];
        assert!(s == *slice);
        assert!(*slice == s);
        assert!(s == slice);
        assert!(slice == s);
        assert!(s == &mut dims[..]);
        assert!(&mut dims[..] == s);
        assert!(s == [2, 3]);
        assert!([2, 3] == s);
        assert!(s == &[2, 3]);
        assert!(&[2, 3] == s);
        assert!(s == vec![2, 3]);
        assert!(vec![2, 3] == s);
        assert!(s == SmallVec::<[usize; 4]>::from_slice(&[2, 3]));
        // And they tell shapes apart: another dimension, another rank.
        assert!(s != [2, 4] && s != [2, 3, 1] && s != [2] && [3, 2] != s);
        assert!(Shape::new() == [0usize; 0] && Shape::new() != [1]);
    }

    #[test]
    fn a_shape_hashes_as_its_slice() {
        // `Borrow<[usize]>` promises equal hashes, so a set of shapes can be searched by slice.
        let set: std::collections::HashSet<Shape> = [
            Shape::from_slice(&[2, 3]),
            Shape::from_slice(&[1, 2, 3, 4, 5]),
        ]
        .into();
        assert!(set.contains(&[2, 3][..]));
        assert!(set.contains(&[1, 2, 3, 4, 5][..]));
        assert!(!set.contains(&[3, 2][..]));
    }

    #[test]
    fn a_shape_prints_and_converts_as_a_list() {
        let s: Shape = vec![4, 1, 2].into();
        assert_eq!(format!("{s:?}"), "[4, 1, 2]");
        assert_eq!(Vec::from(s.clone()), vec![4, 1, 2]);
        assert_eq!(s.iter().rev().copied().collect::<Shape>(), [2, 1, 4]);
        let mut t = Shape::from([7usize, 8]);
        for d in &mut t {
            *d += 1;
        }
        assert_eq!(t.into_iter().collect::<Vec<_>>(), [8, 9]);
    }

    /// Every `(out, a, b)` index triple, by the per-element walk.
    fn elements(out: &[usize], sa: &[usize], sb: &[usize]) -> Vec<(usize, usize, usize)> {
        let mut v = Vec::new();
        for_each_broadcast(out, sa, sb, |i, a, b| v.push((i, a, b)));
        v
    }

    /// The same triples, expanded from the runs.
    fn from_runs(out: &[usize], sa: &[usize], sb: &[usize]) -> Vec<(usize, usize, usize)> {
        let runs = Runs::new(out, sa, sb);
        let mut v = Vec::new();
        runs.for_each(|i, a, b| {
            for j in 0..runs.len {
                v.push((i + j, a + j * runs.a_step, b + j * runs.b_step));
            }
        });
        v
    }

    #[test]
    fn runs_visit_the_same_elements_as_the_per_element_walk() {
        let shapes: [(&[usize], &[usize], &[usize]); 16] = [
            (&[40, 30], &[40, 30], &[40, 30]),
            (&[40, 30], &[30], &[40, 30]),
            (&[40, 30], &[], &[40, 30]),
            (&[40, 30], &[40, 1], &[30]),
            (&[2, 3, 4], &[3, 4], &[2, 1, 4]),
            (&[2, 3, 4], &[2, 3, 1], &[1, 3, 1]),
            (&[2, 1, 4], &[2, 1, 4], &[4]),
            (&[1, 1, 5], &[5], &[1]),
            (&[3, 1], &[3, 1], &[1]),
            (&[1], &[1], &[]),
            (&[], &[], &[]),
            (&[0, 3], &[3], &[0, 3]),
            (&[3, 0], &[1], &[3, 0]),
            (&[2, 3, 4, 5], &[3, 1, 5], &[2, 1, 4, 1]),
            (&[6, 1, 1], &[1, 1, 1], &[6, 1, 1]),
            (&[2, 2, 2, 2, 2], &[2, 1, 2, 1, 2], &[2, 2, 2, 2, 2]),
        ];
        for (out, a, b) in shapes {
            let (sa, sb) = (broadcast_strides(a, out), broadcast_strides(b, out));
            assert_eq!(
                from_runs(out, &sa, &sb),
                elements(out, &sa, &sb),
                "{out:?} from {a:?} and {b:?}"
            );
        }
        // Permuted strides (a transpose read in row-major order of the output).
        let out = [4, 3, 2];
        let sa = [1, 4, 12];
        let sb = contiguous_strides(&out);
        assert_eq!(from_runs(&out, &sa, &sb), elements(&out, &sa, &sb));
    }

    #[test]
    fn runs_merge_what_is_linear() {
        let out = [40, 30];
        let r = Runs::new(&out, &broadcast_strides(&[40, 30], &out), &[30, 1]);
        assert_eq!((r.len, r.a_step, r.b_step), (1200, 1, 1));
        let r = Runs::new(&out, &broadcast_strides(&[30], &out), &[30, 1]);
        assert_eq!((r.len, r.a_step, r.b_step), (30, 1, 1));
        let r = Runs::new(
            &out,
            &broadcast_strides(&[], &out),
            &broadcast_strides(&[], &out),
        );
        assert_eq!((r.len, r.a_step, r.b_step), (1200, 0, 0));
        let r = Runs::new(&out, &broadcast_strides(&[40, 1], &out), &[30, 1]);
        assert_eq!((r.len, r.a_step, r.b_step), (30, 0, 1));
    }
}
