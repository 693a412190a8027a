//! The elements of an [`Array`](super::Array): a vector of its own, or one shared with clones
//! until one of them is changed (copy on write).
//!
//! Intermediate results own their vector: nothing else refers to them, and a shared count would
//! only cost an allocation per op. A model's parameters are shared ([`Array::shared`]): binding
//! them onto a tape each step clones them, and a shared clone is a reference count, not a copy
//! of the elements. An update writes in place when the tape has let go of its clone (after
//! [`Tape::clear`](crate::Tape::clear)) and copies first otherwise, so values never alias.
//!
//! [`Array::shared`]: super::Array::shared

use std::ops::Deref;
use std::sync::Arc;

use super::buffers;
use crate::Element;

pub(crate) enum Storage<T> {
    /// Elements no other array refers to.
    Owned(Vec<T>),
    /// Elements shared by reference count with clones of the array.
    Shared(Arc<Vec<T>>),
    /// `len` elements from `start` of a vector shared with other arrays: a range of rows of a
    /// shared array ([`Array::rows`](super::Array::rows)), made without copying.
    View {
        all: Arc<Vec<T>>,
        start: usize,
        len: usize,
    },
}

impl<T> Deref for Storage<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            Storage::Owned(v) => v,
            Storage::Shared(v) => v,
            Storage::View { all, start, len } => &all[*start..*start + *len],
        }
    }
}

impl<T: Element> Storage<T> {
    /// A copy of the elements: a reference for shared storage, a copy (into a recycled buffer
    /// where one fits) otherwise.
    pub(crate) fn duplicate(&self) -> Self {
        match self {
            Storage::Owned(v) => Storage::Owned(copy_of(v)),
            Storage::Shared(v) => Storage::Shared(Arc::clone(v)),
            Storage::View { all, start, len } => Storage::View {
                all: Arc::clone(all),
                start: *start,
                len: *len,
            },
        }
    }

    /// The elements, mutably: copied first if they are shared with another array (which keeps
    /// its values); shared storage stays shared, so later clones stay cheap.
    pub(crate) fn make_mut(&mut self) -> &mut [T] {
        if let Storage::View { .. } = self {
            // A view's elements are part of another array's: the changed copy is its own.
            *self = Storage::Owned(copy_of(self));
        }
        match self {
            Storage::Owned(v) => v,
            Storage::Shared(v) => {
                if Arc::get_mut(v).is_none() {
                    *v = Arc::new(copy_of(v));
                }
                Arc::get_mut(v).expect("a freshly copied vector has one owner")
            }
            Storage::View { .. } => unreachable!("a view was made owned above"),
        }
    }

    /// The vector, taken out (copied if shared with another array); leaves an empty vector.
    pub(crate) fn take_vec(&mut self) -> Vec<T> {
        match std::mem::replace(self, Storage::Owned(Vec::new())) {
            Storage::Owned(v) => v,
            Storage::Shared(v) => Arc::try_unwrap(v).unwrap_or_else(|v| copy_of(&v)),
            Storage::View { all, start, len } => copy_of(&all[start..start + len]),
        }
    }

    /// Converts owned elements to shared ones (a no-op for shared storage).
    pub(crate) fn into_shared(self) -> Self {
        match self {
            Storage::Owned(v) => Storage::Shared(Arc::new(v)),
            shared => shared,
        }
    }

    /// Whether no other array refers to the elements (changing them in place is then safe).
    pub(crate) fn is_unique(&mut self) -> bool {
        match self {
            Storage::Owned(_) => true,
            Storage::Shared(v) => Arc::get_mut(v).is_some(),
            Storage::View { .. } => false,
        }
    }

    pub(crate) fn is_shared(&self) -> bool {
        matches!(self, Storage::Shared(_) | Storage::View { .. })
    }

    /// `len` elements from `start`, without copying when they are shared (the result then
    /// refers to the same vector); copied otherwise. The range must lie inside.
    pub(crate) fn range(&self, start: usize, len: usize) -> Self {
        match self {
            Storage::Owned(v) => Storage::Owned(copy_of(&v[start..start + len])),
            Storage::Shared(all) => Storage::View {
                all: Arc::clone(all),
                start,
                len,
            },
            Storage::View { all, start: s, .. } => Storage::View {
                all: Arc::clone(all),
                start: s + start,
                len,
            },
        }
    }

    /// The vector, for recycling when the array is dropped: only if no other array refers to
    /// it.
    pub(crate) fn release(&mut self) -> Option<Vec<T>> {
        match self {
            Storage::Owned(v) => Some(std::mem::take(v)),
            Storage::Shared(v) => Arc::get_mut(v).map(std::mem::take),
            Storage::View { .. } => None,
        }
    }
}

fn copy_of<T: Element>(v: &[T]) -> Vec<T> {
    let mut data = buffers::with_capacity(v.len());
    data.extend_from_slice(v);
    data
}

impl<T> From<Vec<T>> for Storage<T> {
    fn from(v: Vec<T>) -> Self {
        Storage::Owned(v)
    }
}

impl<T> FromIterator<T> for Storage<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Storage::Owned(iter.into_iter().collect())
    }
}

impl<'a, T> IntoIterator for &'a Storage<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
