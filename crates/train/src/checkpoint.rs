//! Checkpoints: named parameters in the safetensors format, written atomically.
//!
//! A checkpoint is a set of named arrays — `layers.0.weight`, `layers.0.bias`, ... — stored as
//! little-endian `F32` or `F64` tensors with their shapes, plus optional string metadata
//! (epoch, seed, ...) in the header's `__metadata__` table. Arrays are written as they are:
//! the nn crate keeps `Linear` weights in PyTorch's `[out, in]` layout, so
//! `safetensors.torch.load_file` followed by `load_state_dict` reads a tapegrad model.
//!
//! [`save`] never leaves a half-written file at the target path: it writes a temporary file
//! in the same directory, flushes it to disk, and renames it over the target (an atomic
//! replacement on POSIX file systems). [`load_into`] checks every name, shape and element
//! type before it touches any parameter, so a checkpoint that does not fit loses nothing.
//!
//! ```
//! use std::collections::BTreeMap;
//! use tape::Array;
//! use train::checkpoint;
//!
//! let dir = std::env::temp_dir().join(format!("tapegrad-doc-ckpt-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("model.safetensors");
//!
//! let w = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])?;
//! let b = Array::from_vec(vec![0.5f32, 0.0, -0.5], &[3])?;
//! let meta = BTreeMap::from([("epoch".to_string(), "7".to_string())]);
//! checkpoint::save(&path, [("layers.0.weight", &w), ("layers.0.bias", &b)], &meta)?;
//!
//! let (mut w2, mut b2) = (Array::zeros(&[3, 2]), Array::zeros(&[3]));
//! let meta2 = checkpoint::load_into(&path, [("layers.0.weight", &mut w2), ("layers.0.bias", &mut b2)])?;
//! assert_eq!((w2, b2), (w, b));
//! assert_eq!(meta2["epoch"], "7");
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use nn::{Model, NnError, StateDict};
use safetensors::{Dtype, SafeTensors, View};
use tape::{Array, Element};

use crate::{Result, TrainError};

/// The contents of a checkpoint file.
///
/// ```
/// use std::collections::BTreeMap;
/// use tape::Array;
/// use train::checkpoint;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-struct-{}.safetensors", std::process::id()));
/// let meta = BTreeMap::from([("epoch".to_string(), "3".to_string())]);
/// checkpoint::save(&path, [("bias", &Array::from_vec(vec![0.5f64], &[1])?)], &meta)?;
/// let ck = checkpoint::load::<f64>(&path)?;
/// assert_eq!((ck.tensors["bias"].data(), ck.metadata["epoch"].as_str()), (&[0.5][..], "3"));
/// assert_eq!(ck.path, path);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint<T: Element> {
    /// The tensors by name.
    pub tensors: BTreeMap<String, Array<T>>,
    /// The `__metadata__` table of the header (empty if there is none), without the
    /// checksum [`save`] adds ([`CHECKSUM_KEY`]).
    pub metadata: BTreeMap<String, String>,
    /// The file it was read from, for error messages.
    pub path: PathBuf,
    /// Whether the file carried a checksum (which then matched: a file whose checksum does
    /// not match is not loaded).
    pub checksum: Checksum,
}

/// The metadata key under which [`save`] stores a checksum of the tensors and the rest of
/// the metadata: `crc32:` and eight hexadecimal digits.
///
/// The CRC-32 runs over, for each tensor in order of name, its name, element type (`F32`,
/// `F64`), shape and little-endian data, then over each other metadata key and value in
/// order of key; every string and the data are preceded by their length in bytes and the
/// shape by its rank, each as a little-endian `u64`, and every dimension is a
/// little-endian `u64`.
///
/// ```
/// use std::collections::BTreeMap;
/// use tape::Array;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-crc-{}.safetensors", std::process::id()));
/// train::checkpoint::save(&path, [("w", &Array::<f32>::ones(&[2]))], &BTreeMap::new())?;
/// let mut bytes = std::fs::read(&path)?;
/// let header = String::from_utf8_lossy(&bytes[8..]).into_owned();
/// assert!(header.contains(&format!("\"{}\":\"crc32:", train::checkpoint::CHECKSUM_KEY)));
/// let last = bytes.len() - 1;
/// bytes[last] ^= 0x01; // one bit of the data
/// std::fs::write(&path, &bytes)?;
/// let err = train::checkpoint::load::<f32>(&path).unwrap_err();
/// assert!(err.to_string().contains("checksum"), "{err}");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const CHECKSUM_KEY: &str = "tapegrad_checksum";

