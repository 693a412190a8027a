//! Resume files: a model's parameters together with everything else a run needs to continue
//! as if it had never stopped — the optimiser's state, the epochs done, and the batch order's
//! seed — in one safetensors file. Written by [`Trainer::save_state`] (or after every epoch,
//! with [`Trainer::with_state_file`]) and read by [`Trainer::load_state`].
//!
//! The parameters keep their own names (`layers.0.weight`, ...), so the weights load into
//! PyTorch as from any checkpoint; the rest is kept apart under prefixes of its own:
//!
//! | name | where | what |
//! | --- | --- | --- |
//! | `optimizer.state.{param}.{slot}` | tensor | an optimiser array, flat: `momentum_buffer`, `exp_avg`, `exp_avg_sq` |
//! | `optimizer.state.{param}.step` | metadata | the parameter's update count (Adam, AdamW) |
//! | `optimizer.kind` | metadata | `sgd`, `adam` or `adamw` |
//! | `optimizer.{hyper}` | metadata | `momentum`, `beta1`, ...: must equal the optimiser's to resume |
//! | `train.epochs_done` | metadata | epochs completed: the next run starts at this epoch, which is also the schedule's position |
//! | `train.seed`, `train.batch_size` | metadata | the batch order: each epoch's shuffle is drawn from the seed and the epoch alone, so these two and the epoch are the whole state of the random stream |
//! | `train.lr` | metadata | the learning rate of the last epoch (informative) |
//!
//! In PyTorch, keep the model's entries: `{k: v for k, v in load_file(path).items() if not
//! k.startswith("optimizer.")}`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use nn::{Init, Linear};
//! use train::optim::{Sgd, SgdConfig};
//! use train::trainer::{TrainConfig, Trainer};
//! let path = std::env::temp_dir().join(format!("tapegrad-doc-resume-{}.safetensors", std::process::id()));
//! let model = Linear::<f32>::new(3, 2, Init::XavierUniform, 0);
//! let sgd = Sgd::<f32>::new(SgdConfig { momentum: 0.9, ..SgdConfig::default() })?;
//! Trainer::new(TrainConfig::default())?.save_state(&path, &model, &sgd, 4, &BTreeMap::new())?;
//! let ck = train::checkpoint::load::<f32>(&path)?;
//! assert_eq!(ck.metadata[train::resume::EPOCHS_DONE_KEY], "4");
//! assert_eq!(ck.metadata["optimizer.kind"], "sgd");
//! assert!(ck.tensors.contains_key("weight") && ck.tensors.contains_key("bias"));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Trainer::save_state`]: crate::trainer::Trainer::save_state
//! [`Trainer::with_state_file`]: crate::trainer::Trainer::with_state_file
//! [`Trainer::load_state`]: crate::trainer::Trainer::load_state

use std::collections::BTreeMap;
use std::path::Path;

use nn::Model;
use tape::{Array, Element};

use crate::checkpoint::{self, Checkpoint};
use crate::optim::{Optimizer, OptimizerState};
use crate::trainer::TrainConfig;
use crate::{Result, TrainError};

/// The prefix of every tensor and metadata key of the optimiser's state.
///
/// ```
/// assert_eq!(train::resume::OPTIMIZER_PREFIX, "optimizer.");
/// ```
pub const OPTIMIZER_PREFIX: &str = "optimizer.";

/// The metadata key of the number of epochs completed: where a resumed run starts.
///
/// ```
/// assert_eq!(train::resume::EPOCHS_DONE_KEY, "train.epochs_done");
/// ```
pub const EPOCHS_DONE_KEY: &str = "train.epochs_done";

const STATE_PREFIX: &str = "optimizer.state.";
const KIND_KEY: &str = "optimizer.kind";
const SEED_KEY: &str = "train.seed";
const BATCH_SIZE_KEY: &str = "train.batch_size";
const LR_KEY: &str = "train.lr";

/// Writes `model`'s parameters, `opt`'s state and the position of the run to `path`.
pub(crate) fn save<T: Element, M: Model<T>, O: Optimizer<T>>(
    path: &Path,
    config: &TrainConfig,
    model: &M,
    opt: &O,
    epochs_done: usize,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let position = Position {
        epochs_done,
        seed: config.seed,
        batch_size: config.batch_size,
        lr: opt.lr(),
    };
    save_parts(path, model, opt.state()?, &position, metadata)
}

/// Where a run stands: what [`save_parts`] records besides the model and optimiser.
pub(crate) struct Position {
    pub(crate) epochs_done: usize,
    pub(crate) seed: u64,
    pub(crate) batch_size: usize,
    pub(crate) lr: f64,
}

