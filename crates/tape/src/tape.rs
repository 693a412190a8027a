//! [`Tape`]: the owner of one Wengert list.

use std::cell::RefCell;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backward::sweep::{Seed, sweep};
use crate::node::{MAX_NODES, ScalarNode, Tag};
use crate::tensor::op::TensorOp;
use crate::{Array, Element, Gradients, Scalar, TapeError, Tensor};

static NEXT_TAPE_ID: AtomicU64 = AtomicU64::new(1);
/// The id of the tapes of constants (other tapes are numbered from 1).
const CONSTANT_TAPE_ID: u64 = 0;

/// A recording of operations: the Wengert list that [`Scalar::backward`] and
/// [`Tape::vjp`] replay backwards.
///
/// Recording takes `&self`, so the handles it gives out ([`Scalar`], [`Tensor`]) are `Copy`
/// and borrow the tape: a handle cannot outlive its tape, and [`Tape::clear`], which takes
/// `&mut self`, cannot run while any handle is alive. There is no global state; a tape is a
/// value the caller owns.
///
/// ```
/// use tape::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(3.0);
/// let y = tape.var(4.0);
/// let r = (x * x + y * y).sqrt();          // r = 5
/// let g = r.backward();
/// assert_eq!(r.value(), 5.0);
/// assert!((g.wrt(x) - 0.6).abs() < 1e-15); // ∂r/∂x = x / r
/// assert!((g.wrt(y) - 0.8).abs() < 1e-15); // ∂r/∂y = y / r
/// ```
// `inner` first (hence `repr(C)`): a handle's tape pointer is then the address of the
// `RefCell`'s borrow flag, and recording addresses the list without an offset to add (W1's
// recording loop: 2 instructions per op fewer than with `inner` after the two ids).
#[repr(C)]
pub struct Tape<T: Element = f64> {
    pub(crate) inner: RefCell<Inner<T>>,
    pub(crate) id: u64,
    pub(crate) generation: u64,
}

/// The list itself. Scalar nodes and tensor nodes share one index space: every node has an
/// entry in `nodes` and in `values`; a tensor op's entry is tagged [`Tag::TENSOR`] and points
/// at its slot in `tensors`, which holds the op, its inputs and its value.
pub(crate) struct Inner<T: Element> {
    nodes: Vec<ScalarNode<T>>,
    /// Every node's value, for the nodes `0..nodes.len()`; the backward sweep, which needs no
    /// values, then reads 24 bytes per `f64` node rather than 32. Its length is what lets
    /// recording take the fast path ([`Tape::push_scalar`]): `nodes`'s capacity (at most
    /// [`MAX_NODES`]) while recording is plain, the entries past `nodes.len()` meaning nothing;
    /// `nodes.len()` while locations are kept and on the tape of constants, so that the fast
    /// path's test fails and those cases take the slow path ([`Inner::slow_only`]).
    values: Vec<T>,
    tensors: Vec<TensorNode<T>>,
    /// The input indices of every tensor node, one after another ([`TensorNode::inputs`] says
    /// where a node's are): kept out of the node so that it stays small to move.
    tensor_inputs: Vec<u32>,
    /// Indices of scalar constants, whose gradient is reported as zero.
    constants: Vec<u32>,
    anomaly: Option<Box<Anomaly>>,
    /// Whether this is a thread's tape of constants ([`ConstantTape`]), which records nothing.
    records_nothing: bool,
}

/// A node recorded by a tensor op.
pub(crate) struct TensorNode<T: Element> {
    /// Its index in the list.
    pub(crate) idx: u32,
    pub(crate) op: TensorOp<T>,
    /// Where the indices in the list of its inputs are in [`Inner::tensor_inputs`]: start
    /// and count (see [`Inner::inputs_of`]).
    pub(crate) inputs: (u32, u32),
    /// The value; 0-dimensional when the output is a scalar.
    pub(crate) value: Array<T>,
    /// Whether the output is a [`Scalar`] (its adjoint then lives with the scalar adjoints).
    pub(crate) scalar_out: bool,
}

/// State of anomaly detection, boxed so that a tape without it pays one pointer.
#[derive(Default)]
pub(crate) struct Anomaly {
    /// Where each node recorded while detection was on came from, by node index.
    pub(crate) locations: Vec<(u32, &'static Location<'static>)>,
    /// The first non-finite value recorded.
    pub(crate) first: Option<TapeError>,
    /// Whether non-finite values are detected; `false` when only locations are kept
    /// ([`Tape::set_location_tracking`]).
    pub(crate) detect: bool,
}