/// Whether a loaded checkpoint carried a checksum.
///
/// ```
/// use std::collections::BTreeMap;
/// use tape::Array;
/// use train::checkpoint::{self, Checksum};
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-sum-{}.safetensors", std::process::id()));
/// checkpoint::save(&path, [("w", &Array::<f64>::ones(&[1]))], &BTreeMap::new())?;
/// assert_eq!(checkpoint::load::<f64>(&path)?.checksum, Checksum::Verified);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// The file had a checksum and it matched its contents.
    Verified,
    /// The file had none (written by another program, or by a tapegrad before checksums):
    /// its contents could not be verified.
    Absent,
}

/// Writes named arrays, and `metadata`, to a safetensors file at `path`, atomically: the
/// file at `path` is either the old one (or absent) or the complete new one, never a part.
///
/// The element type is `T`'s: `F32` for `f32`, `F64` for `f64`.
///
/// # Errors
/// [`TrainError::InvalidArgument`] if a name repeats or is `__metadata__`, or `path` has no
/// file name; [`TrainError::Io`] naming `path` if the file cannot be written (the directory
/// does not exist, the disk is full, ...) — then no file is left behind.
///
/// ```
/// use std::collections::BTreeMap;
/// use tape::Array;
/// use train::checkpoint;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-save-{}.safetensors", std::process::id()));
/// let w = Array::from_vec(vec![1.0f32, 2.0], &[1, 2])?;
/// checkpoint::save(&path, [("w", &w)], &BTreeMap::new())?;
/// assert_eq!(checkpoint::load::<f32>(&path)?.tensors["w"], w);
/// assert!(checkpoint::save(&path, [("w", &w), ("w", &w)], &BTreeMap::new()).is_err()); // repeated name
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save<'a, T: Element, N: AsRef<str> + 'a>(
    path: impl AsRef<Path>,
    tensors: impl IntoIterator<Item = (N, &'a Array<T>)>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    const OP: &str = "checkpoint::save";
    let path = path.as_ref();
    let dtype = dtype_of::<T>().ok_or_else(|| {
        TrainError::invalid(OP, format!("element type {} cannot be stored", T::NAME))
    })?;
    let mut views = Vec::new();
    for (name, array) in tensors {
        check_finite(OP, name.as_ref(), array)?;
        views.push((name.as_ref().to_string(), LeBytes::new(dtype, array)));
    }
    write_views(path, views, metadata)
}

/// Writes a model's parameters (see [`nn::Model::visit_params`]) under their names, with
/// `metadata`, atomically as [`save`] does.
///
/// ```
/// use std::collections::BTreeMap;
/// use nn::{Activation, Mlp, Model};
/// let dir = std::env::temp_dir().join(format!("tapegrad-doc-model-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("mlp.safetensors");
///
/// let trained = Mlp::<f32>::new(&[4, 8, 3], Activation::Relu, 1)?;
/// train::checkpoint::save_model(&path, &trained, &BTreeMap::new())?;
/// let mut fresh = Mlp::<f32>::new(&[4, 8, 3], Activation::Relu, 2)?;
/// train::checkpoint::load_model(&path, &mut fresh)?;
/// let params = |m: &Mlp<f32>| {
///     let mut v = Vec::new();
///     m.visit_params(&mut |_, p| v.push(p.clone()));
///     v
/// };
/// assert_eq!(params(&fresh), params(&trained));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`save`].
pub fn save_model<T: Element, M: Model<T>>(
    path: impl AsRef<Path>,
    model: &M,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    save_state_dict(path, &model.state_dict(), metadata)
}

/// Writes a [`StateDict`] — PyTorch's `torch.save(model.state_dict())`, in safetensors —
/// with `metadata`, atomically as [`save`] does. [`save_model`] is this with the model's
/// [`Model::state_dict`], and [`load_state_dict`] reads the map back, so a file and the map
/// it was written from hold the same names, shapes and values.
///
/// # Errors
/// As [`save`].
///
/// ```
/// use std::collections::BTreeMap;
/// use nn::{Activation, Mlp, Model};
/// use train::checkpoint;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-sd-{}.safetensors", std::process::id()));
/// let mlp = Mlp::<f32>::new(&[3, 4, 2], Activation::Relu, 0)?;
/// checkpoint::save_state_dict(&path, &mlp.state_dict(), &BTreeMap::new())?;
/// let (state, _meta) = checkpoint::load_state_dict::<f32>(&path)?;
/// assert_eq!(state.names(), ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"]);
/// for (name, array) in mlp.state_dict().iter() {
///     assert_eq!(state.get(name), Some(array));
/// }
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_state_dict<T: Element>(
    path: impl AsRef<Path>,
    state: &StateDict<T>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let dtype = dtype_of::<T>().ok_or_else(|| {
        TrainError::invalid(
            "checkpoint::save_model",
            format!("element type {} cannot be stored", T::NAME),
        )
    })?;
    let mut views = Vec::with_capacity(state.len());
    for (name, p) in state.iter() {
        check_finite("checkpoint::save_model", name, p)?;
        views.push((name.to_string(), LeBytes::new(dtype, p)));
    }
    write_views(path.as_ref(), views, metadata)
}

/// Reads a checkpoint as a [`StateDict`], with its metadata: [`load`] then
/// [`Checkpoint::into_state_dict`]. The entries come in order of name, the order safetensors
/// stores them in, which need not be the model's ([`nn::Model::load_state_dict`] matches
/// by name, so this does not matter for loading).
///
/// # Errors
/// As [`load`].
///
/// ```
/// use std::collections::BTreeMap;
/// use nn::{Init, Linear, Model};
/// use train::checkpoint;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-lsd-{}.safetensors", std::process::id()));
/// let layer = Linear::<f64>::new(2, 1, Init::XavierUniform, 3);
/// checkpoint::save_model(&path, &layer, &BTreeMap::new())?;
/// let (state, _) = checkpoint::load_state_dict::<f64>(&path)?;
/// let mut fresh = Linear::<f64>::new(2, 1, Init::Zeros, 0);
/// fresh.load_state_dict(&state)?;
/// assert_eq!(fresh, layer);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_state_dict<T: Element>(
    path: impl AsRef<Path>,
) -> Result<(StateDict<T>, BTreeMap<String, String>)> {
    let checkpoint = load::<T>(path)?;
    let metadata = checkpoint.metadata.clone();
    Ok((checkpoint.into_state_dict(), metadata))
}