/// [`save`] from an optimiser state already taken out.
pub(crate) fn save_parts<T: Element, M: Model<T>>(
    path: &Path,
    model: &M,
    state: OptimizerState<T>,
    position: &Position,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    const OP: &str = "Trainer::save_state";
    let mut meta = metadata.clone();
    if let Some(key) = meta
        .keys()
        .find(|k| k.starts_with(OPTIMIZER_PREFIX) || k.starts_with("train."))
    {
        return Err(TrainError::invalid(
            OP,
            format!(
                "metadata key `{key}`: the prefixes `optimizer.` and `train.` are reserved for the training state"
            ),
        ));
    }
    meta.insert(KIND_KEY.into(), state.kind.clone());
    for (name, value) in &state.hyper {
        meta.insert(format!("{OPTIMIZER_PREFIX}{name}"), value.to_string());
    }
    for (param, step) in &state.steps {
        meta.insert(format!("{STATE_PREFIX}{param}.step"), step.to_string());
    }
    meta.insert(EPOCHS_DONE_KEY.into(), position.epochs_done.to_string());
    meta.insert(SEED_KEY.into(), position.seed.to_string());
    meta.insert(BATCH_SIZE_KEY.into(), position.batch_size.to_string());
    meta.insert(LR_KEY.into(), position.lr.to_string());

    let mut tensors: Vec<(String, Array<T>)> = Vec::new();
    model.visit_params(&mut |name, p| tensors.push((name.to_string(), p.clone())));
    if let Some((name, _)) = tensors
        .iter()
        .find(|(n, _)| n.starts_with(OPTIMIZER_PREFIX))
    {
        return Err(TrainError::invalid(
            OP,
            format!(
                "parameter `{name}`: the prefix `optimizer.` is reserved for the optimiser's state"
            ),
        ));
    }
    for (param, slots) in state.slots {
        for (slot, array) in slots {
            tensors.push((format!("{STATE_PREFIX}{param}.{slot}"), array));
        }
    }
    checkpoint::save(path, tensors.iter().map(|(n, a)| (n.as_str(), a)), &meta)
}

/// Reads a resume file into `model` and `opt`, after checking everything; returns the epochs
/// done and the caller's metadata (without the keys of the training state).
pub(crate) fn load<T: Element, M: Model<T>, O: Optimizer<T>>(
    path: &Path,
    config: &TrainConfig,
    model: &mut M,
    opt: &mut O,
) -> Result<(usize, BTreeMap<String, String>)> {
    let Checkpoint {
        mut tensors,
        mut metadata,
        ..
    } = checkpoint::load::<T>(path)?;
    let epochs_done = take_position(path, config, &mut metadata)?;
    let state = take_optimizer_state(path, &mut tensors, &mut metadata)?;

    // Every piece must fit the model before anything changes.
    let model_part = Checkpoint {
        tensors,
        metadata: BTreeMap::new(),
        path: path.to_path_buf(),
        checksum: checkpoint::Checksum::Absent,
    };
    let mut expected = Vec::new();
    model.visit_params(&mut |name, p| expected.push((name.to_string(), p.shape().to_vec())));
    model_part.check_params(expected.iter().map(|(n, s)| (n.as_str(), s.as_slice())))?;
    check_state_fits(path, &state, &expected)?;
    opt.load_state(state)
        .map_err(|e| TrainError::bad_file(path, format!("cannot resume the optimiser: {e}")))?;
    let mut tensors = model_part.tensors;
    model.visit_params_mut(&mut |name, p| {
        // Shared, as a layer's own parameters are: binding them to a tape stays free.
        *p = tensors
            .remove(name)
            .expect("internal error: a checked tensor is missing")
            .shared();
    });
    Ok((epochs_done as usize, metadata))
}

/// Takes the run's position out of `metadata`: the epochs done, after checking that the seed
/// and the batch size are this run's (else the batches would differ).
fn take_position(
    path: &Path,
    config: &TrainConfig,
    metadata: &mut BTreeMap<String, String>,
) -> Result<u64> {
    let bad = |message: String| TrainError::bad_file(path, message);
    let epochs_done = take_number(path, metadata, EPOCHS_DONE_KEY)?.ok_or_else(|| {
        bad(format!(
            "holds no training state (no `{EPOCHS_DONE_KEY}` in its metadata): it holds weights only; a run can be resumed from a file written with the training state (`--save-state`, `Trainer::save_state`)"
        ))
    })?;
    for (key, mine) in [
        (SEED_KEY, config.seed),
        (BATCH_SIZE_KEY, config.batch_size as u64),
    ] {
        match take_number(path, metadata, key)? {
            Some(theirs) if theirs != mine => {
                return Err(bad(format!(
                    "the run was saved with {} {theirs}, but this one has {mine}: the batches would not be those of the interrupted run",
                    key.trim_start_matches("train.")
                )));
            }
            Some(_) => {}
            None => return Err(bad(format!("`{key}` is missing from the metadata"))),
        }
    }
    metadata.remove(LR_KEY);
    Ok(epochs_done)
}