impl Anomaly {
    pub(crate) fn location_of(&self, node: usize) -> String {
        self.location(node).map_or_else(
            || "<recorded before anomaly detection was enabled>".to_string(),
            |l| l.to_string(),
        )
    }

    /// Where node `node` was recorded, if locations were being kept then.
    pub(crate) fn location(&self, node: usize) -> Option<&'static Location<'static>> {
        self.locations
            .binary_search_by_key(&(node as u32), |&(n, _)| n)
            .ok()
            .map(|i| self.locations[i].1)
    }
}

impl<T: Element> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Tape<T> {
    /// An empty tape.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert!(tape.is_empty());
    /// let x = tape.var(3.0);
    /// assert_eq!((x * x).backward().wrt(x), 6.0);
    /// ```
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty tape with room for `n` scalar nodes before it reallocates.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::with_capacity(1_000_000);
    /// assert_eq!(tape.len(), 0);
    /// ```
    pub fn with_capacity(n: usize) -> Self {
        let mut inner = Inner {
            nodes: Vec::with_capacity(n + 1),
            values: Vec::new(),
            tensors: Vec::new(),
            tensor_inputs: Vec::new(),
            constants: Vec::new(),
            anomaly: None,
            records_nothing: false,
        };
        inner.fit_values();
        inner.push_sink();
        Tape {
            id: NEXT_TAPE_ID.fetch_add(1, Ordering::Relaxed),
            generation: 0,
            inner: RefCell::new(inner),
        }
    }

