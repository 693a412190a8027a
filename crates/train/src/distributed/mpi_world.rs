//! [`Collective`] on MPI's world communicator.

use std::cell::RefCell;

use mpi::collective::SystemOperation;
use mpi::datatype::Equivalence;
use mpi::environment::Universe;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, CommunicatorCollectives, Root};

use super::Collective;
use crate::{Result, TrainError};

/// Elements per MPI call: MPI counts are `int`s, so longer buffers go in pieces.
const CHUNK: usize = 1 << 30;

/// The processes `mpirun` started, as a [`Collective`]: MPI's world communicator.
///
/// Make one at the start of `main` and keep it until the end: MPI is initialised when it
/// is made and finalised when it is dropped, once per process.
///
/// ```no_run
/// use std::rc::Rc;
/// use train::distributed::{Collective, MpiCommunicator};
/// use train::trainer::{TrainConfig, Trainer};
///
/// let world = Rc::new(MpiCommunicator::init()?);
/// let trainer = Trainer::new(TrainConfig::default())?.with_collective(world.clone());
/// if world.rank() == 0 {
///     println!("training on {} ranks", world.size());
/// }
/// # Ok::<(), train::TrainError>(())
/// ```
///
/// MPI's default error handler stands: an error in a collective, such as a rank that
/// died, ends this process too, and `mpirun` ends the job with a message naming the rank.
pub struct MpiCommunicator {
    // Dropped before the universe, which finalises MPI.
    world: SimpleCommunicator,
    /// The copy of a buffer that a sum sends (MPI's all-reduce writes into another buffer),
    /// kept from call to call so that a step allocates nothing.
    sent_f64: RefCell<Vec<f64>>,
    sent_f32: RefCell<Vec<f32>>,
    _universe: Universe,
}

impl std::fmt::Debug for MpiCommunicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MpiCommunicator")
            .field("rank", &self.rank())
            .field("size", &self.size())
            .finish()
    }
}

impl MpiCommunicator {
    /// Initialises MPI and returns the world communicator. Outside `mpirun` it is a group
    /// of one process.
    ///
    /// # Errors
    /// [`TrainError::InvalidArgument`] if MPI was initialised already in this process.
    pub fn init() -> Result<Self> {
        let universe = mpi::initialize().ok_or_else(|| {
            TrainError::invalid(
                "MpiCommunicator::init",
                "MPI is initialised already in this process; make one MpiCommunicator and share it",
            )
        })?;
        Ok(MpiCommunicator {
            world: universe.world(),
            sent_f64: RefCell::new(Vec::new()),
            sent_f32: RefCell::new(Vec::new()),
            _universe: universe,
        })
    }

    /// Whether this process was started by an MPI launcher (`mpirun`, `mpiexec`, `srun`):
    /// whether its environment names a rank. A program that can run either way creates an
    /// [`MpiCommunicator`] only then.
    ///
    /// ```no_run
    /// use std::rc::Rc;
    /// use train::distributed::{Collective, MpiCommunicator, SingleProcess};
    /// let group: Rc<dyn Collective> = if MpiCommunicator::launched() {
    ///     Rc::new(MpiCommunicator::init()?)
    /// } else {
    ///     Rc::new(SingleProcess)
    /// };
    /// # Ok::<(), train::TrainError>(())
    /// ```
    pub fn launched() -> bool {
        ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"]
            .iter()
            .any(|v| std::env::var_os(v).is_some())
    }

    /// Ends every rank of the job now, with `code` as the exit status `mpirun` reports
    /// (`MPI_Abort`): for an error one rank met alone, while the others may be waiting for
    /// it in a collective.
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    fn sum<T: Equivalence + Copy>(&self, values: &mut [T], sent: &RefCell<Vec<T>>) {
        let mut sent = sent.borrow_mut();
        for chunk in values.chunks_mut(CHUNK) {
            sent.clear();
            sent.extend_from_slice(chunk);
            self.world
                .all_reduce_into(&sent[..], chunk, SystemOperation::sum());
        }
    }

    fn broadcast<T: Equivalence>(&self, values: &mut [T]) {
        let root = self.world.process_at_rank(0);
        for chunk in values.chunks_mut(CHUNK) {
            root.broadcast_into(chunk);
        }
    }
}

impl Collective for MpiCommunicator {
    fn rank(&self) -> usize {
        usize::try_from(self.world.rank()).expect("MPI ranks are not negative")
    }
    fn size(&self) -> usize {
        usize::try_from(self.world.size()).expect("MPI sizes are positive")
    }
    fn sum_f64(&self, values: &mut [f64]) -> Result<()> {
        self.sum(values, &self.sent_f64);
        Ok(())
    }
    fn sum_f32(&self, values: &mut [f32]) -> Result<()> {
        self.sum(values, &self.sent_f32);
        Ok(())
    }
    fn broadcast_f64(&self, values: &mut [f64]) -> Result<()> {
        self.broadcast(values);
        Ok(())
    }
    fn broadcast_f32(&self, values: &mut [f32]) -> Result<()> {
        self.broadcast(values);
        Ok(())
    }
}
