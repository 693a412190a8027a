//! Checkpoints: round trips, the safetensors layout, atomic writes, and every mismatch.

use std::collections::BTreeMap;

use tape::Array;
use train::TrainError;
use train::checkpoint::{self, load, load_into, save};

use crate::common::TempDir;

fn model_f32() -> (Array<f32>, Array<f32>) {
    let w = Array::from_vec(vec![1.0f32, -2.0, 3.5, 0.25, -0.125, 6.0], &[3, 2]).unwrap();
    let b = Array::from_vec(vec![0.5f32, f32::MIN_POSITIVE, -7.0], &[3]).unwrap();
    (w, b)
}

fn meta() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("epoch".to_string(), "12".to_string()),
        ("seed".to_string(), "42".to_string()),
    ])
}

#[test]
fn round_trip_f32_and_f64_with_metadata() {
    let dir = TempDir::new("ckpt-roundtrip");
    let path = dir.path().join("m.safetensors");
    let (w, b) = model_f32();
    save(
        &path,
        [("layers.0.weight", &w), ("layers.0.bias", &b)],
        &meta(),
    )
    .unwrap();
    let ck = load::<f32>(&path).unwrap();
    assert_eq!(ck.tensors.len(), 2);
    assert_eq!(ck.tensors["layers.0.weight"], w);
    assert_eq!(ck.tensors["layers.0.bias"], b);
    assert_eq!(ck.metadata, meta());

    let x = Array::from_vec(vec![std::f64::consts::PI, -1e-300, 1e300], &[1, 3]).unwrap();
    let s = Array::scalar(2.5f64);
    save(&path, [("x", &x), ("s", &s)], &BTreeMap::new()).unwrap();
    let ck = load::<f64>(&path).unwrap();
    assert_eq!(ck.tensors["x"], x);
    assert_eq!(ck.tensors["s"], s);
    assert!(ck.metadata.is_empty());
}

