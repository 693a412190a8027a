//! The command line's model files: an [`Mlp`]'s parameters in safetensors, and in the
//! metadata what else it takes to apply it — the activation and the input standardisation.
//!
//! The tensors are exactly the model's parameters (`layers.{i}.weight` `[out, in]`,
//! `layers.{i}.bias` `[out]`), so PyTorch loads them into an `nn.Sequential` of `Linear`
//! layers with `strict=True`; the architecture is read back from their shapes. The metadata
//! (strings, as safetensors requires) holds:
//!
//! | key | value |
//! | --- | --- |
//! | `format` | `tapegrad-mlp` |
//! | `activation` | `relu`, `tanh`, `sigmoid`, `gelu`, `silu` or `leaky-relu` (slope 0.01) |
//! | `sizes` | the layer widths, e.g. `64,256,128,10` (informative: the shapes decide) |
//! | `input_mean`, `input_std` | per feature, comma-separated: inputs are `(x − mean) / std` |
//! | `test_fraction`, `split_seed`, `split` | how the test part was drawn, for data without its own split (`split`: `selection-sampling`, the algorithm of [`crate::data::Dataset::split`]) |
//! | others | what it was trained on and how (`data`, `epochs`, `optimizer`, `lr`, ...) |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nn::{Linear, Mlp, Model};
use safetensors::{Dtype as StDtype, SafeTensors};
use tape::{Array, Element};

use super::args::ActivationName;
use crate::checkpoint;
use crate::data::Standardizer;
use crate::{Result, TrainError};

/// The value of the `split` metadata key: how [`crate::data::Dataset::split`] chooses the
/// test part. A file without it, but with a `split_seed`, was written when the split was
/// the first rows of a seeded permutation, whose rows this version does not draw.
pub(crate) const SPLIT_METHOD: &str = "selection-sampling";

/// The value of the `format` metadata key.
pub(crate) const FORMAT: &str = "tapegrad-mlp";

/// A model read back from a file.
pub(crate) struct SavedMlp<T: Element> {
    pub(crate) mlp: Mlp<T>,
    pub(crate) activation: ActivationName,
    pub(crate) scaler: Option<Standardizer>,
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) path: PathBuf,
    /// Whether the file's checksum was verified, or it had none.
    pub(crate) checksum: checkpoint::Checksum,
}

/// A model in whichever element type it was saved in.
pub(crate) enum AnySavedMlp {
    F32(SavedMlp<f32>),
    F64(SavedMlp<f64>),
}