    /// Number of recorded nodes (scalar and tensor).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(1.0);
    /// let _ = x.exp();
    /// assert_eq!(tape.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.inner.borrow().nodes.len() - 1
    }

    /// Whether nothing has been recorded.
    ///
    /// ```
    /// let tape = tape::Tape::<f32>::new();
    /// assert!(tape.is_empty());
    /// let x = tape.var(1.0);
    /// assert!(!tape.is_empty() && x.index() == 1);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every recorded node but keeps the allocated capacity, so that a training loop
    /// that records the same computation each step stops allocating for the scalar path after
    /// the first step. Anomaly detection stays as it was.
    ///
    /// Gradients computed before the clear can no longer be indexed by new handles (that
    /// panics rather than return another node's gradient).
    ///
    /// ```
    /// let mut tape = tape::Tape::<f64>::new();
    /// for step in 0..3 {
    ///     let x = tape.var(step as f64);
    ///     let y = x * x;
    ///     assert_eq!(y.backward().wrt(x), 2.0 * step as f64);
    ///     tape.clear();
    /// }
    /// assert!(tape.capacity() >= 2);
    /// ```
    pub fn clear(&mut self) {
        let inner = self.inner.get_mut();
        inner.nodes.clear();
        inner.tensors.clear();
        inner.tensor_inputs.clear();
        inner.constants.clear();
        if let Some(a) = inner.anomaly.as_mut() {
            a.locations.clear();
            a.first = None;
        }
        inner.push_sink();
        self.generation += 1;
    }

    /// How many scalar nodes fit before the list reallocates.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::with_capacity(100);
    /// let before = tape.capacity();
    /// assert!(before >= 100);
    /// let xs = tape.vars(&[1.0; 100]);
    /// assert_eq!((xs.len(), tape.capacity()), (100, before)); // no reallocation
    /// ```
    pub fn capacity(&self) -> usize {
        self.inner.borrow().nodes.capacity().saturating_sub(1)
    }

    /// Turns anomaly detection on or off.
    ///
    /// While it is on, every op checks its result: the first NaN or infinity is remembered
    /// with the op's name and the source location that recorded it (see [`Tape::anomaly`]),
    /// and [`Scalar::try_backward`] / [`Tape::vjp`] return it as an error, or report the first
    /// gradient that is not finite. Off by default: it costs a check per element.
    ///
    /// ```
    /// use tape::{Tape, TapeError};
    /// let tape = Tape::<f64>::new();
    /// tape.set_anomaly_detection(true);
    /// let x = tape.var(-1.0);
    /// let y = x.ln();                    // NaN
    /// let err = y.try_backward().unwrap_err();
    /// assert!(matches!(err, TapeError::NonFinite { .. }));
    /// assert!(err.to_string().contains("`ln`"));
    /// ```
    pub fn set_anomaly_detection(&self, on: bool) {
        let mut inner = self.inner.borrow_mut();
        if on {
            inner.anomaly.get_or_insert_with(Box::default).detect = true;
        } else {
            inner.anomaly = None;
        }
        inner.fit_values();
    }

    /// Turns on or off keeping the source location that recorded each op (the caller of the
    /// op's method, through `#[track_caller]`), without anomaly detection's checks of values.
    /// [`check::check_ops`](crate::check::check_ops) names a faulty op by it. Anomaly
    /// detection keeps locations too; turning this off while it is on changes nothing.
    ///
    /// Recording takes its slower path while locations are kept.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// tape.set_location_tracking(true);
    /// let x = tape.var(2.0);
    /// let y = x.exp(); let line = line!();
    /// let at = tape.location(y.index()).unwrap();
    /// assert_eq!(at.line(), line);
    /// assert!(!tape.anomaly_detection()); // values are not checked
    /// ```
    pub fn set_location_tracking(&self, on: bool) {
        let mut inner = self.inner.borrow_mut();
        if on {
            inner.anomaly.get_or_insert_with(Box::default);
        } else if inner.anomaly.as_ref().is_some_and(|a| !a.detect) {
            inner.anomaly = None;
        }
        inner.fit_values();
    }

    /// The source location that recorded node `node`, if locations were kept when it was
    /// recorded ([`Tape::set_location_tracking`] or anomaly detection).
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.var(1.0);
    /// assert!(tape.location(x.index()).is_none()); // not kept by default
    /// tape.set_location_tracking(true);
    /// let y = x.sin();
    /// assert!(tape.location(y.index()).unwrap().file().ends_with(".rs"));
    /// ```
    pub fn location(&self, node: usize) -> Option<&'static Location<'static>> {
        self.inner.borrow().anomaly.as_ref()?.location(node)
    }

    /// Whether anomaly detection is on.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert!(!tape.anomaly_detection()); // off by default
    /// tape.set_anomaly_detection(true);
    /// assert!(tape.anomaly_detection());
    /// ```
    pub fn anomaly_detection(&self) -> bool {
        self.inner.borrow().anomaly().is_some()
    }

    /// The first non-finite value recorded while anomaly detection was on, if any.
    ///
    /// ```
    /// use tape::{Tape, TapeError};
    /// let tape = Tape::<f64>::new();
    /// tape.set_anomaly_detection(true);
    /// let x = tape.var(0.0);
    /// assert!(tape.anomaly().is_none());
    /// let _nan = x / x; // 0/0
    /// assert!(matches!(tape.anomaly(), Some(TapeError::NonFinite { .. })));
    /// ```
    pub fn anomaly(&self) -> Option<TapeError> {
        self.inner.borrow().anomaly().and_then(|a| a.first.clone())
    }

    /// A scalar input to differentiate with respect to.
    ///
    /// ```
    /// let tape = tape::Tape::<f32>::new();
    /// let x = tape.var(2.0);
    /// assert_eq!(x.value(), 2.0);
    /// ```
    #[track_caller]
    pub fn var(&self, value: T) -> Scalar<'_, T> {
        let idx = self.push_scalar(ScalarNode::inert(Tag::LEAF), value);
        Scalar::from_parts(self, idx, value)
    }

    /// Several scalar inputs at once.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let xs = tape.vars(&[1.0, 2.0, 3.0]);
    /// assert_eq!(xs.len(), 3);
    /// ```
    #[track_caller]
    pub fn vars(&self, values: &[T]) -> Vec<Scalar<'_, T>> {
        values.iter().map(|&v| self.var(v)).collect()
    }

    /// A scalar constant: gradients do not flow into it.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let c = tape.constant(2.0);
    /// let x = tape.var(3.0);
    /// assert_eq!((c * x).backward().wrt(c), 0.0);
    /// ```
    #[track_caller]
    pub fn constant(&self, value: T) -> Scalar<'_, T> {
        let idx = self.push_scalar(ScalarNode::inert(Tag::CONST), value);
        if !self.is_constant_tape() {
            self.inner.borrow_mut().constants.push(idx);
        }
        Scalar::from_parts(self, idx, value)
    }

    /// A tensor input to differentiate with respect to.
    ///
    /// ```
    /// use tape::{Array, Tape};
    /// let tape = Tape::<f64>::new();
    /// let w = tape.tensor(Array::ones(&[2, 3]));
    /// assert_eq!(w.shape().as_slice(), &[2, 3]);
    /// ```
    #[track_caller]
    pub fn tensor(&self, value: Array<T>) -> Tensor<'_, T> {
        self.push_tensor(TensorOp::Leaf, &[], value)
    }

    /// A tensor input from a `Vec` and a shape.
    ///
    /// # Errors
    /// [`TapeError::InvalidArgument`] if the length does not match the shape.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let t = tape.tensor_from_vec(vec![1.0, 2.0, 3.0], &[3]).unwrap();
    /// assert_eq!(t.to_vec(), vec![1.0, 2.0, 3.0]);
    /// assert!(tape.tensor_from_vec(vec![1.0], &[2]).is_err());
    /// ```
    #[track_caller]
    pub fn tensor_from_vec(
        &self,
        data: Vec<T>,
        shape: &[usize],
    ) -> Result<Tensor<'_, T>, TapeError> {
        Ok(self.tensor(Array::from_vec(data, shape)?))
    }

    /// A tensor constant: gradients do not flow into it.
    ///
    /// ```
    /// use tape::{Array, Tape};
    /// let tape = Tape::<f64>::new();
    /// let c = tape.tensor_constant(Array::full(&[2], 3.0));
    /// let x = tape.tensor(Array::ones(&[2]));
    /// let g = (c * x).sum().backward();
    /// assert_eq!(g.wrt(c).data(), &[0.0, 0.0]);
    /// assert_eq!(g.wrt(x).data(), &[3.0, 3.0]);
    /// ```
    #[track_caller]
    pub fn tensor_constant(&self, value: Array<T>) -> Tensor<'_, T> {
        self.push_tensor(TensorOp::Constant, &[], value)
    }

    /// A tensor input of zeros.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let z = tape.zeros(&[2, 3]);
    /// assert_eq!(z.shape().as_slice(), &[2, 3]);
    /// assert_eq!(z.to_vec(), vec![0.0; 6]);
    /// ```
    #[track_caller]
    pub fn zeros(&self, shape: &[usize]) -> Tensor<'_, T> {
        self.tensor(Array::zeros(shape))
    }

    /// A tensor input of ones.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// let x = tape.ones(&[3]);
    /// assert_eq!(x.to_vec(), vec![1.0; 3]);
    /// assert_eq!((x * x).sum().backward().wrt(x).data(), &[2.0; 3]); // 2x
    /// ```
    #[track_caller]
    pub fn ones(&self, shape: &[usize]) -> Tensor<'_, T> {
        self.tensor(Array::ones(shape))
    }

    /// A tensor input filled with `v`.
    ///
    /// ```
    /// let tape = tape::Tape::<f64>::new();
    /// assert_eq!(tape.full(&[2], 1.5).to_vec(), vec![1.5, 1.5]);
    /// ```
    #[track_caller]
    pub fn full(&self, shape: &[usize], v: T) -> Tensor<'_, T> {
        self.tensor(Array::full(shape, v))
    }

    /// A tensor input of uniform samples in `[low, high)`, deterministic for a seed.
    ///
    /// ```
    /// use tape::{Array, Tape};
    /// let tape = Tape::<f64>::new();
    /// let t = tape.rand_uniform(&[100], 0.0, 2.0, 42);
    /// assert!(t.to_vec().iter().all(|&v| (0.0..2.0).contains(&v)));
    /// assert_eq!(t.value(), Array::rand_uniform(&[100], 0.0, 2.0, 42)); // same seed, same samples
    /// ```
    #[track_caller]
    pub fn rand_uniform(&self, shape: &[usize], low: T, high: T, seed: u64) -> Tensor<'_, T> {
        self.tensor(Array::rand_uniform(shape, low, high, seed))
    }

    /// A tensor input of normal samples, deterministic for a seed.
    ///
    /// ```
    /// use tape::{Array, Tape};
    /// let tape = Tape::<f64>::new();
    /// let t = tape.rand_normal(&[2, 3], 0.0, 1.0, 7);
    /// assert_eq!(t.value(), Array::rand_normal(&[2, 3], 0.0, 1.0, 7)); // same seed, same samples
    /// assert_eq!(tape.rand_normal(&[4], 5.0, 0.0, 1).to_vec(), vec![5.0; 4]); // std 0: the mean
    /// ```
    #[track_caller]
    pub fn rand_normal(&self, shape: &[usize], mean: T, std: T, seed: u64) -> Tensor<'_, T> {
        self.tensor(Array::rand_normal(shape, mean, std, seed))
    }

    /// A vector-Jacobian product: the gradients of `⟨cotangent, output⟩` with respect to every
    /// node recorded before `output`, i.e. `Jᵀ·cotangent`.
    ///
    /// # Errors
    /// [`TapeError::ShapeMismatch`] if `cotangent` does not have the output's shape; the errors
    /// of [`Scalar::try_backward`].
    ///
    /// ```
    /// use tape::{Array, Tape};
    /// let tape = Tape::<f64>::new();
    /// let x = tape.tensor_from_vec(vec![1.0, 2.0], &[2]).unwrap();
    /// let y = x * x;                                   // Jacobian diag(2x)
    /// let v = Array::from_vec(vec![1.0, 10.0], &[2]).unwrap();
    /// let g = tape.vjp(y, &v).unwrap();
    /// assert_eq!(g.wrt(x).data(), &[2.0, 40.0]);
    /// ```
    pub fn vjp(
        &self,
        output: Tensor<'_, T>,
        cotangent: &Array<T>,
    ) -> Result<Gradients<T>, TapeError> {
        TapeError::same_tape(self, output.tape, "vjp")?;
        let shape = output.shape();
        if shape.as_slice() != cotangent.shape() {
            return Err(TapeError::shape(
                "vjp",
                "cotangent shape differs from the output",
                &shape,
                cotangent.shape(),
            ));
        }
        let seed = Seed::Tensor {
            idx: output.idx as usize,
            slot: output.slot as usize,
            cotangent: cotangent.clone(),
        };
        sweep(self, seed)
    }

    // ---- recording -----------------------------------------------------------------------

    /// Appends a scalar node; the one borrow of the list per op.
    ///
    /// The common case (room in the list, below the node limit, anomaly detection off) is
    /// two comparisons and the stores, with no call on its path, so that the node's fields
    /// stay in registers; everything else goes to the out-of-line [`Inner::push_scalar_slow`].
    /// `values` is kept no longer than the node limit, and no longer than `nodes` while
    /// locations are kept or on the tape of constants, so its length test covers those cases.
    #[inline(always)]
    #[track_caller]
    pub(crate) fn push_scalar(&self, node: ScalarNode<T>, value: T) -> u32 {
        let mut inner = self.inner.borrow_mut();
        let Inner { nodes, values, .. } = &mut *inner;
        let values = values.as_mut_slice();
        let idx = nodes.len();
        if idx < nodes.capacity() && idx < values.len() {
            // Neither `push` nor the index can fail here: their own tests fold into these.
            nodes.push(node);
            values[idx] = value;
        } else {
            // The node goes by its fields: passed by reference it would be built in memory
            // on the fast path too.
            let [pa, pb] = node.partials;
            let words = node.words();
            inner.push_scalar_slow(pa, pb, value, words, Location::caller());
        }
        idx as u32
    }

    /// Appends a tensor node and returns a tensor handle to it.
    #[track_caller]
    pub(crate) fn push_tensor(
        &self,
        op: TensorOp<T>,
        inputs: &[u32],
        value: Array<T>,
    ) -> Tensor<'_, T> {
        let (idx, slot) = self.push_tensor_node(op, inputs, value, false);
        Tensor::from_parts(self, idx, slot)
    }

    /// Appends a tensor node whose output is a scalar, and returns a scalar handle to it.
    #[track_caller]
    pub(crate) fn push_tensor_scalar(
        &self,
        op: TensorOp<T>,
        inputs: &[u32],
        value: T,
    ) -> Scalar<'_, T> {
        let (idx, _) = self.push_tensor_node(op, inputs, Array::scalar(value), true);
        Scalar::from_parts(self, idx, value)
    }

    #[track_caller]
    fn push_tensor_node(
        &self,
        op: TensorOp<T>,
        inputs: &[u32],
        value: Array<T>,
        scalar_out: bool,
    ) -> (u32, u32) {
        let mut inner = self.inner.borrow_mut();
        let slot = inner.tensors.len() as u32;
        let v = if scalar_out {
            value.data()[0]
        } else {
            T::zero()
        };
        let idx = inner.push(
            ScalarNode::new(Tag::TENSOR, slot, 0, T::zero(), T::zero()),
            v,
        );
        let start = inner.tensor_inputs.len() as u32;
        inner.tensor_inputs.extend_from_slice(inputs);
        inner.tensors.push(TensorNode {
            idx: idx as u32,
            op,
            inputs: (start, inputs.len() as u32),
            value,
            scalar_out,
        });
        if inner.anomaly.is_some() {
            let bad = inner.tensors[slot as usize]
                .value
                .first_non_finite()
                .map(|(_, v)| v.as_f64());
            inner.note_anomaly(idx, bad, Location::caller());
        }
        (idx as u32, slot)
    }

    /// Checks that a handle belongs to this tape.
    #[inline]
    #[track_caller]
    pub(crate) fn same(&self, other: &Tape<T>, op: &str) {
        if !std::ptr::eq(self, other) {
            different_tapes(op);
        }
    }
}