/// Takes the optimiser's part out of a resume file: its metadata (kind, hyper-parameters,
/// step counts) and its tensors, all under `optimizer.`.
fn take_optimizer_state<T: Element>(
    path: &Path,
    tensors: &mut BTreeMap<String, Array<T>>,
    metadata: &mut BTreeMap<String, String>,
) -> Result<OptimizerState<T>> {
    let bad = |message: String| TrainError::bad_file(path, message);
    let kind = metadata.remove(KIND_KEY).ok_or_else(|| {
        bad(format!(
            "`{KIND_KEY}` is missing from the metadata: the optimiser's state was not saved"
        ))
    })?;
    let mut state = OptimizerState::<T>::new(&kind, []);
    let keys: Vec<String> = metadata
        .keys()
        .filter(|k| k.starts_with(OPTIMIZER_PREFIX))
        .cloned()
        .collect();
    for key in keys {
        let value = metadata.remove(&key).expect("a listed key");
        if let Some(param) = key
            .strip_prefix(STATE_PREFIX)
            .and_then(|r| r.strip_suffix(".step"))
        {
            let step = value
                .parse::<u64>()
                .map_err(|_| bad(format!("metadata `{key}` is `{value}`, not a step count")))?;
            state.steps.insert(param.to_string(), step);
        } else {
            let name = &key[OPTIMIZER_PREFIX.len()..];
            let v = value
                .parse::<f64>()
                .map_err(|_| bad(format!("metadata `{key}` is `{value}`, not a number")))?;
            state.hyper.insert(name.to_string(), v);
        }
    }
    let names: Vec<String> = tensors
        .keys()
        .filter(|k| k.starts_with(OPTIMIZER_PREFIX))
        .cloned()
        .collect();
    for name in names {
        let array = tensors.remove(&name).expect("a listed tensor");
        let Some((param, slot)) = name
            .strip_prefix(STATE_PREFIX)
            .and_then(|r| r.rsplit_once('.'))
        else {
            return Err(TrainError::Checkpoint {
                path: path.to_path_buf(),
                tensor: name,
                message: "is not named `optimizer.state.<parameter>.<slot>`".into(),
            });
        };
        state
            .slots
            .entry(param.to_string())
            .or_default()
            .insert(slot.to_string(), array);
    }

    Ok(state)
}

/// Checks that every array of the optimiser's state belongs to a parameter of the model
/// (`expected`: names and shapes) and has as many elements.
fn check_state_fits<T: Element>(
    path: &Path,
    state: &OptimizerState<T>,
    expected: &[(String, Vec<usize>)],
) -> Result<()> {
    for (param, slots) in &state.slots {
        let Some((_, shape)) = expected.iter().find(|(n, _)| n == param) else {
            return Err(TrainError::Checkpoint {
                path: path.to_path_buf(),
                tensor: format!("{STATE_PREFIX}{param}"),
                message: format!(
                    "is the optimiser's state of `{param}`, which is not a parameter of the model"
                ),
            });
        };
        let len: usize = shape.iter().product();
        if let Some((slot, a)) = slots.iter().find(|(_, a)| a.len() != len) {
            return Err(TrainError::Checkpoint {
                path: path.to_path_buf(),
                tensor: format!("{STATE_PREFIX}{param}.{slot}"),
                message: format!(
                    "has {} elements, but parameter `{param}` has {len} (shape {shape:?})",
                    a.len()
                ),
            });
        }
    }
    Ok(())
}

/// Removes `key` from `metadata` and reads it as a whole number; `None` if absent.
fn take_number(
    path: &Path,
    metadata: &mut BTreeMap<String, String>,
    key: &str,
) -> Result<Option<u64>> {
    metadata
        .remove(key)
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                TrainError::bad_file(
                    path,
                    format!("metadata `{key}` is `{v}`, not a whole number"),
                )
            })
        })
        .transpose()
}
