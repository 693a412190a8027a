//! The element types a tape can hold: `f32` and `f64`.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use num_traits::Float;

use crate::Real;

/// A floating-point element type of tapes and arrays: implemented for `f32` and `f64`.
///
/// Everything numeric in tapegrad is generic over `T: Element`; the trait adds to
/// [`num_traits::Float`] the conversions and the matrix-multiply kernel the tape needs, and
/// [`Real`], so derivative rules evaluate on plain numbers. Where a method exists in both
/// (`exp`, `sin`, ...), generic code names the trait: `Float::exp(x)`.
///
/// ```
/// use tape::Element;
/// assert_eq!(<f32 as Element>::cast_from(0.5), 0.5f32);
/// assert_eq!(<f64 as Element>::NAME, "f64");
/// ```
pub trait Element:
    Float
    + Real
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// The type's name, as printed in tape listings (`"f32"` or `"f64"`).
    const NAME: &'static str;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn cast_from(v: f64) -> Self;

    /// Converts to `f64` exactly.
    fn as_f64(self) -> f64;

    /// This thread's cache of large buffers of this type (see `array::buffers`).
    #[doc(hidden)]
    fn buffer_cache()
    -> &'static std::thread::LocalKey<std::cell::RefCell<crate::array::buffers::BufferCache<Self>>>;

    /// `c = alpha * a · b + beta * c` on strided row-major matrices: `a` is `m × k`, `b` is
    /// `k × n`, `c` is `m × n`; strides are in elements, `(row stride, column stride)`.
    /// `threads` is how many threads the product may use.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        a_strides: (isize, isize),
        b: &[Self],
        b_strides: (isize, isize),
        beta: Self,
        c: &mut [Self],
        c_strides: (isize, isize),
        threads: usize,
    );
}

macro_rules! impl_element {
    ($t:ty, $name:literal) => {
        impl Element for $t {
            const NAME: &'static str = $name;
            #[inline]
            fn cast_from(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn as_f64(self) -> f64 {
                self as f64
            }
            fn buffer_cache() -> &'static std::thread::LocalKey<
                std::cell::RefCell<crate::array::buffers::BufferCache<Self>>,
            > {
                thread_local! {
                    static CACHE: std::cell::RefCell<crate::array::buffers::BufferCache<$t>> =
                        std::cell::RefCell::new(Default::default());
                }
                &CACHE
            }
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                a_strides: (isize, isize),
                b: &[Self],
                b_strides: (isize, isize),
                beta: Self,
                c: &mut [Self],
                c_strides: (isize, isize),
                threads: usize,
            ) {
                // Every access `gemm` makes lies inside the three slices: check the
                // furthest element each stride pattern reaches before handing over raw pointers.
                let reach = |rows: usize, cols: usize, (rs, cs): (isize, isize)| -> usize {
                    if rows == 0 || cols == 0 {
                        0
                    } else {
                        (rows - 1) * rs.unsigned_abs() + (cols - 1) * cs.unsigned_abs() + 1
                    }
                };
                assert!(
                    a_strides.0 >= 0 && a_strides.1 >= 0 && b_strides.0 >= 0 && b_strides.1 >= 0,
                    "internal error: gemm strides must be non-negative"
                );
                assert!(
                    c_strides.0 >= 0 && c_strides.1 >= 0,
                    "internal error: gemm strides must be non-negative"
                );
                assert!(
                    reach(m, k, a_strides) <= a.len(),
                    "internal error: gemm lhs too short"
                );
                assert!(
                    reach(k, n, b_strides) <= b.len(),
                    "internal error: gemm rhs too short"
                );
                assert!(
                    reach(m, n, c_strides) <= c.len(),
                    "internal error: gemm out too short"
                );
                if m == 0 || n == 0 {
                    return;
                }
                let parallelism = match threads {
                    1 => gemm::Parallelism::None,
                    t => gemm::Parallelism::Rayon(t),
                };
                // `gemm` computes `dst = alpha·dst + beta·lhs·rhs`, reading `dst` only when
                // asked to, and takes strides as (column stride, row stride).
                //
                // SAFETY: the asserts above prove that every index `i * rs + j * cs` with
                // `i < rows`, `j < cols` is inside the corresponding slice, which is all that
                // `gemm` reads (a, b) or writes (c). `c` is borrowed mutably, so it cannot
                // alias `a` or `b`. With k == 0 the kernel only scales c by beta.
                unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        c.as_mut_ptr(),
                        c_strides.1,
                        c_strides.0,
                        beta != 0.0,
                        a.as_ptr(),
                        a_strides.1,
                        a_strides.0,
                        b.as_ptr(),
                        b_strides.1,
                        b_strides.0,
                        beta,
                        alpha,
                        false,
                        false,
                        false,
                        parallelism,
                    );
                }
            }
        }
    };
}

impl_element!(f32, "f32");
impl_element!(f64, "f64");
