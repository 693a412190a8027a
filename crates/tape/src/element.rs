//! The element types a tape can hold: `f32` and `f64`.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use num_traits::Float;

use crate::Real;
use crate::array::buffers::Cached;
use crate::parallel::Gemm;
use crate::tape::ConstantTape;

/// A floating-point element type of tapes and arrays: implemented for `f32` and `f64`.
///
/// Everything numeric in tapegrad is generic over `T: Element`; the trait adds to
/// [`num_traits::Float`] the type's name and conversions from and to `f64`, and [`Real`], so
/// derivative rules evaluate on plain numbers. Where a method exists in both (`exp`, `sin`,
/// ...), generic code names the trait: `Float::exp(x)`.
///
/// The trait is sealed: supertraits private to the crate, implemented for `f32` and `f64`
/// beside the code that needs them (the matrix-multiply call, the per-thread buffer cache and
/// the per-thread tape of constants), keep other types out, since those exist for these two
/// types only.
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
    + Gemm
    + Cached
    + ConstantTape
{
    /// The type's name, as printed in tape listings (`"f32"` or `"f64"`).
    const NAME: &'static str;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn cast_from(v: f64) -> Self;

    /// Converts to `f64` exactly.
    fn as_f64(self) -> f64;
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
        }
    };
}

impl_element!(f32, "f32");
impl_element!(f64, "f64");