#[test]
fn the_file_is_plain_safetensors() {
    // Layout: u64 little-endian header length, JSON header, then the raw little-endian data.
    let dir = TempDir::new("ckpt-layout");
    let path = dir.path().join("m.safetensors");
    let w = Array::from_vec(vec![1.0f32, 2.0], &[1, 2]).unwrap();
    save(&path, [("weight", &w)], &meta()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
    assert!(
        header.contains(r#""weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}"#),
        "{header}"
    );
    assert!(header.contains(r#""__metadata__":{"#), "{header}");
    assert!(header.contains(r#""epoch":"12""#), "{header}");
    let data = &bytes[8 + n..];
    assert_eq!(data, [1.0f32.to_le_bytes(), 2.0f32.to_le_bytes()].concat());
}

#[test]
fn load_into_fills_matching_parameters() {
    let dir = TempDir::new("ckpt-into");
    let path = dir.path().join("m.safetensors");
    let (w, b) = model_f32();
    save(&path, [("w", &w), ("b", &b)], &meta()).unwrap();
    let (mut w2, mut b2) = (Array::<f32>::zeros(&[3, 2]), Array::<f32>::zeros(&[3]));
    let m = load_into(&path, [("b", &mut b2), ("w", &mut w2)]).unwrap();
    assert_eq!((w2, b2), (w, b));
    assert_eq!(m["seed"], "42");
}

/// Saves `w` `[3, 2]` and `b` `[3]` in f32, tries to load them into `params`, and returns
/// the error after checking that nothing was written.
fn load_into_error(dir: &TempDir, params: Vec<(&str, Array<f32>)>) -> TrainError {
    let path = dir.path().join("m.safetensors");
    let (w, b) = model_f32();
    save(&path, [("w", &w), ("b", &b)], &BTreeMap::new()).unwrap();
    let mut params = params;
    let before: Vec<Array<f32>> = params.iter().map(|(_, a)| a.clone()).collect();
    let err = load_into(&path, params.iter_mut().map(|(n, a)| (*n, a))).unwrap_err();
    for ((_, after), before) in params.iter().zip(before) {
        assert_eq!(*after, before, "a failed load changed a parameter");
    }
    err
}

#[track_caller]
fn checkpoint_error(err: TrainError) -> (String, String) {
    let text = err.to_string();
    match err {
        TrainError::Checkpoint {
            tensor,
            message,
            path,
        } => {
            assert!(text.starts_with(&path.display().to_string()));
            (tensor, message)
        }
        other => panic!("expected Checkpoint, got {other:?}"),
    }
}

#[test]
fn a_missing_tensor_is_named() {
    let dir = TempDir::new("ckpt-missing");
    let err = load_into_error(
        &dir,
        vec![("w", Array::zeros(&[3, 2])), ("c", Array::zeros(&[3]))],
    );
    let (tensor, message) = checkpoint_error(err);
    assert_eq!(tensor, "c");
    assert_eq!(message, "missing from the file (it holds `b`, `w`)");
}

#[test]
fn a_shape_mismatch_is_named() {
    let dir = TempDir::new("ckpt-shape");
    // A transposed weight, [2, 3] instead of [3, 2]; b comes first and is fine.
    let err = load_into_error(
        &dir,
        vec![("b", Array::zeros(&[3])), ("w", Array::zeros(&[2, 3]))],
    );
    let (tensor, message) = checkpoint_error(err);
    assert_eq!(tensor, "w");
    assert_eq!(
        message,
        "shape [3, 2] in the file, but the parameter's is [2, 3]"
    );
}

#[test]
fn an_unexpected_tensor_is_named() {
    let dir = TempDir::new("ckpt-extra");
    let err = load_into_error(&dir, vec![("w", Array::zeros(&[3, 2]))]);
    let (tensor, message) = checkpoint_error(err);
    assert_eq!(tensor, "b");
    assert_eq!(
        message,
        "is in the file but is not a parameter of the model"
    );
}

#[test]
fn an_element_type_mismatch_is_named() {
    let dir = TempDir::new("ckpt-dtype");
    let path = dir.path().join("m.safetensors");
    save(&path, [("w", &Array::<f64>::zeros(&[2]))], &BTreeMap::new()).unwrap();
    let mut w = Array::<f32>::ones(&[2]);
    let (tensor, message) = checkpoint_error(load_into(&path, [("w", &mut w)]).unwrap_err());
    assert_eq!(
        (tensor.as_str(), message.as_str()),
        ("w", "stored as F64, but the parameters are f32")
    );
    assert_eq!(w.data(), &[1.0, 1.0]);
    assert!(load::<f32>(&path).is_err());
}

#[test]
fn corrupt_and_truncated_files_name_the_file() {
    let dir = TempDir::new("ckpt-corrupt");
    let path = dir.path().join("m.safetensors");
    let (w, b) = model_f32();
    save(&path, [("w", &w), ("b", &b)], &meta()).unwrap();
    let good = std::fs::read(&path).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 3].to_vec()),
        ("header-only", good[..20].to_vec()),
        ("empty", vec![]),
        ("garbage", b"this is not a checkpoint at all".to_vec()),
        (
            "huge-header-length",
            [u64::MAX.to_le_bytes().as_slice(), &good[8..]].concat(),
        ),
    ];
    for (name, bytes) in cases {
        let bad = dir.write(name, &bytes);
        for err in [
            load::<f32>(&bad).unwrap_err(),
            load_into(&bad, [("w", &mut Array::<f32>::zeros(&[3, 2]))]).unwrap_err(),
        ] {
            match &err {
                TrainError::BadFile { path, message } => {
                    assert_eq!(*path, bad, "{name}");
                    assert!(
                        message.starts_with("not a valid safetensors file"),
                        "{name}: {message}"
                    );
                }
                other => panic!("{name}: expected BadFile, got {other:?}"),
            }
        }
    }
    let missing = dir.path().join("none.safetensors");
    assert!(matches!(load::<f32>(&missing), Err(TrainError::Io { path, .. }) if path == missing));
}

#[test]
fn a_missing_directory_fails_and_writes_nothing() {
    let dir = TempDir::new("ckpt-nodir");
    let path = dir.path().join("no-such-dir").join("m.safetensors");
    let (w, _) = model_f32();
    let err = save(&path, [("w", &w)], &BTreeMap::new()).unwrap_err();
    assert!(
        matches!(&err, TrainError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(!path.exists());
    assert!(
        dir.file_names().is_empty(),
        "left behind: {:?}",
        dir.file_names()
    );
}

#[test]
fn a_failed_rename_keeps_the_old_target_and_leaves_no_temporary_file() {
    // The target is a non-empty directory, so the final rename must fail after the temporary
    // file was written: the directory must survive and the temporary file must be gone.
    let dir = TempDir::new("ckpt-rename");
    let target = dir.path().join("m.safetensors");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"old").unwrap();
    let (w, _) = model_f32();
    let err = save(&target, [("w", &w)], &BTreeMap::new()).unwrap_err();
    assert!(matches!(err, TrainError::Io { .. }), "{err:?}");
    assert_eq!(std::fs::read(target.join("keep")).unwrap(), b"old");
    assert_eq!(dir.file_names(), vec!["m.safetensors".to_string()]);
}

#[test]
fn saving_over_an_existing_checkpoint_replaces_it_whole() {
    let dir = TempDir::new("ckpt-replace");
    let path = dir.path().join("m.safetensors");
    let big = Array::<f32>::ones(&[100, 100]);
    save(&path, [("w", &big)], &BTreeMap::new()).unwrap();
    let small = Array::<f32>::full(&[2], 3.0);
    save(&path, [("w", &small)], &BTreeMap::new()).unwrap();
    assert_eq!(load::<f32>(&path).unwrap().tensors["w"], small);
    assert_eq!(dir.file_names(), vec!["m.safetensors".to_string()]);
}

#[test]
fn bad_names_are_refused() {
    let dir = TempDir::new("ckpt-names");
    let path = dir.path().join("m.safetensors");
    let a = Array::<f32>::zeros(&[1]);
    let err = save(&path, [("w", &a), ("w", &a)], &BTreeMap::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint::save: tensor `w` is given twice"
    );
    assert!(save(&path, [("__metadata__", &a)], &BTreeMap::new()).is_err());
    assert!(!path.exists());
    let (mut x, mut y) = (a.clone(), a.clone());
    save(&path, [("w", &a)], &BTreeMap::new()).unwrap();
    let err = checkpoint::load_into(&path, [("w", &mut x), ("w", &mut y)]).unwrap_err();
    assert!(matches!(err, TrainError::InvalidArgument { .. }), "{err:?}");
}

#[test]
fn a_model_round_trips_and_a_different_architecture_is_refused() {
    use nn::{Activation, Mlp, Model};
    let dir = TempDir::new("ckpt-model");
    let path = dir.path().join("mlp.safetensors");
    let trained = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, 1).unwrap();
    checkpoint::save_model(&path, &trained, &meta()).unwrap();
    // The names are nn's, `layers.<i>.weight` in PyTorch's [out, in] layout.
    let stored = load::<f64>(&path).unwrap();
    let names: Vec<&str> = stored.tensors.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "layers.0.bias",
            "layers.0.weight",
            "layers.1.bias",
            "layers.1.weight"
        ]
    );
    assert_eq!(stored.tensors["layers.0.weight"].shape(), &[4, 3]);

    let params = |m: &Mlp<f64>| {
        let mut v = Vec::new();
        m.visit_params(&mut |_, p| v.push(p.clone()));
        v
    };
    let mut fresh = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, 2).unwrap();
    assert_ne!(params(&fresh), params(&trained));
    assert_eq!(checkpoint::load_model(&path, &mut fresh).unwrap(), meta());
    assert_eq!(params(&fresh), params(&trained));
    // Loaded parameters are shared like a layer's own, so binding them does not copy them.
    fresh.visit_params(&mut |name, p| assert!(p.is_shared(), "{name}"));

    let mut wider = Mlp::<f64>::new(&[3, 5, 2], Activation::Tanh, 2).unwrap();
    let before = params(&wider);
    let (tensor, message) =
        checkpoint_error(checkpoint::load_model(&path, &mut wider).unwrap_err());
    assert_eq!(tensor, "layers.0.weight");
    assert_eq!(
        message,
        "shape [4, 3] in the file, but the parameter's is [5, 3]"
    );
    assert_eq!(params(&wider), before);
    let mut f32_model = Mlp::<f32>::new(&[3, 4, 2], Activation::Tanh, 2).unwrap();
    assert!(checkpoint::load_model(&path, &mut f32_model).is_err());
}