#[cold]
#[inline(never)]
#[track_caller]
fn different_tapes(op: &str) -> ! {
    panic!("{op}: operands belong to different tapes")
}

#[cold]
#[inline(never)]
fn too_many_nodes() -> ! {
    panic!("tape is full: at most {MAX_NODES} nodes can be recorded; clear it between steps")
}

/// Reading the list: what the backward walks, the listing and the ops see of it.
impl<T: Element> Inner<T> {
    /// Number of nodes, the sink (node 0) included.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Node `j`.
    #[inline]
    pub(crate) fn node(&self, j: usize) -> &ScalarNode<T> {
        &self.nodes[j]
    }

    /// The nodes `range`, for the tight scalar loop of the backward sweep.
    #[inline]
    pub(crate) fn nodes(&self, range: std::ops::Range<usize>) -> &[ScalarNode<T>] {
        &self.nodes[range]
    }

    /// The value of scalar-valued node `j` (0 for a tensor-valued node).
    #[inline]
    pub(crate) fn value(&self, j: usize) -> T {
        self.values[j]
    }

    /// The tensor node in slot `slot` of the tensor list.
    #[inline]
    pub(crate) fn tensor(&self, slot: usize) -> &TensorNode<T> {
        &self.tensors[slot]
    }

    /// The value of the tensor in slot `slot`.
    #[inline]
    pub(crate) fn tensor_value(&self, slot: usize) -> &Array<T> {
        &self.tensors[slot].value
    }