/// Loads a checkpoint into a model's parameters (see [`nn::Model::visit_params_mut`]) and
/// returns its metadata. As with [`load_into`], every name and shape is checked first, and on
/// an error the model is unchanged.
///
/// # Errors
/// As [`load_into`].
///
/// ```
/// use std::collections::BTreeMap;
/// use nn::{Init, Linear};
/// use train::checkpoint;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-load-model-{}.safetensors", std::process::id()));
/// let trained = Linear::<f64>::new(3, 2, Init::XavierUniform, 7);
/// checkpoint::save_model(&path, &trained, &BTreeMap::new())?;
/// let mut fresh = Linear::<f64>::new(3, 2, Init::Zeros, 0);
/// checkpoint::load_model(&path, &mut fresh)?;
/// assert_eq!(fresh, trained);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_model<T: Element, M: Model<T>>(
    path: impl AsRef<Path>,
    model: &mut M,
) -> Result<BTreeMap<String, String>> {
    let checkpoint = load::<T>(path)?;
    // The file's own check first, so that an error names the file and speaks of it.
    let mut expected = Vec::new();
    model.visit_params(&mut |name, p| expected.push((name.to_string(), p.shape().to_vec())));
    checkpoint.check_params(expected.iter().map(|(n, s)| (n.as_str(), s.as_slice())))?;
    let metadata = checkpoint.metadata.clone();
    let path = checkpoint.path.clone();
    model
        .load_state_dict(&checkpoint.into_state_dict())
        .map_err(|e| match e {
            NnError::Parameter { name, message, .. } => TrainError::Checkpoint {
                path,
                tensor: name,
                message,
            },
            other => TrainError::from(other),
        })?;
    Ok(metadata)
}