/// A safetensors file written without tapegrad: `tensors` as F32, and `metadata`.
fn foreign_file(tensors: &[(&str, Vec<f32>, Vec<usize>)], metadata: &[(&str, &str)]) -> Vec<u8> {
    use std::collections::HashMap;
    let owned: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(n, v, s)| {
            let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            (n.to_string(), bytes, s.clone())
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = owned
        .iter()
        .map(|(n, b, s)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .unwrap();
            (n.clone(), view)
        })
        .collect();
    let meta: Option<HashMap<String, String>> = (!metadata.is_empty()).then(|| {
        metadata
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    });
    safetensors::serialize(views, meta).unwrap()
}

#[test]
fn a_checksum_guards_tensors_and_metadata() {
    use train::checkpoint::{CHECKSUM_KEY, Checksum};
    let dir = TempDir::new("ckpt-checksum");
    let path = dir.path().join("m.safetensors");
    let (w, b) = model_f32();
    save(&path, [("w", &w), ("b", &b)], &meta()).unwrap();
    let ck = load::<f32>(&path).unwrap();
    assert_eq!(ck.checksum, Checksum::Verified);
    // The key is the loader's business: it is not handed back with the metadata.
    assert_eq!(ck.metadata, meta());
    let good = std::fs::read(&path).unwrap();
    let header_len = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    // Every single bit of the data, flipped, is caught.
    for byte in header_len..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[byte] ^= 1 << bit;
            let file = dir.write("flipped", &bad);
            match load::<f32>(&file) {
                Err(TrainError::BadFile { message, .. }) => {
                    assert!(
                        message.starts_with("the checksum does not match"),
                        "{message}"
                    )
                }
                // A flip that makes a value infinite or NaN is caught by that check first.
                Err(TrainError::Checkpoint { message, .. }) => {
                    assert!(message.contains("must be finite"), "{message}")
                }
                other => panic!("byte {byte} bit {bit}: {other:?}"),
            }
        }
    }
    // A changed metadata value (here, the epoch "12" made "13") is caught too.
    let text = std::str::from_utf8(&good[8..header_len]).unwrap();
    let at = 8 + text.find("\"12\"").unwrap() + 2;
    let mut bad = good.clone();
    bad[at] = b'3';
    let file = dir.write("meta", &bad);
    let err = load::<f32>(&file).unwrap_err();
    assert!(err.to_string().contains("checksum does not match"), "{err}");
    // A file without one loads, and says so.
    let file = dir.write(
        "foreign",
        &foreign_file(&[("w", vec![1.0, 2.0], vec![2])], &[("epoch", "1")]),
    );
    let ck = load::<f32>(&file).unwrap();
    assert_eq!(ck.checksum, Checksum::Absent);
    assert_eq!(ck.tensors["w"].data(), &[1.0, 2.0]);
    assert!(!ck.metadata.contains_key(CHECKSUM_KEY));
}