    /// The tensor nodes, in recording order.
    #[inline]
    pub(crate) fn tensors(&self) -> &[TensorNode<T>] {
        &self.tensors
    }

    /// How many tensor nodes were recorded at or before node `out`.
    pub(crate) fn tensors_up_to(&self, out: usize) -> usize {
        self.tensors.partition_point(|t| t.idx as usize <= out)
    }

    /// The indices of the scalar constants.
    pub(crate) fn constants(&self) -> &[u32] {
        &self.constants
    }

    /// Anomaly detection's state, if it is on.
    #[inline]
    pub(crate) fn anomaly(&self) -> Option<&Anomaly> {
        self.anomaly.as_deref().filter(|a| a.detect)
    }

    /// Where node `j` was recorded, if locations were kept then.
    pub(crate) fn location(&self, j: usize) -> Option<&'static Location<'static>> {
        self.anomaly.as_ref()?.location(j)
    }

    /// Whether every node must take the slow recording path: while locations are kept, and on
    /// a tape of constants.
    fn slow_only(&self) -> bool {
        self.anomaly.is_some() || self.records_nothing
    }

    /// Whether node `j` is a scalar or tensor constant, whose gradient is reported as zero.
    pub(crate) fn is_constant(&self, j: usize) -> bool {
        let node = &self.nodes[j];
        match node.tag() {
            Tag::CONST => true,
            Tag::TENSOR => matches!(self.tensors[node.a()].op, TensorOp::Constant),
            _ => false,
        }
    }

