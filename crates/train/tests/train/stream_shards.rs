//! A stream shared among processes (threads joined by an in-memory group here; the MPI runs
//! are in the root package's tests): each process reads its own share of the file, the sums
//! over the processes make the whole table's counts and statistics, and each step's global
//! batch is every process's own rows.

use std::rc::Rc;

use nn::{Activation, Mlp};
use tape::Array;
use train::TrainError;
use train::data::csv::{CsvOptions, read_classification};
use train::data::{CsvStream, Dataset, Part, Spill, Standardizer, StreamOptions};
use train::optim::{Sgd, SgdConfig};
use train::trainer::{Control, Evaluate, TrainConfig, Trainer, evaluate};

use crate::common::{TempDir, gzip};
use crate::distributed::Member;
use crate::parallel::flat;
use crate::stream::table;

/// Runs `f` on every member of a group of `size` threads; the results in rank order.
fn on_ranks<R: Send>(size: usize, f: impl Fn(Member) -> R + Sync) -> Vec<R> {
    std::thread::scope(|s| {
        let handles: Vec<_> = Member::group(size)
            .into_iter()
            .map(|m| s.spawn(|| f(m)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// The share of `path` that `member` reads, split 0.2 with seed 4.
fn share(
    path: &std::path::Path,
    member: Member,
    spill: Spill,
) -> Result<CsvStream<f64>, Box<TrainError>> {
    let options = StreamOptions::new().spill(spill).shard(Rc::new(member));
    let opened = CsvStream::<f64>::open_with(path, "label", &CsvOptions::default(), &options)
        .map_err(Box::new)?;
    opened.split(0.2, 4).map_err(Box::new)
}

/// The rows of a data set as bit patterns, each with its label.
fn rows(data: &Dataset<f64>) -> Vec<(Vec<u64>, usize)> {
    let d = data.n_features();
    data.features()
        .data()
        .chunks(d)
        .zip(data.labels().unwrap())
        .map(|(row, &label)| (row.iter().map(|x| x.to_bits()).collect(), label))
        .collect()
}

#[test]
fn the_shares_make_the_whole_table_plain_or_gzip() {
    let dir = TempDir::new("shards-whole");
    let text = table(997, 4);
    let plain = dir.write("t.csv", text.as_bytes());
    let packed = dir.write("t.csv.gz", &gzip(text.as_bytes()));
    let (train, test) = read_classification::<f64>(&plain, "label")
        .unwrap()
        .split(0.2, 4)
        .unwrap();
    let expected = Standardizer::fit(train.features()).unwrap();
    for (path, size, spill) in [
        (&plain, 2, Spill::TempDir),
        (&plain, 3, Spill::Off),
        (&packed, 3, Spill::TempDir),
        (&packed, 2, Spill::Off),
    ] {
        let what = format!("{} on {size} ranks, {spill:?}", path.display());
        let found = on_ranks(size, |member| {
            let stream = share(path, member, spill.clone()).unwrap();
            let stats = stream.training_statistics().unwrap();
            let totals = (stream.total_len(Part::Train), stream.total_len(Part::Test));
            let parts = (
                stream.load(Part::Train).unwrap(),
                stream.load(Part::Test).unwrap(),
            );
            (stats, totals, parts, stream.shard())
        });
        let (mut train_rows, mut test_rows) = (Vec::new(), Vec::new());
        for (rank, (stats, totals, (tr, te), shard)) in found.into_iter().enumerate() {
            assert_eq!(shard, Some((rank, size)), "{what}");
            assert_eq!(totals, (train.len(), test.len()), "{what}");
            assert_eq!(Some(stats.class_counts), train.class_counts(), "{what}");
            for (name, got, want) in [
                ("mean", stats.standardizer.mean(), expected.mean()),
                ("std", stats.standardizer.std(), expected.std()),
            ] {
                for (g, w) in got.iter().zip(want) {
                    assert!(
                        (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                        "{what}: {name} {g} vs {w}"
                    );
                }
            }
            // Every process reads a fair share: within a fifth of the others'.
            let fair = (train.len() + test.len()) as f64 / size as f64;
            assert!(
                ((tr.len() + te.len()) as f64 - fair).abs() < 0.2 * fair,
                "{what}"
            );
            train_rows.extend(rows(&tr));
            test_rows.extend(rows(&te));
        }
        if path == &plain {
            // Contiguous shares in rank order: the part itself, in file order.
            assert_eq!(train_rows, rows(&train), "{what}");
            assert_eq!(test_rows, rows(&test), "{what}");
        } else {
            // Every size-th row: the same rows, in another order.
            let sorted = |mut v: Vec<(Vec<u64>, usize)>| {
                v.sort();
                v
            };
            assert_eq!(sorted(train_rows), sorted(rows(&train)), "{what}");
            assert_eq!(sorted(test_rows), sorted(rows(&test)), "{what}");
        }
    }
}

/// Plain SGD (no momentum, so a step depends on nothing but the batch and the weights).
fn sgd() -> Sgd<f64> {
    Sgd::new(SgdConfig {
        lr: 0.2,
        ..SgdConfig::default()
    })
    .unwrap()
}

#[test]
fn a_shared_step_is_one_step_on_every_process_s_rows() {
    let dir = TempDir::new("shards-steps");
    let path = dir.write("t.csv", table(600, 3).as_bytes());
    let (batch, epochs) = (64, 2);
    let config = TrainConfig {
        epochs,
        batch_size: batch,
        shuffle: false,
        ..TrainConfig::default()
    };
    // Two processes train on their shares, in file order.
    let found = on_ranks(2, |member| {
        let member = Rc::new(member);
        let options = StreamOptions::new().shard(member.clone());
        let stream = CsvStream::<f64>::open_with(&path, "label", &CsvOptions::default(), &options)
            .unwrap()
            .split(0.2, 4)
            .unwrap();
        let stats = stream.training_statistics().unwrap();
        let stream = stream.with_scaler(Some(stats.standardizer)).unwrap();
        let trainer = Trainer::new(config.clone())
            .unwrap()
            .with_collective(member);
        let mut model = Mlp::<f64>::new(&[3, 6, 3], Activation::Tanh, 7).unwrap();
        let test = Some(Evaluate::Stream(&stream, Part::Test));
        let history = trainer
            .fit_stream(&mut model, &mut sgd(), &stream, test, |_| Control::Continue)
            .unwrap();
        (
            flat(&model),
            model,
            history,
            stream.load(Part::Train).unwrap(),
        )
    });
    assert_eq!(
        found[0].0, found[1].0,
        "every process applies the same update"
    );

    // One process: each step, an SGD step on the first process's next rows followed by the
    // second's. The steps are as many as the global batch needs, ceil(480 / 64) = 8, and each
    // process takes ceil(rows / 8) of its own rows a step.
    let shares: Vec<&Dataset<f64>> = found.iter().map(|f| &f.3).collect();
    let total: usize = shares.iter().map(|s| s.len()).sum();
    assert_eq!(total, 480);
    let steps = total.div_ceil(batch);
    let local: Vec<usize> = shares.iter().map(|s| s.len().div_ceil(steps)).collect();
    let mut model = Mlp::<f64>::new(&[3, 6, 3], Activation::Tanh, 7).unwrap();
    let mut opt = sgd();
    for _ in 0..epochs {
        for step in 0..steps {
            let mut picked = Vec::new();
            for (share, &b) in shares.iter().zip(&local) {
                let rows: Vec<usize> = (step * b..((step + 1) * b).min(share.len())).collect();
                picked.push(share.subset(&rows).unwrap());
            }
            let features: Vec<f64> = picked
                .iter()
                .flat_map(|p| p.features().data().to_vec())
                .collect();
            let labels: Vec<usize> = picked
                .iter()
                .flat_map(|p| p.labels().unwrap().to_vec())
                .collect();
            let n = labels.len();
            let step_data =
                Dataset::classification(Array::from_vec(features, &[n, 3]).unwrap(), labels, 3)
                    .unwrap();
            let one = Trainer::new(TrainConfig {
                epochs: 1,
                batch_size: n,
                shuffle: false,
                ..TrainConfig::default()
            })
            .unwrap();
            one.fit(&mut model, &mut opt, &step_data, None, |_| {
                Control::Continue
            })
            .unwrap();
        }
    }
    for (a, b) in found[0].0.iter().zip(flat(&model)) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    // The evaluation sums over the shares: the whole test part's loss and accuracy.
    let (_, test) = read_classification::<f64>(&path, "label")
        .unwrap()
        .split(0.2, 4)
        .unwrap();
    let (train_raw, _) = read_classification::<f64>(&path, "label")
        .unwrap()
        .split(0.2, 4)
        .unwrap();
    let scaler = Standardizer::fit(train_raw.features()).unwrap();
    let mut test = test;
    scaler.apply(&mut test).unwrap();
    let whole = evaluate(&found[0].1, &test, 1000).unwrap();
    for f in &found {
        let shared = f.2.epochs[epochs - 1].test.unwrap();
        assert_eq!(shared.n_samples, test.len());
        assert!(
            (shared.loss - whole.loss).abs() < 1e-12,
            "{} vs {}",
            shared.loss,
            whole.loss
        );
        assert_eq!(shared.accuracy, whole.accuracy);
    }
}

#[test]
fn a_bad_field_in_one_share_stops_every_process_and_names_its_line() {
    let dir = TempDir::new("shards-bad");
    let good = table(300, 3);
    let mut lines: Vec<String> = good.lines().map(str::to_string).collect();
    // Row 250 is line 252 (after the header), in the second half of the file.
    let label = lines[251].rsplit(',').next().unwrap().to_string();
    lines[251] = format!("1.5,oops,2.5,{label}");
    let path = dir.write("t.csv", (lines.join("\n") + "\n").as_bytes());
    for spill in [Spill::TempDir, Spill::Off] {
        let errors = on_ranks(2, |member| share(&path, member, spill.clone()).unwrap_err());
        match errors[1].as_ref() {
            TrainError::Parse {
                line,
                column,
                message,
                ..
            } => assert_eq!(
                (*line, *column, message.as_str()),
                (252, 2, "`oops` is not a number")
            ),
            other => panic!("expected a parse error, got {other}"),
        }
        let first = errors[0].to_string();
        assert!(
            first.ends_with("process 1 of 2 could not read its share of the file"),
            "{first}"
        );
        // One process alone reads the same line the same way.
        let alone = read_classification::<f64>(&path, "label").unwrap_err();
        assert_eq!(errors[1].to_string(), alone.to_string());
    }

    // Read again from the text after opening: a field spoilt since (keeping the line's
    // length, so that the shares still start where they did) is named on its line in the
    // file by the process whose share holds it, which reads its rows without the others.
    let path = dir.write("later.csv", good.as_bytes());
    let mut spoilt: Vec<String> = good.lines().map(str::to_string).collect();
    let field = spoilt[251].split(',').nth(1).unwrap().to_string();
    let bad_field = "x".repeat(field.len());
    spoilt[251] = spoilt[251].replacen(&field, &bad_field, 1);
    let barrier = std::sync::Barrier::new(2);
    let found = on_ranks(2, |member| {
        let rank = member.rank;
        let stream = share(&path, member, Spill::Off).unwrap();
        barrier.wait();
        if rank == 0 {
            std::fs::write(&path, spoilt.join("\n") + "\n").unwrap();
        }
        barrier.wait();
        (
            stream.load(Part::Train).err(),
            stream.load(Part::Test).err(),
        )
    });
    assert!(
        matches!(found[0], (None, None)),
        "the first half is unchanged"
    );
    let err = match &found[1] {
        (Some(e), None) | (None, Some(e)) => e,
        other => panic!("one part holds row 250: {other:?}"),
    };
    let message = format!("`{bad_field}` is not a number");
    match err {
        TrainError::Parse {
            line,
            column,
            message: m,
            ..
        } => assert_eq!((*line, *column, m), (252, 2, &message)),
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn a_shared_stream_needs_a_trainer_of_the_same_group() {
    let dir = TempDir::new("shards-group");
    let path = dir.write("t.csv", table(100, 2).as_bytes());
    let errors = on_ranks(2, |member| {
        let stream = share(&path, member, Spill::TempDir).unwrap();
        let trainer = Trainer::new(TrainConfig::default()).unwrap();
        let mut model = Mlp::<f64>::new(&[2, 3], Activation::Relu, 0).unwrap();
        trainer
            .fit_stream(&mut model, &mut sgd(), &stream, None, |_| Control::Continue)
            .unwrap_err()
            .to_string()
    });
    assert!(
        errors[1]
            .contains("the stream is process 1's share of 2; the trainer needs the same group"),
        "{}",
        errors[1]
    );
}
