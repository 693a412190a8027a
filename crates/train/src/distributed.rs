//! Data parallelism across processes: every process (a *rank*) holds the whole model, draws
//! the same batch order from the seed, computes the gradients of its own shard of each
//! global batch, and one all-reduce sums them, so that every rank applies the same update.
//!
//! [`Collective`] is what the trainer needs from the processes' transport: the rank, the
//! number of ranks, a sum over all ranks and a broadcast from rank 0. With the feature
//! `mpi`, [`MpiCommunicator`] implements it on MPI (through the `mpi` crate, on the
//! system's MPI library), and [`crate::trainer::Trainer::with_collective`] makes
//! [`crate::trainer::Trainer::fit`] data-parallel across the ranks:
//!
//! - at the start, the parameters are broadcast from rank 0;
//! - every rank draws the same shuffle and takes its contiguous shard of each global batch
//!   (the shards of [`crate::parallel`]: sizes differ by at most one);
//! - each step, one all-reduce sums the flat gradient buffer ([`crate::parallel::GradBuffer`],
//!   each rank's part weighted by its share of the batch), and a second one of three numbers
//!   sums the loss and the accuracy counts;
//! - a non-finite loss on any rank is a non-finite sum on every rank, so all of them stop
//!   with the same [`crate::TrainError::NonFinite`] and the same restored parameters.
//!
//! A batch is summed over ranks in the same way as over the threads of
//! [`crate::trainer::TrainConfig::workers`]: with two ranks the sum `s₀·g₀ + s₁·g₁` is
//! bit for bit the one two threads compute, and differs from one process only by the
//! rounding of that sum.
//!
//! Your own loop can use the same pieces: [`all_reduce_sum`] and [`broadcast`] take any
//! element type.
//!
//! ```
//! use train::distributed::{Collective, SingleProcess, all_reduce_sum};
//! // One process is the trivial group: the sum over ranks of a buffer is the buffer.
//! let world = SingleProcess;
//! let mut grads = vec![0.5f32, -1.0];
//! all_reduce_sum(&world, &mut grads)?;
//! assert_eq!((world.rank(), world.size(), grads), (0, 1, vec![0.5, -1.0]));
//! # Ok::<(), train::TrainError>(())
//! ```

use std::any::Any;

use tape::Element;

use crate::{Result, TrainError};

#[cfg(feature = "mpi")]
mod mpi_world;
#[cfg(feature = "mpi")]
pub use mpi_world::MpiCommunicator;

/// A group of processes that train one model together: what [`crate::trainer::Trainer`]
/// needs of the transport between them. Every rank must make the same calls in the same
/// order (the collectives of MPI).
///
/// The sums are elementwise over the ranks and leave the result on every rank; the
/// broadcasts copy rank 0's values to every rank. Implementations for `f32` and `f64` are
/// separate because transports send typed buffers; [`all_reduce_sum`] and [`broadcast`]
/// pick the right one for an [`Element`].
pub trait Collective {
    /// This process's rank, from 0 to [`Collective::size`] − 1.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// Replaces `values` by their elementwise sum over all ranks.
    ///
    /// # Errors
    /// The transport's error, if it reports one (MPI's default handler ends the whole job
    /// instead).
    fn sum_f64(&self, values: &mut [f64]) -> Result<()>;
    /// [`Collective::sum_f64`] for `f32` buffers.
    ///
    /// # Errors
    /// As [`Collective::sum_f64`].
    fn sum_f32(&self, values: &mut [f32]) -> Result<()>;
    /// Replaces `values` on every rank by rank 0's.
    ///
    /// # Errors
    /// As [`Collective::sum_f64`].
    fn broadcast_f64(&self, values: &mut [f64]) -> Result<()>;
    /// [`Collective::broadcast_f64`] for `f32` buffers.
    ///
    /// # Errors
    /// As [`Collective::sum_f64`].
    fn broadcast_f32(&self, values: &mut [f32]) -> Result<()>;
}

/// The group of one process: rank 0 of 1, whose sums and broadcasts leave every buffer as
/// it is. A trainer with it runs exactly as without a group.
///
/// ```
/// use train::distributed::{Collective, SingleProcess};
/// let mut v = [1.0, 2.0];
/// SingleProcess.sum_f64(&mut v)?;
/// assert_eq!(v, [1.0, 2.0]);
/// # Ok::<(), train::TrainError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SingleProcess;