    /// The tensor slot of node `j` if it is tensor-valued; `None` for a scalar, which may
    /// itself come from a tensor op such as `sum`.
    #[inline]
    pub(crate) fn tensor_slot(&self, j: usize) -> Option<usize> {
        let node = &self.nodes[j];
        (node.tag() == Tag::TENSOR && !self.tensors[node.a()].scalar_out).then(|| node.a())
    }

    /// The input indices of tensor node `tn`.
    #[inline]
    pub(crate) fn inputs_of(&self, tn: &TensorNode<T>) -> &[u32] {
        let (start, len) = (tn.inputs.0 as usize, tn.inputs.1 as usize);
        &self.tensor_inputs[start..start + len]
    }

    /// [`Tape::push_scalar`] when the list is full, at the node limit, anomaly detection is
    /// on, or on a tape of constants (which records nothing).
    #[cold]
    #[inline(never)]
    fn push_scalar_slow(
        &mut self,
        pa: T,
        pb: T,
        value: T,
        words: u64,
        location: &'static Location<'static>,
    ) {
        if self.records_nothing {
            return;
        }
        let idx = self.push_slow(pa, pb, value, words);
        if self.anomaly.is_some() {
            let bad = (!value.is_finite()).then(|| value.as_f64());
            self.note_anomaly(idx, bad, location);
        }
    }