#[test]
fn non_finite_values_are_neither_saved_nor_loaded() {
    let dir = TempDir::new("ckpt-nan");
    let path = dir.path().join("m.safetensors");
    let w = Array::from_vec(vec![1.0f32, f32::NAN, 2.0], &[3]).unwrap();
    let err = save(&path, [("w", &w)], &BTreeMap::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "checkpoint::save: tensor `w`: element 1 is NaN; only finite values can be saved"
    );
    assert!(!path.exists());
    let file = dir.write(
        "nan",
        &foreign_file(&[("w", vec![0.0, 1.0, f32::INFINITY], vec![3])], &[]),
    );
    let (tensor, message) = checkpoint_error(load::<f32>(&file).unwrap_err());
    assert_eq!(tensor, "w");
    assert_eq!(
        message,
        "element 2 is inf; the parameters of a model must be finite numbers"
    );
}

#[test]
fn abandoned_temporary_files_are_removed_by_the_next_save_and_live_ones_kept() {
    let dir = TempDir::new("ckpt-stale");
    let path = dir.path().join("m.safetensors");
    // Left by a process killed during its save: no process has this id (Linux's largest
    // is 4,194,304).
    let stale = dir.write(".m.safetensors.tmp-4999999-0", &[0; 1000]);
    // Being written by a live process (process 1 is always there).
    let live = dir.write(".m.safetensors.tmp-1-0", &[0; 10]);
    // Left by this very process outside a save (as a probe would be): abandoned.
    let own = dir.write(
        &format!(".m.safetensors.tmp-{}-probe", std::process::id()),
        &[0; 10],
    );
    // Another target's temporary file is none of this save's business.
    let other = dir.write(".n.safetensors.tmp-4999999-0", &[0; 10]);
    let (w, _) = model_f32();
    save(&path, [("w", &w)], &BTreeMap::new()).unwrap();
    assert!(!stale.exists() && !own.exists());
    assert!(live.exists() && other.exists());
    let mut names = dir.file_names();
    names.sort();
    assert_eq!(
        names,
        vec![
            ".m.safetensors.tmp-1-0".to_string(),
            ".n.safetensors.tmp-4999999-0".to_string(),
            "m.safetensors".to_string()
        ]
    );
}

