//! Conversions between `Array` and the array types of other numeric crates, each behind the
//! cargo feature of the same name: `ndarray` and `nalgebra`.
//!
//! An `Array` keeps its elements in one contiguous row-major buffer, owned or shared by
//! reference count (`array/storage.rs`). A conversion hands that buffer over, or takes the
//! other crate's buffer, whenever the other side stores the same elements in the same order;
//! otherwise it copies once, in row-major order. Every item says which case it is.

#[cfg(feature = "nalgebra")]
mod nalgebra;
#[cfg(feature = "ndarray")]
mod ndarray;