    /// Appends a node and its value: the test of [`Tape::push_scalar`], and the rest out of
    /// line.
    #[inline]
    fn push(&mut self, node: ScalarNode<T>, value: T) -> usize {
        let idx = self.nodes.len();
        if idx < self.nodes.capacity() && idx < self.values.len() {
            self.nodes.push(node);
            self.values[idx] = value;
        } else {
            let [pa, pb] = node.partials;
            self.push_slow(pa, pb, value, node.words());
        }
        idx
    }

    /// [`Inner::push`] when the list is full, at the node limit, or while every node takes the
    /// slow path: grows the list (and `values` with it) or keeps `values` as long as `nodes`.
    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, pa: T, pb: T, value: T, words: u64) -> usize {
        let idx = self.nodes.len();
        if idx >= MAX_NODES {
            too_many_nodes();
        }
        let node = ScalarNode::from_words(pa, pb, words);
        if self.slow_only() {
            self.nodes.push(node);
            self.values.truncate(idx);
            self.values.push(value);
        } else {
            self.nodes.reserve(1);
            self.fit_values();
            self.nodes.push(node);
            self.values[idx] = value;
        }
        idx
    }

    /// Sets `values`'s length for the mode of recording (see [`Inner::values`]): `nodes`'s
    /// length if every node takes the slow path, else `nodes`'s capacity up to [`MAX_NODES`].
    /// A longer buffer is zeroed by the allocator (`vec![0.0; n]` asks for zeroed pages), so
    /// slots are only paid for once written.
    fn fit_values(&mut self) {
        let len = self.nodes.len();
        if self.slow_only() {
            self.values.truncate(len);
            return;
        }
        let cap = self.nodes.capacity().min(MAX_NODES);
        if self.values.len() < cap {
            let mut values = vec![T::zero(); cap];
            values[..len].copy_from_slice(&self.values[..len]);
            self.values = values;
        }
    }

    fn push_sink(&mut self) {
        self.push(ScalarNode::inert(Tag::SINK), T::zero());
    }

    /// The name of node `idx`'s op.
    pub(crate) fn op_name(&self, idx: usize) -> String {
        let node = &self.nodes[idx];
        match node.tag() {
            Tag::SINK => "sink".into(),
            Tag::LEAF => "var".into(),
            Tag::CONST => "constant".into(),
            Tag::CUSTOM => "custom".into(),
            Tag::TENSOR => self.tensors[node.a()].op.name(),
            tag => {
                let param = node.partials[1].as_f64();
                if let Some(u) = tag.unary(param) {
                    u.name().into()
                } else if let Some(b) = tag.binary() {
                    b.name().into()
                } else {
                    unreachable!("internal error: tag {tag:?} has no name")
                }
            }
        }
    }

    /// Remembers where node `idx` was recorded and, if `bad` (its first non-finite value) is
    /// the first anomaly, the error to report.
    #[cold]
    fn note_anomaly(&mut self, idx: usize, bad: Option<f64>, location: &'static Location<'static>) {
        let first_missing = self
            .anomaly
            .as_ref()
            .is_some_and(|a| a.detect && a.first.is_none());
        let err = match (bad, first_missing) {
            (Some(value), true) => Some(TapeError::NonFinite {
                what: "value",
                op: self.op_name(idx),
                node: idx,
                location: location.to_string(),
                value,
            }),
            _ => None,
        };
        let a = self
            .anomaly
            .as_mut()
            .expect("internal error: anomaly state missing");
        a.locations.push((idx as u32, location));
        if err.is_some() {
            a.first = err;
        }
    }
}