/// Serialises `views` and `metadata` and writes them atomically to `path`.
fn write_views(
    path: &Path,
    views: Vec<(String, LeBytes)>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    const OP: &str = "checkpoint::save";
    let mut seen = std::collections::HashSet::new();
    for (name, _) in &views {
        if name == "__metadata__" {
            return Err(TrainError::invalid(
                OP,
                "`__metadata__` is reserved by the format and cannot name a tensor",
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(TrainError::invalid(
                OP,
                format!("tensor `{name}` is given twice"),
            ));
        }
    }
    let mut sorted: Vec<&(String, LeBytes)> = views.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let sum = checksum_of(
        sorted
            .iter()
            .map(|(n, v)| (n.as_str(), v.dtype, v.shape.as_slice(), v.bytes.as_slice())),
        metadata,
    );
    let info: HashMap<String, String> = metadata
        .iter()
        .filter(|(k, _)| *k != CHECKSUM_KEY)
        .map(|(k, v)| (k.clone(), v.clone()))
        .chain([(CHECKSUM_KEY.to_string(), sum)])
        .collect();
    let info = Some(info);
    let bytes = safetensors::serialize(views, info)
        .map_err(|e| TrainError::invalid(OP, format!("cannot serialise: {e}")))?;
    write_atomically(path, &bytes)
}

/// Reads every tensor of a safetensors file, and its metadata.
///
/// # Errors
/// [`TrainError::Io`] if the file cannot be read; [`TrainError::BadFile`] if it is not a
/// valid safetensors file (corrupt, truncated); [`TrainError::Checkpoint`] naming a tensor
/// whose element type is not `T`'s.
///
/// ```
/// use std::collections::BTreeMap;
/// use tape::Array;
/// use train::checkpoint;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-load-{}.safetensors", std::process::id()));
/// checkpoint::save(&path, [("w", &Array::<f64>::ones(&[2]))], &BTreeMap::new())?;
/// assert_eq!(checkpoint::load::<f64>(&path)?.tensors["w"].data(), &[1.0, 1.0]);
/// assert!(checkpoint::load::<f32>(&path).is_err()); // stored as F64
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load<T: Element>(path: impl AsRef<Path>) -> Result<Checkpoint<T>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    Checkpoint::from_bytes(&bytes, path)
}

impl<T: Element> Checkpoint<T> {
    /// [`load`] on the bytes of a file already in memory; `name` stands for the file in
    /// errors and becomes [`Checkpoint::path`].
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use tape::Array;
    /// use train::checkpoint::Checkpoint;
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-bytes-{}.safetensors", std::process::id()));
    /// train::checkpoint::save(&path, [("w", &Array::<f32>::ones(&[3]))], &BTreeMap::new())?;
    /// let bytes = std::fs::read(&path)?;
    /// let ck = Checkpoint::<f32>::from_bytes(&bytes, "in memory".as_ref())?;
    /// assert_eq!(ck.tensors["w"].data(), &[1.0, 1.0, 1.0]);
    /// let err = Checkpoint::<f32>::from_bytes(&bytes[..bytes.len() - 1], "in memory".as_ref());
    /// assert!(err.unwrap_err().to_string().starts_with("in memory: not a valid safetensors file"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`load`], without the I/O errors.
    pub fn from_bytes(bytes: &[u8], name: &Path) -> Result<Self> {
        let st = parse(bytes, name)?;
        let mut metadata = metadata_of(bytes, name)?;
        let stored_sum = metadata.remove(CHECKSUM_KEY);
        let mut tensors = BTreeMap::new();
        for (tensor, view) in st.iter() {
            check_dtype::<T>(name, tensor, view.dtype())?;
            let array = decode::<T>(view.data(), view.shape(), name)?;
            if let Some((i, v)) = array.first_non_finite() {
                return Err(TrainError::Checkpoint {
                    path: name.to_path_buf(),
                    tensor: tensor.to_string(),
                    message: format!(
                        "element {i} is {}; the parameters of a model must be finite numbers",
                        v.as_f64()
                    ),
                });
            }
            tensors.insert(tensor.to_string(), array);
        }
        let checksum = match stored_sum {
            None => Checksum::Absent,
            Some(stored) => {
                let mut views = st.iter().collect::<Vec<_>>();
                views.sort_by(|a, b| a.0.cmp(b.0));
                let actual = checksum_of(
                    views
                        .iter()
                        .map(|(n, v)| (*n, v.dtype(), v.shape(), v.data())),
                    &metadata,
                );
                if stored != actual {
                    return Err(TrainError::bad_file(
                        name,
                        format!(
                            "the checksum does not match the contents (stored {stored}, computed {actual}): the file was changed or damaged after it was written"
                        ),
                    ));
                }
                Checksum::Verified
            }
        };
        Ok(Checkpoint {
            tensors,
            metadata,
            path: name.to_path_buf(),
            checksum,
        })
    }
}

/// The value of [`CHECKSUM_KEY`] for these tensors (name, element type, shape, data; in
/// order of name) and this metadata (without the key itself).
fn checksum_of<'a>(
    tensors: impl Iterator<Item = (&'a str, Dtype, &'a [usize], &'a [u8])>,
    metadata: &BTreeMap<String, String>,
) -> String {
    let mut crc = crc32fast::Hasher::new();
    let mut bytes = |b: &[u8]| {
        crc.update(&(b.len() as u64).to_le_bytes());
        crc.update(b);
    };
    for (name, dtype, shape, data) in tensors {
        bytes(name.as_bytes());
        bytes(format!("{dtype:?}").as_bytes());
        let dims: Vec<u8> = shape
            .iter()
            .flat_map(|&d| (d as u64).to_le_bytes())
            .collect();
        bytes(&dims);
        bytes(data);
    }
    for (key, value) in metadata.iter().filter(|(k, _)| *k != CHECKSUM_KEY) {
        bytes(key.as_bytes());
        bytes(value.as_bytes());
    }
    format!("crc32:{:08x}", crc.finalize())
}

/// Loads a checkpoint into existing parameters, matched by name, and returns its metadata.
///
/// Everything is checked before anything is written (see [`Checkpoint::check_params`]):
/// every parameter must be in the file with the same shape and element type, and the file
/// must hold no tensor the parameters do not name (as PyTorch's `load_state_dict` with
/// `strict=True`). On any error the parameters are unchanged.
///
/// # Errors
/// The errors of [`load`] and of [`Checkpoint::check_params`].
///
/// ```
/// use std::collections::BTreeMap;
/// use tape::Array;
/// use train::checkpoint;
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-load-into-{}.safetensors", std::process::id()));
/// checkpoint::save(&path, [("w", &Array::from_vec(vec![1.0f64, 2.0], &[2])?)], &BTreeMap::new())?;
/// let mut w = Array::<f64>::zeros(&[2]);
/// checkpoint::load_into(&path, [("w", &mut w)])?;
/// assert_eq!(w.data(), &[1.0, 2.0]);
/// let mut wrong = Array::<f64>::zeros(&[3]);
/// assert!(checkpoint::load_into(&path, [("w", &mut wrong)]).is_err()); // shape differs
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_into<'a, T: Element, N: AsRef<str>>(
    path: impl AsRef<Path>,
    params: impl IntoIterator<Item = (N, &'a mut Array<T>)>,
) -> Result<BTreeMap<String, String>> {
    let mut checkpoint = load::<T>(path)?;
    let params: Vec<(N, &mut Array<T>)> = params.into_iter().collect();
    checkpoint.check_params(params.iter().map(|(name, p)| (name.as_ref(), p.shape())))?;
    // Everything fits: only now overwrite the parameters.
    for (name, param) in params {
        *param = checkpoint
            .tensors
            .remove(name.as_ref())
            .expect("internal error: a checked tensor is missing");
    }
    Ok(checkpoint.metadata)
}

impl<T: Element> Checkpoint<T> {
    /// The tensors as a [`StateDict`], each made [shared](Array::shared) (so that loading
    /// them into a model and binding it costs no copy), in order of name (the order
    /// safetensors stores them in).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use tape::Array;
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-into-sd-{}.safetensors", std::process::id()));
    /// train::checkpoint::save(&path, [("b", &Array::<f64>::ones(&[1])), ("a", &Array::zeros(&[2]))], &BTreeMap::new())?;
    /// let state = train::checkpoint::load::<f64>(&path)?.into_state_dict();
    /// assert_eq!(state.names(), ["a", "b"]);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_state_dict(self) -> StateDict<T> {
        self.tensors
            .into_iter()
            .map(|(name, array)| (name, array.shared()))
            .collect()
    }

    /// Checks that the checkpoint holds exactly the parameters `expected` names, each with
    /// the given shape — for models that hand out their parameters through a visitor, which
    /// can then move each tensor out of [`Checkpoint::tensors`] knowing it fits.
    ///
    /// ```
    /// # use std::collections::BTreeMap;
    /// # use tape::Array;
    /// # let dir = std::env::temp_dir().join(format!("tapegrad-doc-check-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("m.safetensors");
    /// let w = Array::<f64>::ones(&[2, 3]);
    /// train::checkpoint::save(&path, [("weight", &w)], &BTreeMap::new())?;
    /// let ck = train::checkpoint::load::<f64>(&path)?;
    /// assert!(ck.check_params([("weight", [2, 3])]).is_ok());
    /// let err = ck.check_params([("weight", [3, 2])]).unwrap_err();
    /// assert!(err.to_string().ends_with("tensor `weight`: shape [2, 3] in the file, but the parameter's is [3, 2]"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`TrainError::Checkpoint`] naming the file and the first tensor that is missing, has
    /// another shape, or is in the file but not expected; [`TrainError::InvalidArgument`] if
    /// an expected name repeats.
    pub fn check_params<N: AsRef<str>, S: AsRef<[usize]>>(
        &self,
        expected: impl IntoIterator<Item = (N, S)>,
    ) -> Result<()> {
        let mismatch = |tensor: &str, message: String| TrainError::Checkpoint {
            path: self.path.clone(),
            tensor: tensor.to_string(),
            message,
        };
        let mut seen = std::collections::HashSet::new();
        for (name, shape) in expected {
            let (name, shape) = (name.as_ref(), shape.as_ref());
            if !seen.insert(name.to_string()) {
                return Err(TrainError::invalid(
                    "Checkpoint::check_params",
                    format!("parameter `{name}` is given twice"),
                ));
            }
            let Some(stored) = self.tensors.get(name) else {
                let names = self.tensors.keys().map(String::as_str).collect();
                return Err(mismatch(
                    name,
                    format!("missing from the file (it holds {})", list_names(names)),
                ));
            };
            if stored.shape() != shape {
                return Err(mismatch(
                    name,
                    format!(
                        "shape {:?} in the file, but the parameter's is {shape:?}",
                        stored.shape()
                    ),
                ));
            }
        }
        if let Some(extra) = self.tensors.keys().find(|n| !seen.contains(n.as_str())) {
            return Err(mismatch(
                extra,
                "is in the file but is not a parameter of the model".into(),
            ));
        }
        Ok(())
    }
}