/// The metadata describing `activation` and `scaler`, to which a caller adds its own keys.
pub(crate) fn metadata_for<T: Element>(
    mlp: &Mlp<T>,
    activation: ActivationName,
    scaler: Option<&Standardizer>,
) -> BTreeMap<String, String> {
    let mut meta = BTreeMap::new();
    meta.insert("format".into(), FORMAT.into());
    meta.insert("activation".into(), activation.name().into());
    meta.insert("sizes".into(), join(&mlp.sizes()));
    meta.insert(
        "tapegrad_version".into(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    if let Some(s) = scaler {
        // `{}` prints the shortest decimal that reads back as the same f64.
        meta.insert("input_mean".into(), join(s.mean()));
        meta.insert("input_std".into(), join(s.std()));
    }
    meta
}

/// Saves `mlp` with `metadata`, atomically.
pub(crate) fn save<T: Element>(
    path: &Path,
    mlp: &Mlp<T>,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    checkpoint::save_model(path, mlp, metadata)
}

/// [`load`], with a note on standard error if the file carries no checksum.
pub(crate) fn load_noting(path: &Path) -> Result<AnySavedMlp> {
    let saved = load(path)?;
    let checksum = match &saved {
        AnySavedMlp::F32(m) => m.checksum,
        AnySavedMlp::F64(m) => m.checksum,
    };
    if checksum == checkpoint::Checksum::Absent {
        eprintln!(
            "note: {} carries no checksum (it was written by another program or an older tapegrad), so damage to it cannot be detected",
            path.display()
        );
    }
    Ok(saved)
}

/// Reads a model file in the element type it was saved in.
pub(crate) fn load(path: &Path) -> Result<AnySavedMlp> {
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| {
        TrainError::bad_file(
            path,
            format!("not a valid safetensors file (corrupt or truncated): {e}"),
        )
    })?;
    let dtype = st.iter().next().map(|(_, view)| view.dtype());
    drop(st);
    match dtype {
        Some(StDtype::F64) => Ok(AnySavedMlp::F64(load_as(path)?)),
        Some(StDtype::F32) => Ok(AnySavedMlp::F32(load_as(path)?)),
        Some(other) => Err(TrainError::bad_file(
            path,
            format!("holds {other:?} tensors; only F32 and F64 models can be loaded"),
        )),
        None => Err(TrainError::bad_file(path, "holds no tensors")),
    }
}

/// Reads a model file whose tensors are `T`'s.
fn load_as<T: Element>(path: &Path) -> Result<SavedMlp<T>> {
    let mut ck = checkpoint::load::<T>(path)?;
    // A file written with `--save-state` also holds the optimiser's arrays; they are not
    // layers.
    ck.tensors
        .retain(|name, _| !name.starts_with(crate::resume::OPTIMIZER_PREFIX));
    let activation = activation_of(path, &ck.metadata)?;
    let layers = take_layers(path, &mut ck.tensors, &ck.metadata)?;
    let mlp = Mlp::from_layers(layers, activation.activation())
        .map_err(|e| TrainError::bad_file(path, format!("the layers do not chain: {e}")))?;
    let scaler = scaler_of(path, &ck.metadata, mlp.sizes()[0])?;
    Ok(SavedMlp {
        mlp,
        activation,
        scaler,
        metadata: ck.metadata,
        path: path.to_path_buf(),
        checksum: ck.checksum,
    })
}

/// The activation the metadata names.
fn activation_of(path: &Path, metadata: &BTreeMap<String, String>) -> Result<ActivationName> {
    match metadata.get("activation") {
        Some(name) => ActivationName::from_name(name).ok_or_else(|| {
            TrainError::bad_file(
                path,
                format!(
                    "metadata `activation` is `{name}`, which is not an activation tapegrad knows"
                ),
            )
        }),
        None => Err(TrainError::bad_file(
            path,
            "has no `activation` in its metadata; it was not saved by `tapegrad train --save`",
        )),
    }
}

/// Takes `layers.0.weight`, `layers.0.bias`, `layers.1.weight`, ... out of `tensors` as
/// linear layers, after checking that they make an MLP: every name is a layer's weight or
/// bias, every layer from 0 to the last has both, each weight is `[out, in]` with a bias of
/// `[out]`, each layer takes the outputs of the one before, and the metadata's `sizes`, if
/// present, is the chain the shapes make (so a file that lost its last layer is refused).
fn take_layers<T: Element>(
    path: &Path,
    tensors: &mut BTreeMap<String, Array<T>>,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<Linear<T>>> {
    let n_layers = count_layers(path, tensors)?;
    let mut layers: Vec<Linear<T>> = Vec::with_capacity(n_layers);
    for i in 0..n_layers {
        let layer = take_layer(path, tensors, i, n_layers, layers.last())?;
        layers.push(layer);
    }
    check_sizes(path, metadata, &layers)?;
    Ok(layers)
}

/// The number of layers the tensors' names make: one more than the largest index, so that a
/// layer missing in the middle is reported as missing rather than ending the model early.
/// Every name must be a layer's weight or bias, since a tensor that is neither would otherwise
/// be left behind unread; and a file with no layer at all is not an MLP.
fn count_layers<T: Element>(path: &Path, tensors: &BTreeMap<String, Array<T>>) -> Result<usize> {
    let mut n_layers = 0;
    for name in tensors.keys() {
        match layer_of(name) {
            Some(i) => n_layers = n_layers.max(i + 1),
            None => {
                return Err(bad_tensor(
                    path,
                    name,
                    "is not a parameter of an MLP saved by tapegrad (`layers.<i>.weight`, `layers.<i>.bias`)".into(),
                ));
            }
        }
    }
    if n_layers == 0 {
        return Err(TrainError::bad_file(
            path,
            "holds no tensors `layers.<i>.weight`: it is not an MLP saved by tapegrad",
        ));
    }
    Ok(n_layers)
}

/// Takes layer `i` of `n_layers` out of `tensors`, after checking that its weight and bias are
/// both there and have shapes that make a layer following `previous`.
fn take_layer<T: Element>(
    path: &Path,
    tensors: &mut BTreeMap<String, Array<T>>,
    i: usize,
    n_layers: usize,
    previous: Option<&Linear<T>>,
) -> Result<Linear<T>> {
    let (w_name, b_name) = (format!("layers.{i}.weight"), format!("layers.{i}.bias"));
    let missing = |name: &str| {
        bad_tensor(
            path,
            name,
            format!(
                "is missing: every layer of a tapegrad MLP has a weight and a bias, and the file has layers 0 to {}",
                n_layers - 1
            ),
        )
    };
    let weight = tensors.remove(&w_name).ok_or_else(|| missing(&w_name))?;
    let bias = tensors.remove(&b_name).ok_or_else(|| missing(&b_name))?;
    check_layer_shapes(path, i, &weight, &bias, previous)?;
    Linear::from_arrays(weight, Some(bias))
        .map_err(|e| TrainError::bad_file(path, format!("layer {i} is not a linear layer: {e}")))
}

/// Checks that layer `i`'s weight is `[out, in]` with neither zero, that its bias is `[out]`,
/// and that it takes the outputs of `previous`. These checks come before
/// [`Linear::from_arrays`] so that an error names the tensor at fault and, for a broken chain,
/// the layer it does not fit.
fn check_layer_shapes<T: Element>(
    path: &Path,
    i: usize,
    weight: &Array<T>,
    bias: &Array<T>,
    previous: Option<&Linear<T>>,
) -> Result<()> {
    let (w_name, b_name) = (format!("layers.{i}.weight"), format!("layers.{i}.bias"));
    let [n_out, n_in] = weight.shape() else {
        return Err(bad_tensor(
            path,
            &w_name,
            format!(
                "shape {:?}: a weight must be [outputs, inputs]",
                weight.shape()
            ),
        ));
    };
    let (n_out, n_in) = (*n_out, *n_in);
    if bias.shape() != [n_out] {
        return Err(bad_tensor(
            path,
            &b_name,
            format!(
                "shape {:?}, but `{w_name}` is {:?}: the bias must be [{n_out}]",
                bias.shape(),
                weight.shape()
            ),
        ));
    }
    if n_in == 0 || n_out == 0 {
        return Err(bad_tensor(
            path,
            &w_name,
            format!(
                "shape {:?}: a layer needs at least one input and one output",
                weight.shape()
            ),
        ));
    }
    if let Some(previous) = previous {
        if previous.n_out() != n_in {
            return Err(bad_tensor(
                path,
                &w_name,
                format!(
                    "shape {:?} takes {n_in} inputs, but layer {} has {} outputs",
                    weight.shape(),
                    i - 1,
                    previous.n_out()
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the metadata's `sizes`, if present, against the chain of widths the layers make.
/// The shapes alone cannot tell that the last layers were dropped, since what remains still
/// chains; `sizes` was written from the whole model, so it can.
fn check_sizes<T: Element>(
    path: &Path,
    metadata: &BTreeMap<String, String>,
    layers: &[Linear<T>],
) -> Result<()> {
    let Some(sizes) = metadata.get("sizes") else {
        return Ok(());
    };
    let mut chain = vec![layers[0].n_in()];
    chain.extend(layers.iter().map(Linear::n_out));
    if *sizes != join(&chain) {
        let made: Vec<String> = chain.iter().map(usize::to_string).collect();
        return Err(TrainError::bad_file(
            path,
            format!(
                "metadata `sizes` is {sizes}, but the tensors make {}: a layer is missing or was changed",
                made.join("-")
            ),
        ));
    }
    Ok(())
}

/// An error about the tensor called `tensor` in the model file at `path`.
fn bad_tensor(path: &Path, tensor: &str, message: String) -> TrainError {
    TrainError::Checkpoint {
        path: path.to_path_buf(),
        tensor: tensor.to_string(),
        message,
    }
}

/// `i` for `layers.{i}.weight` and `layers.{i}.bias` (decimal, no leading zeros).
fn layer_of(name: &str) -> Option<usize> {
    let rest = name.strip_prefix("layers.")?;
    let (index, kind) = rest.split_once('.')?;
    let canonical = index == "0" || (!index.starts_with('0') && !index.is_empty());
    let i: usize = index.parse().ok().filter(|_| canonical)?;
    matches!(kind, "weight" | "bias").then_some(i)
}

/// The input standardisation in the metadata, if any, for a model of `n_in` inputs.
fn scaler_of(
    path: &Path,
    metadata: &BTreeMap<String, String>,
    n_in: usize,
) -> Result<Option<Standardizer>> {
    let (mean, std) = match (metadata.get("input_mean"), metadata.get("input_std")) {
        (Some(mean), Some(std)) => (mean, std),
        (None, None) => return Ok(None),
        _ => {
            return Err(TrainError::bad_file(
                path,
                "metadata has only one of `input_mean` and `input_std`",
            ));
        }
    };
    let mean = parse_list(path, "input_mean", mean)?;
    let std = parse_list(path, "input_std", std)?;
    if mean.len() != n_in {
        return Err(TrainError::bad_file(
            path,
            format!(
                "metadata `input_mean` has {} values but the model takes {n_in} features",
                mean.len()
            ),
        ));
    }
    Standardizer::from_parts(mean, std)
        .map(Some)
        .map_err(|e| TrainError::bad_file(path, format!("metadata: {e}")))
}

impl<T: Element> SavedMlp<T> {
    /// `64-256-128-10 MLP (relu), f32, 51,082 parameters`.
    pub(crate) fn describe(&self) -> String {
        describe(&self.mlp, self.activation)
    }

    /// A number from the metadata, if present; an error if present but not a number.
    pub(crate) fn meta_number<N: std::str::FromStr>(&self, key: &str) -> Result<Option<N>> {
        self.metadata
            .get(key)
            .map(|v| {
                v.parse::<N>().map_err(|_| {
                    TrainError::bad_file(
                        &self.path,
                        format!("metadata `{key}` is `{v}`, not a number"),
                    )
                })
            })
            .transpose()
    }
}

/// `64-256-128-10 MLP (relu), f32, 51,082 parameters`.
pub(crate) fn describe<T: Element>(mlp: &Mlp<T>, activation: ActivationName) -> String {
    let sizes: Vec<String> = mlp.sizes().iter().map(usize::to_string).collect();
    format!(
        "{} MLP ({}), {}, {} parameters",
        sizes.join("-"),
        activation.name(),
        T::NAME,
        thousands(mlp.num_params())
    )
}

/// `51082` → `51,082`.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn join<V: std::fmt::Display>(values: &[V]) -> String {
    values
        .iter()
        .map(V::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_list(path: &Path, key: &str, text: &str) -> Result<Vec<f64>> {
    text.split(',')
        .enumerate()
        .map(|(i, v)| match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(TrainError::bad_file(
                path,
                format!("metadata `{key}`: value {i}, `{v}`, is not a finite number"),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(235_146), "235,146");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
