//! The robustness catalogue: every kind of bad input the program meets — data files, model
//! files, options, output paths, divergence, interruption, a full disk — and what it must
//! do: the exit status and the words of the error. A case that passed here once without the
//! check it names would have exited 0, panicked (101), aborted (134) or said nothing useful.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the built `tapegrad` with `args` in `dir`.
fn tapegrad(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the tapegrad binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory for one test's files.
fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-robust-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An IDX file of unsigned bytes.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// A small CSV file of 40 rows, two features and labels 0 and 1 (alternating), with one
/// field replaced by `bad` at data row `row` (line `row + 2`), column `a` (1), if given.
fn csv_with(bad: Option<(usize, &str)>) -> String {
    let mut out = String::from("a,b,label\n");
    for i in 0..40 {
        let a = match bad {
            Some((row, value)) if row == i => value.to_string(),
            _ => format!("{}", i as f64 * 0.5 - 10.0),
        };
        out.push_str(&format!("{a},{},{}\n", (i % 7) as f64, i % 2));
    }
    out
}

/// Trains a tiny model on `csv` and saves it to `weights` in `dir`; panics if that fails.
fn train_small(dir: &Path, csv: &str, weights: &str) {
    let out = tapegrad(
        dir,
        &[
            "--data", csv, "--epochs", "2", "--hidden", "4", "--quiet", "--save", weights,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A copy of the safetensors file `from` with its tensors changed by `edit` (name → f32
/// values and shape) and its metadata kept, written without a checksum.
fn edited_checkpoint(
    from: &Path,
    to: &Path,
    edit: impl FnOnce(&mut std::collections::BTreeMap<String, (Vec<f32>, Vec<usize>)>),
) {
    let ck = train::checkpoint::load::<f32>(from).unwrap();
    let mut tensors: std::collections::BTreeMap<String, (Vec<f32>, Vec<usize>)> = ck
        .tensors
        .iter()
        .map(|(n, a)| (n.clone(), (a.data().to_vec(), a.shape().to_vec())))
        .collect();
    edit(&mut tensors);
    let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(n, (v, s))| {
            (
                n.clone(),
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                s.clone(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(n, b, s)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .unwrap();
            (n.clone(), view)
        })
        .collect();
    let meta: std::collections::HashMap<String, String> = ck.metadata.into_iter().collect();
    std::fs::write(to, safetensors::serialize(views, Some(meta)).unwrap()).unwrap();
}

/// One entry of the catalogue: what is tried, the arguments, the exit status, and words the
/// error must contain.
struct Case {
    what: &'static str,
    args: Vec<String>,
    status: i32,
    words: Vec<String>,
}

fn case(what: &'static str, args: &[&str], status: i32, words: &[&str]) -> Case {
    Case {
        what,
        args: args.iter().map(|s| s.to_string()).collect(),
        status,
        words: words.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn the_catalogue_of_bad_inputs() {
    let dir = temp_dir("catalogue");
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    write("good.csv", csv_with(None).as_bytes());
    train_small(&dir, "good.csv", "w.safetensors");
    let good_weights = std::fs::read(dir.join("w.safetensors")).unwrap();

    // Data files.
    write("nonnumeric.csv", csv_with(Some((3, "x4"))).as_bytes());
    write("emptyfield.csv", csv_with(Some((3, ""))).as_bytes());
    write("inf.csv", csv_with(Some((3, "inf"))).as_bytes());
    write("big.csv", csv_with(Some((3, "1e39"))).as_bytes());
    // Test part only: with seed 0 and fraction 0.2, find a row that lands in the test part by
    // putting the big value in every row but those of the training part is not possible from
    // here; the split is the program's business, so the value goes in every row at once.
    let mut all_big = String::from("a,b,label\n");
    for i in 0..40 {
        all_big.push_str(&format!(
            "{},1,{}\n",
            if i % 5 == 0 { "1e39" } else { "1" },
            i % 2
        ));
    }
    write("bigmany.csv", all_big.as_bytes());
    write("predictbig.csv", b"a,b\n1,2\n1e39,3\n");
    write("ragged.csv", b"a,b,label\n1,2,0\n3,1\n");
    write("nolabel.csv", b"a,b,class\n1,2,0\n3,4,1\n");
    write("empty.csv", b"");
    write("binary.csv", &[b'a', b',', 0xff, 0xfe, b'\n']);
    write("blank.csv", b"a,b,label\n1,2,0\n\n3,4,1\n");
    write("oneclass.csv", b"a,label\n1,0\n2,0\n3,0\n4,0\n5,0\n");
    write("gaps.csv", b"a,label\n1,0\n2,999\n3,0\n4,999\n5,0\n6,999\n");
    write("tworows.csv", b"a,label\n1,0\n2,1\n");
    let gz = {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(csv_with(None).as_bytes()).unwrap();
        enc.finish().unwrap()
    };
    write("cut.csv.gz", &gz[..gz.len() / 2]);
    // IDX directories.
    let mnist = |name: &str, train_images: Vec<u8>| {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("train-images-idx3-ubyte"), train_images).unwrap();
        std::fs::write(d.join("train-labels-idx1-ubyte"), idx(&[4], &[0, 1, 0, 1])).unwrap();
        std::fs::write(d.join("t10k-images-idx3-ubyte"), idx(&[2, 2, 2], &[9; 8])).unwrap();
        std::fs::write(d.join("t10k-labels-idx1-ubyte"), idx(&[2], &[0, 1])).unwrap();
    };
    mnist("idx-zero", idx(&[0, 2, 2], &[]));
    mnist("idx-flat", idx(&[4, 0, 0], &[]));
    mnist("idx-magic", {
        let mut b = idx(&[4, 2, 2], &[1; 16]);
        b[0] = 0x12;
        b
    });
    mnist("idx-cut", idx(&[4, 2, 2], &[1; 10]));
    mnist("idx-ok", idx(&[4, 2, 2], &[1; 16]));
    // Model files.
    edited_checkpoint(
        &dir.join("w.safetensors"),
        &dir.join("nobias.safetensors"),
        |t| {
            t.remove("layers.1.bias");
        },
    );
    edited_checkpoint(
        &dir.join("w.safetensors"),
        &dir.join("nolast.safetensors"),
        |t| {
            t.remove("layers.1.bias");
            t.remove("layers.1.weight");
        },
    );
    edited_checkpoint(
        &dir.join("w.safetensors"),
        &dir.join("nan.safetensors"),
        |t| {
            t.get_mut("layers.0.weight").unwrap().0[1] = f32::NAN;
        },
    );
    edited_checkpoint(
        &dir.join("w.safetensors"),
        &dir.join("chain.safetensors"),
        |t| {
            t.insert("layers.1.weight".into(), (vec![0.5; 2 * 5], vec![2, 5]));
        },
    );
    edited_checkpoint(
        &dir.join("w.safetensors"),
        &dir.join("nosum.safetensors"),
        |_| {},
    );
    let mut flipped = good_weights.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x10;
    write("flipped.safetensors", &flipped);
    write("cut.safetensors", &good_weights[..good_weights.len() - 5]);
    write("garbage.safetensors", b"not a checkpoint");
    std::fs::create_dir_all(dir.join("adir")).unwrap();

    let w = "w.safetensors";
    let cases = vec![
        // Data: each error names the file, and for a field its line and column.
        case(
            "non-numeric field",
            &["--data", "nonnumeric.csv"],
            1,
            &["nonnumeric.csv: line 5, column 1 (`a`): `x4` is not a number"],
        ),
        case(
            "empty field",
            &["--data", "emptyfield.csv"],
            1,
            &["line 5, column 1 (`a`): the field is empty"],
        ),
        case(
            "infinite field",
            &["--data", "inf.csv"],
            1,
            &["line 5, column 1", "`inf` is not a finite number"],
        ),
        case(
            "1e39 in f32 training data",
            &["--data", "big.csv"],
            1,
            &["big.csv: line 5, column 1 (`a`): `1e39` is too large for f32"],
        ),
        case(
            "1e39 in f32 test data",
            &["--data", "bigmany.csv"],
            1,
            &["bigmany.csv: line 2, column 1", "too large for f32"],
        ),
        case(
            "1e39 in data to predict",
            &["predict", "--weights", w, "--data", "predictbig.csv"],
            1,
            &["predictbig.csv: line 3, column 1 (`a`): `1e39` is too large for f32"],
        ),
        case(
            "ragged row",
            &["--data", "ragged.csv"],
            1,
            &["ragged.csv: line 3 has 2 fields but the header has 3 columns"],
        ),
        case(
            "blank line",
            &["--data", "blank.csv"],
            1,
            &["blank.csv: line 3 is empty"],
        ),
        case(
            "no label column",
            &["--data", "nolabel.csv"],
            1,
            &["no column named `label`"],
        ),
        case(
            "empty file",
            &["--data", "empty.csv"],
            1,
            &["empty.csv: the file is empty"],
        ),
        case(
            "not UTF-8",
            &["--data", "binary.csv"],
            1,
            &["not valid UTF-8"],
        ),
        case(
            "truncated gzip",
            &["--data", "cut.csv.gz"],
            1,
            &["cut.csv.gz: the gzip stream ends early"],
        ),
        case(
            "one class",
            &["--data", "oneclass.csv"],
            1,
            &["oneclass.csv: the label column `label` holds only one class, 0"],
        ),
        case(
            "labels with gaps",
            &["--data", "gaps.csv"],
            1,
            &[
                "gaps.csv: the label column `label` holds the labels 0, 999",
                "give the number of classes",
            ],
        ),
        case(
            "--classes for the digits",
            &["--classes", "3"],
            1,
            &["--classes: applies to CSV files"],
        ),
        case(
            "too few rows to split",
            &["--data", "tworows.csv", "--test-fraction", "0.1"],
            1,
            &["--test-fraction: tworows.csv: a test fraction of 0.1 of 2 samples"],
        ),
        case(
            "IDX with 0 samples",
            &["--data", "idx-zero"],
            1,
            &["train-images-idx3-ubyte: holds no images: the header gives 0 samples"],
        ),
        case(
            "IDX with 0x0 images",
            &["--data", "idx-flat"],
            1,
            &["train-images-idx3-ubyte: its images have 0 × 0 pixels"],
        ),
        case(
            "IDX bad magic",
            &["--data", "idx-magic"],
            1,
            &["train-images-idx3-ubyte: bad magic number 0x12000803"],
        ),
        case(
            "IDX truncated",
            &["--data", "idx-cut"],
            1,
            &["train-images-idx3-ubyte: truncated"],
        ),
        case("IDX that trains", &["--data", "idx-ok"], 0, &[]),
        case(
            "missing data",
            &["--data", "nothere.csv"],
            1,
            &["--data: `nothere.csv` does not exist"],
        ),
        // Sizes: refused before anything is allocated.
        case(
            "--hidden 100000000",
            &["--hidden", "100000000"],
            1,
            &["--hidden: a 64-100000000-10 MLP has 7,500,000,010 parameters"],
        ),
        case(
            "--hidden 100000,100000",
            &["--hidden", "100000,100000"],
            1,
            &["--hidden: a 64-100000-100000-10 MLP"],
        ),
        case(
            "--hidden usize::MAX",
            &["--hidden", "18446744073709551615"],
            1,
            &["--hidden", "more than 2^64 parameters"],
        ),
        case(
            "--hidden past usize",
            &["--hidden", "18446744073709551616"],
            2,
            &["--hidden"],
        ),
        // Outputs: checked before training.
        case(
            "--save onto a directory",
            &["--save", "adir"],
            1,
            &["--save: `adir` is a directory"],
        ),
        case(
            "--save with a trailing slash",
            &["--save", "adir/"],
            1,
            &["--save: `adir/` ends with a slash"],
        ),
        case(
            "--save in a missing directory",
            &["--save", "none/w.safetensors"],
            1,
            &["--save: cannot write `none/w.safetensors`: the directory `none` does not exist"],
        ),
        case(
            "--save in a file",
            &["--save", "good.csv/w.safetensors"],
            1,
            &["--save", "is not a directory"],
        ),
        case(
            "--save in a read-only directory",
            &["--save", "/sys/w.safetensors"],
            1,
            &["--save: cannot write in the directory `/sys`"],
        ),
        case(
            "--save equal to --data",
            &["--data", "good.csv", "--save", "./good.csv"],
            1,
            &["--save: `./good.csv` is the data file, which --data reads"],
        ),
        case(
            "--plot equal to --save",
            &["--save", "x.out", "--plot", "x.out"],
            1,
            &["--plot: `x.out` is also the file of --save"],
        ),
        case(
            "--save onto an IDX file",
            &[
                "--data",
                "idx-ok",
                "--save",
                "idx-ok/train-labels-idx1-ubyte",
            ],
            1,
            &["--save", "a file of the IDX directory"],
        ),
        // Model files: every layer, a consistent chain, finite values, an intact checksum.
        case(
            "a missing bias",
            &[
                "evaluate",
                "--weights",
                "nobias.safetensors",
                "--data",
                "good.csv",
            ],
            1,
            &["nobias.safetensors: tensor `layers.1.bias`: is missing"],
        ),
        case(
            "a missing last layer",
            &[
                "evaluate",
                "--weights",
                "nolast.safetensors",
                "--data",
                "good.csv",
            ],
            1,
            &["nolast.safetensors: metadata `sizes` is 2,4,2, but the tensors make 2-4"],
        ),
        case(
            "NaN weights",
            &[
                "evaluate",
                "--weights",
                "nan.safetensors",
                "--data",
                "good.csv",
            ],
            1,
            &["nan.safetensors: tensor `layers.0.weight`: element 1 is NaN"],
        ),
        case(
            "a broken chain",
            &[
                "evaluate",
                "--weights",
                "chain.safetensors",
                "--data",
                "good.csv",
            ],
            1,
            &[
                "chain.safetensors: tensor `layers.1.weight`: shape [2, 5] takes 5 inputs, but layer 0 has 4 outputs",
            ],
        ),
        case(
            "a flipped bit",
            &[
                "evaluate",
                "--weights",
                "flipped.safetensors",
                "--data",
                "good.csv",
            ],
            1,
            &["flipped.safetensors: the checksum does not match"],
        ),
        case(
            "a truncated checkpoint",
            &[
                "evaluate",
                "--weights",
                "cut.safetensors",
                "--data",
                "good.csv",
            ],
            1,
            &["cut.safetensors: not a valid safetensors file"],
        ),
        case(
            "not a checkpoint",
            &[
                "predict",
                "--weights",
                "garbage.safetensors",
                "--data",
                "good.csv",
            ],
            1,
            &["garbage.safetensors: not a valid safetensors file"],
        ),
        case(
            "no checksum: loads, with a note",
            &[
                "evaluate",
                "--weights",
                "nosum.safetensors",
                "--data",
                "good.csv",
            ],
            0,
            &["note: nosum.safetensors carries no checksum"],
        ),
        case(
            "weights of another width",
            &["evaluate", "--weights", w],
            1,
            &["has 64 features per sample, but the model in w.safetensors takes 2"],
        ),
        case(
            "missing weights",
            &["evaluate", "--weights", "none.safetensors"],
            1,
            &["none.safetensors: No such file"],
        ),
        // Options.
        case(
            "bad --delimiter",
            &["--data", "good.csv", "--delimiter", "ab"],
            2,
            &["--delimiter", "is not one character"],
        ),
        case(
            "a delimiter that splits nothing",
            &["--data", "good.csv", "--delimiter", ";"],
            1,
            &["no column named `label`"],
        ),
        case(
            "--classes below a label",
            &["--data", "gaps.csv", "--classes", "10"],
            1,
            &[
                "gaps.csv: line 3, column 2 (`label`): label 999 is not below the number of classes, 10",
            ],
        ),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let mut full = args.clone();
        if full
            .first()
            .is_none_or(|a| !["evaluate", "predict"].contains(a))
        {
            full.extend(["--epochs", "1", "--quiet"]);
        }
        let out = tapegrad(&dir, &full);
        let err = text(&out.stderr);
        let ok = out.status.code() == Some(c.status)
            && c.words.iter().all(|w| err.contains(w.as_str()))
            && !err.contains("panicked");
        if !ok {
            failures.push(format!(
                "{}: {args:?} exited {:?}, expected {}; stderr:\n{err}",
                c.what,
                out.status.code(),
                c.status
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // With the class count stated, the labels {0, 999} train a 1000-class model.
    let out = tapegrad(
        &dir,
        &[
            "--data",
            "gaps.csv",
            "--classes",
            "1000",
            "--epochs",
            "1",
            "--quiet",
            "--test-fraction",
            "0.5",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The run of the digits with plain SGD at a learning rate of 0.5 diverges in epoch 15: the
/// weights of the last step with a finite loss are saved (and the curves plotted), the
/// program says so, and it exits with a failure.
#[test]
fn a_diverged_run_keeps_its_last_finite_weights_and_fails() {
    let dir = temp_dir("diverge");
    let args = [
        "--optimizer",
        "sgd",
        "--lr",
        "0.5",
        "--schedule",
        "constant",
        "--hidden",
        "64",
        "--save",
        "w.safetensors",
        "--plot",
        "c.svg",
    ];
    let out = tapegrad(&dir, &args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("the loss is NaN"), "{stderr}");
    assert!(
        stdout.contains("training diverged; a smaller --lr than 0.5"),
        "{stdout}"
    );
    assert!(
        stdout.contains("saved the weights to w.safetensors"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("test accuracy: "),
        "no success line: {stdout}"
    );
    let ck = train::checkpoint::load::<f32>(dir.join("w.safetensors")).unwrap();
    assert!(ck.metadata["stopped"].contains("the loss is NaN"));
    assert_eq!(ck.tensors.len(), 4); // two layers, weight and bias
    assert!(
        std::fs::read_to_string(dir.join("c.svg"))
            .unwrap()
            .starts_with("<svg")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The names in `dir` that are temporary files of a save.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.contains(".tmp-").then_some(name)
        })
        .collect()
}

/// Starts a run that saves a 4,200,000-parameter model (16.8 MB) to `w.safetensors` in
/// `dir`, and waits until its temporary file appears (or the run ends).
fn start_saving(dir: &Path) -> (std::process::Child, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args([
            "--data",
            "small.csv",
            "--hidden",
            "2048,2048",
            "--epochs",
            "1",
            "--batch-size",
            "64",
            "--quiet",
            "--save",
            "w.safetensors",
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if !temporaries(dir).is_empty() {
            return (child, true);
        }
        if child.try_wait().unwrap().is_some() || started.elapsed() > Duration::from_secs(30) {
            return (child, false);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// kill -9 in the middle of `--save`, again and again: the previous checkpoint is whole every
/// time (its checksum verifies), and the next save removes the temporary file the killed one
/// left. SIGINT and SIGTERM remove it at once.
#[test]
fn interrupted_saves_keep_the_previous_checkpoint_and_leave_no_temporary_file() {
    let dir = temp_dir("kill");
    let mut rows = String::from("a,b,label\n");
    for i in 0..64 {
        rows.push_str(&format!("{},{},{}\n", i % 5, i % 3, i % 2));
    }
    std::fs::write(dir.join("small.csv"), rows).unwrap();
    let (mut child, _) = start_saving(&dir);
    assert!(child.wait().unwrap().success());
    let first = std::fs::read(dir.join("w.safetensors")).unwrap();
    assert!(temporaries(&dir).is_empty());

    let (mut killed, mut left_behind) = (0, 0);
    for round in 0..6 {
        let (mut child, saving) = start_saving(&dir);
        if saving {
            // SIGKILL at once, or a moment into the write.
            std::thread::sleep(Duration::from_millis(round % 3));
            child.kill().unwrap();
        }
        let status = child.wait().unwrap();
        if !status.success() {
            killed += 1;
        }
        let now = std::fs::read(dir.join("w.safetensors")).unwrap();
        // Either the old file, whole, or (if the kill came after the rename) the new one.
        let ck = train::checkpoint::Checkpoint::<f32>::from_bytes(&now, "w".as_ref()).unwrap();
        assert_eq!(ck.checksum, train::checkpoint::Checksum::Verified);
        if now == first {
            left_behind += temporaries(&dir).len();
        }
    }
    assert!(
        killed >= 3,
        "only {killed} of 6 runs were killed while saving"
    );
    // A killed save leaves its temporary file ({left_behind} times here); the next save to
    // the same place removes it.
    let (mut child, _) = start_saving(&dir);
    assert!(child.wait().unwrap().success());
    assert_eq!(temporaries(&dir), Vec::<String>::new());

    for signal in ["INT", "TERM"] {
        let (child, saving) = start_saving(&dir);
        assert!(saving, "the save was not seen");
        let _ = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status();
        let output = child.wait_with_output().unwrap();
        if !output.status.success() {
            assert_eq!(temporaries(&dir), Vec::<String>::new(), "after SIG{signal}");
        }
        train::checkpoint::load::<f32>(dir.join("w.safetensors")).unwrap();
    }
    let _ = left_behind;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A full disk: a 64 kB file system (tmpfs, where this runs as root and may mount one). The
/// save fails naming --save, the weights go to the temporary directory instead, and nothing
/// is left on the full file system.
#[test]
fn a_full_disk_fails_the_save_but_keeps_the_weights() {
    let dir = temp_dir("full");
    let small = dir.join("small");
    std::fs::create_dir_all(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&small)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a small tmpfs here (not root, or no mount namespace)");
        return;
    }
    let out = tapegrad(
        &dir,
        &["--epochs", "1", "--quiet", "--save", "small/w.safetensors"],
    );
    let _ = Command::new("umount").arg(&small).status();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--save: small/w.safetensors: No space left on device"),
        "{err}"
    );
    let rescued = err
        .split("it was written to ")
        .nth(1)
        .and_then(|rest| rest.split(" instead").next())
        .expect("the error says where the weights went");
    let ck = train::checkpoint::load::<f32>(rescued).unwrap();
    assert_eq!(ck.tensors.len(), 6);
    std::fs::remove_file(rescued).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