impl Collective for SingleProcess {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn sum_f64(&self, _: &mut [f64]) -> Result<()> {
        Ok(())
    }
    fn sum_f32(&self, _: &mut [f32]) -> Result<()> {
        Ok(())
    }
    fn broadcast_f64(&self, _: &mut [f64]) -> Result<()> {
        Ok(())
    }
    fn broadcast_f32(&self, _: &mut [f32]) -> Result<()> {
        Ok(())
    }
}

/// Replaces `values` by their elementwise sum over the ranks of `group`, for either element
/// type.
///
/// # Errors
/// The group's error (see [`Collective::sum_f64`]).
///
/// ```
/// use train::distributed::{SingleProcess, all_reduce_sum};
/// let mut v = vec![3.0f64];
/// all_reduce_sum(&SingleProcess, &mut v)?;
/// assert_eq!(v, [3.0]);
/// # Ok::<(), train::TrainError>(())
/// ```
// A `Vec` rather than a slice: a sized type, so that `Any` can tell f32 from f64
// without unsafe code.
#[allow(clippy::ptr_arg)]
pub fn all_reduce_sum<T: Element>(group: &dyn Collective, values: &mut Vec<T>) -> Result<()> {
    let any: &mut dyn Any = values;
    if let Some(v) = any.downcast_mut::<Vec<f64>>() {
        return group.sum_f64(v);
    }
    match any.downcast_mut::<Vec<f32>>() {
        Some(v) => group.sum_f32(v),
        None => Err(unsupported::<T>("all_reduce_sum")),
    }
}

/// Replaces `values` on every rank of `group` by rank 0's, for either element type.
///
/// # Errors
/// The group's error (see [`Collective::sum_f64`]).
///
/// ```
/// use train::distributed::{SingleProcess, broadcast};
/// let mut v = vec![3.0f32];
/// broadcast(&SingleProcess, &mut v)?;
/// assert_eq!(v, [3.0]);
/// # Ok::<(), train::TrainError>(())
/// ```
// A `Vec` rather than a slice: a sized type, so that `Any` can tell f32 from f64
// without unsafe code.
#[allow(clippy::ptr_arg)]
pub fn broadcast<T: Element>(group: &dyn Collective, values: &mut Vec<T>) -> Result<()> {
    let any: &mut dyn Any = values;
    if let Some(v) = any.downcast_mut::<Vec<f64>>() {
        return group.broadcast_f64(v);
    }
    match any.downcast_mut::<Vec<f32>>() {
        Some(v) => group.broadcast_f32(v),
        None => Err(unsupported::<T>("broadcast")),
    }
}

fn unsupported<T: Element>(op: &'static str) -> TrainError {
    TrainError::invalid(op, format!("no transport for elements of type {}", T::NAME))
}

/// The samples `rank` takes of a global batch of `n` among `size` ranks: contiguous, in
/// rank order, the first `n % size` one larger than the rest (empty for the ranks past `n`
/// when the batch is smaller than the group).
pub(crate) fn rank_share(n: usize, size: usize, rank: usize) -> std::ops::Range<usize> {
    let (base, extra) = (n / size, n % size);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// Copies rank 0's parameters of `model` to every rank of `group`.
pub(crate) fn broadcast_params<T: Element, M: nn::Model<T>>(
    group: &dyn Collective,
    model: &mut M,
) -> Result<()> {
    let mut flat = Vec::new();
    model.visit_params(&mut |_, p| flat.extend_from_slice(p.data()));
    broadcast(group, &mut flat)?;
    let mut at = 0;
    model.visit_params_mut(&mut |_, p| {
        let n = p.len();
        p.data_mut().copy_from_slice(&flat[at..at + n]);
        at += n;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::rank_share;

    #[test]
    fn rank_shares_agree_with_the_thread_shards_and_cover_the_batch() {
        for n in 0..40 {
            for size in 1..6 {
                let ranges: Vec<_> = (0..size).map(|r| rank_share(n, size, r)).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[size - 1].end, n);
                assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
                let nonempty: Vec<_> = ranges.into_iter().filter(|r| !r.is_empty()).collect();
                if n > 0 {
                    assert_eq!(
                        nonempty,
                        crate::parallel::shards(n, size),
                        "n {n}, size {size}"
                    );
                }
            }
        }
    }
}