#[test]
fn a_file_and_the_state_dict_it_was_written_from_agree() {
    use nn::{Activation, LoadOptions, Mlp, Model, StateDict};
    let dir = TempDir::new("ckpt-state-dict");
    let path = dir.path().join("mlp.safetensors");
    let trained = Mlp::<f64>::new(&[3, 5, 2], Activation::Tanh, 4).unwrap();
    checkpoint::save_model(&path, &trained, &meta()).unwrap();

    // The file read as a map holds the model's map, entry for entry, bit for bit.
    let (from_file, metadata) = checkpoint::load_state_dict::<f64>(&path).unwrap();
    assert_eq!(metadata, meta());
    let in_memory = trained.state_dict();
    assert_eq!(from_file.len(), in_memory.len());
    for (name, array) in in_memory.iter() {
        assert_eq!(from_file.get(name), Some(array), "{name}");
    }

    // A map saved directly reads back the same; loading it or the file gives the same model.
    let path2 = dir.path().join("state.safetensors");
    checkpoint::save_state_dict(&path2, &in_memory, &BTreeMap::new()).unwrap();
    assert_eq!(
        load::<f64>(&path2).unwrap().tensors,
        load::<f64>(&path).unwrap().tensors
    );
    let mut via_file = Mlp::<f64>::new(&[3, 5, 2], Activation::Tanh, 0).unwrap();
    checkpoint::load_model(&path2, &mut via_file).unwrap();
    let mut via_map = Mlp::<f64>::new(&[3, 5, 2], Activation::Tanh, 0).unwrap();
    via_map.load_state_dict(&from_file).unwrap();
    assert_eq!(via_file, trained);
    assert_eq!(via_map, trained);

    // A map that is only part of a model: non-strict loading from the file's map.
    let mut partial: StateDict<f64> = from_file.clone();
    partial.remove("layers.1.bias");
    let mut model = Mlp::<f64>::new(&[3, 5, 2], Activation::Tanh, 0).unwrap();
    let report = model
        .load_state_dict_with(&partial, LoadOptions::non_strict())
        .unwrap();
    assert_eq!(report.missing, ["layers.1.bias"]);
}

#[test]
fn a_non_finite_entry_of_a_state_dict_is_not_saved() {
    use nn::StateDict;
    let dir = TempDir::new("ckpt-state-dict-nan");
    let path = dir.path().join("bad.safetensors");
    let state: StateDict<f32> = [("w", Array::from_vec(vec![1.0, f32::NAN], &[2]).unwrap())]
        .into_iter()
        .collect();
    let err = checkpoint::save_state_dict(&path, &state, &BTreeMap::new()).unwrap_err();
    assert!(
        err.to_string().contains("tensor `w`: element 1 is NaN"),
        "{err}"
    );
    assert!(!path.exists());
}