fn parse<'b>(bytes: &'b [u8], path: &Path) -> Result<SafeTensors<'b>> {
    SafeTensors::deserialize(bytes).map_err(|e| {
        TrainError::bad_file(
            path,
            format!("not a valid safetensors file (corrupt or truncated): {e}"),
        )
    })
}

fn metadata_of(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, String>> {
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| TrainError::bad_file(path, format!("not a valid safetensors file: {e}")))?;
    Ok(meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

fn dtype_of<T: Element>() -> Option<Dtype> {
    match T::NAME {
        "f32" => Some(Dtype::F32),
        "f64" => Some(Dtype::F64),
        _ => None,
    }
}

fn check_dtype<T: Element>(path: &Path, name: &str, dtype: Dtype) -> Result<()> {
    if Some(dtype) == dtype_of::<T>() {
        return Ok(());
    }
    let message = match dtype {
        Dtype::F32 | Dtype::F64 => {
            format!("stored as {dtype:?}, but the parameters are {}", T::NAME)
        }
        _ => format!("stored as {dtype:?}; only F32 and F64 tensors can be loaded"),
    };
    Err(TrainError::Checkpoint {
        path: path.to_path_buf(),
        tensor: name.to_string(),
        message,
    })
}

/// Decodes little-endian elements of `T`'s type (checked by the caller).
fn decode<T: Element>(data: &[u8], shape: &[usize], name: &Path) -> Result<Array<T>> {
    let width = if T::NAME == "f32" { 4 } else { 8 };
    let mut values: Vec<T> = Vec::new();
    values.try_reserve_exact(data.len() / width).map_err(|_| {
        TrainError::bad_file(
            name,
            format!("not enough memory for a tensor of {} bytes", data.len()),
        )
    })?;
    if width == 4 {
        values.extend(
            data.chunks_exact(4)
                .map(|c| T::cast_from(f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])))),
        );
    } else {
        values.extend(data.chunks_exact(8).map(|c| {
            T::cast_from(f64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]))
        }));
    }
    Ok(Array::from_vec(values, shape)?)
}