/// Each thread's tape of constants: the tape of every [`Scalar::constant`] (and of what
/// `Zero::zero`, `NumCast::from` and the other constructors of generic code give). It records
/// nothing (its id, 0, marks it), so that ops on constants fold to constants while the
/// recording path stays what it is without constants: one pointer comparison in
/// `Scalar::binary`, no test at all in `Scalar::unary`. One per thread and element type, made
/// on first use and kept for the thread's life (a few hundred bytes): a `Scalar` is not
/// `Send`, so a constant never meets another thread's.
///
/// Sealed: a supertrait of [`Element`], implemented for `f32` and `f64`.
pub trait ConstantTape: Sized {
    /// This thread's tape of constants.
    fn constant_tape() -> &'static Tape<Self>
    where
        Self: Element;
}

macro_rules! impl_constant_tape {
    ($t:ty) => {
        impl ConstantTape for $t {
            fn constant_tape() -> &'static Tape<$t> {
                thread_local! {
                    static TAPE: &'static Tape<$t> = Box::leak(Box::new(Tape::records_nothing()));
                }
                TAPE.with(|t| *t)
            }
        }
    };
}
impl_constant_tape!(f32);
impl_constant_tape!(f64);

impl<T: Element> Tape<T> {
    /// A tape that records nothing: the constant tape of [`ConstantTape`].
    fn records_nothing() -> Self {
        let mut tape = Tape::with_capacity(0);
        tape.id = CONSTANT_TAPE_ID;
        let inner = tape.inner.get_mut();
        inner.records_nothing = true;
        inner.fit_values();
        tape
    }

    /// Whether this is a thread's tape of constants (see [`ConstantTape`]).
    #[inline]
    pub(crate) fn is_constant_tape(&self) -> bool {
        self.id == CONSTANT_TAPE_ID
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The length of `values`, which decides the recording path, follows the mode: the
    /// capacity while recording is plain, the number of nodes while locations are kept, and
    /// values recorded on either path read back right after each switch.
    #[test]
    fn values_follow_the_mode_of_recording() {
        let tape = Tape::<f64>::with_capacity(4);
        let lens = |t: &Tape<f64>| {
            let inner = t.inner.borrow();
            (
                inner.nodes.len(),
                inner.values.len(),
                inner.nodes.capacity(),
            )
        };
        let x = tape.var(2.0);
        let (_, values, cap) = lens(&tape);
        assert_eq!(values, cap);
        tape.set_location_tracking(true);
        let (nodes, values, _) = lens(&tape);
        assert_eq!(values, nodes);
        let mut y = x;
        for _ in 0..10 {
            y *= x; // slow path, through several reallocations
            let (nodes, values, _) = lens(&tape);
            assert_eq!(values, nodes);
        }
        tape.set_location_tracking(false);
        let (_, values, cap) = lens(&tape);
        assert_eq!(values, cap.min(MAX_NODES));
        for _ in 0..10 {
            y *= x; // fast path, and the slow one when full
        }
        assert_eq!(y.value(), 2f64.powi(21));
        assert_eq!(y.backward().wrt(x), 21.0 * 2f64.powi(20));
        let inner = tape.inner.borrow();
        for j in 1..inner.len() {
            assert_eq!(inner.value(j), 2f64.powi(j as i32), "node {j}");
        }
    }

    /// The tape of constants keeps no node past the sink, and so no value.
    #[test]
    fn the_tape_of_constants_stays_empty() {
        let c = crate::Scalar::<f64>::constant(3.0);
        let d = (c * c).exp() + c;
        assert_eq!(d.value(), 9f64.exp() + 3.0);
        let tape = f64::constant_tape();
        let inner = tape.inner.borrow();
        assert_eq!((inner.nodes.len(), inner.values.len()), (1, 1));
    }

    /// A tensor node is moved into the list on every op: kept at 120 bytes, it is moved
    /// without a call to `memcpy` (136 or more were, and cost W4 about 2 ns an op).
    #[test]
    fn a_tensor_node_stays_small() {
        assert_eq!(std::mem::size_of::<super::TensorNode<f32>>(), 120);
        assert_eq!(std::mem::size_of::<super::TensorNode<f64>>(), 120);
    }
}
