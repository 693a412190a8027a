//! [`Sampler`]: the order in which an epoch visits the samples, chosen by the caller.

/// The order of an epoch's samples, for
/// [`Trainer::with_sampler`](crate::trainer::Trainer::with_sampler): PyTorch's
/// `DataLoader(sampler=...)`.
///
/// `order(epoch, n_samples)` returns the indices of the samples to visit in epoch `epoch`,
/// in order, each below `n_samples`; consecutive runs of `batch_size` of them make the
/// batches (the last one may be smaller). An order may repeat samples or leave some out (as
/// a weighted sampler with replacement does). Any `Fn(usize, usize) -> Vec<usize>` is a
/// sampler.
///
/// ```
/// use train::data::Sampler;
/// // Every sample once, in reverse order, every epoch.
/// let reverse = |_epoch: usize, n: usize| (0..n).rev().collect::<Vec<_>>();
/// assert_eq!(reverse.order(0, 3), vec![2, 1, 0]);
/// ```
pub trait Sampler {
    /// The indices of the samples epoch `epoch` visits, in order, each below `n_samples`.
    fn order(&self, epoch: usize, n_samples: usize) -> Vec<usize>;
}

impl<F: Fn(usize, usize) -> Vec<usize>> Sampler for F {
    fn order(&self, epoch: usize, n_samples: usize) -> Vec<usize> {
        self(epoch, n_samples)
    }
}