/// An error if an element of `array`, the tensor `name`, is NaN or infinite: a checkpoint
/// holds what can be loaded back, and [`load`] refuses non-finite values.
fn check_finite<T: Element>(op: &'static str, name: &str, array: &Array<T>) -> Result<()> {
    match array.first_non_finite() {
        None => Ok(()),
        Some((i, v)) => Err(TrainError::invalid(
            op,
            format!(
                "tensor `{name}`: element {i} is {}; only finite values can be saved",
                v.as_f64()
            ),
        )),
    }
}

fn list_names(mut names: Vec<&str>) -> String {
    names.sort_unstable();
    let quoted: Vec<String> = names.iter().take(6).map(|n| format!("`{n}`")).collect();
    match names.len() {
        0 => "no tensors".to_string(),
        n if n <= 6 => quoted.join(", "),
        n => format!("{}, … ({n} tensors)", quoted.join(", ")),
    }
}

/// An array encoded as little-endian bytes, for the safetensors writer.
struct LeBytes {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl LeBytes {
    fn new<T: Element>(dtype: Dtype, array: &Array<T>) -> Self {
        let bytes = match dtype {
            Dtype::F32 => array
                .data()
                .iter()
                .flat_map(|v| (v.as_f64() as f32).to_le_bytes())
                .collect(),
            _ => array
                .data()
                .iter()
                .flat_map(|v| v.as_f64().to_le_bytes())
                .collect(),
        };
        LeBytes {
            dtype,
            shape: array.shape().to_vec(),
            bytes,
        }
    }
}

impl View for LeBytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// Temporary files this process is writing, so that a signal handler can remove them before
/// the process ends (see [`temporary_files`]).
static IN_PROGRESS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The temporary files being written at this moment, locked: while the guard is held, no
/// save starts or ends. The command line's handler of SIGINT and SIGTERM removes them, then
/// ends the process with the guard still held.
pub(crate) fn temporary_files() -> MutexGuard<'static, Vec<PathBuf>> {
    IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The prefix of the names of the temporary files that saving to `file_name` uses:
/// `.{file_name}.tmp-`, followed by the process id and a counter.
fn temporary_prefix(file_name: &std::ffi::OsStr) -> String {
    format!(".{}.tmp-", file_name.to_string_lossy())
}

/// Removes temporary files of earlier saves to the same target whose process has ended (it
/// was killed with SIGKILL, or the machine lost its power). A temporary file's name holds
/// the id of the process writing it; that process is gone if it is not this one and
/// `/proc` does not list it (Linux), or if it is this one and the file is not among
/// [`temporary_files`]. Elsewhere no other process's file is removed.
fn remove_stale_temporaries(dir: &Path, file_name: &std::ffi::OsStr) {
    let prefix = temporary_prefix(file_name);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if entry.file_type().is_ok_and(|t| t.is_file()) && process_is_gone(pid, &entry.path()) {
            // Best effort: another process may have removed it first.
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether the process `pid` that named the temporary file `file` has ended.
fn process_is_gone(pid: u32, file: &Path) -> bool {
    if pid == std::process::id() {
        return !temporary_files()
            .iter()
            .any(|p| p.file_name() == file.file_name());
    }
    let proc_fs = Path::new("/proc");
    proc_fs.join("self").exists() && !proc_fs.join(pid.to_string()).exists()
}

/// Writes `bytes` to `path` through a temporary file in the same directory: write, flush to
/// disk, rename over `path`, then flush the directory entry. The temporary file is listed in
/// [`temporary_files`] while it exists; abandoned ones of earlier saves to the same target
/// are removed first.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file_name = path.file_name().ok_or_else(|| {
        TrainError::invalid(
            "checkpoint::save",
            format!("`{}` does not name a file", path.display()),
        )
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    remove_stale_temporaries(&dir, file_name);
    let tmp = dir.join(format!(
        "{}{}-{}",
        temporary_prefix(file_name),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    // Listed before it exists, so that a signal never finds a file it does not know of.
    temporary_files().push(tmp.clone());
    let written = (|| -> std::io::Result<()> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        // Best effort: the temporary file may not even have been created.
        let _ = std::fs::remove_file(&tmp);
    }
    temporary_files().retain(|p| *p != tmp);
    if let Err(e) = written {
        return Err(TrainError::io(path, e));
    }
    // Make the rename itself durable. Some platforms cannot open or sync a directory; the
    // file is complete and in place either way, so this step's failure is not an error.
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
