//! Streamed data: a CSV table read in passes trains exactly as the same table in memory when
//! the shuffle buffer holds it all, holds no more than its buffer otherwise, and stops with
//! the file's error when the file goes bad under it.

use std::path::Path;

use nn::{Activation, Mlp};
use train::TrainError;
use train::data::csv::{CsvOptions, read_classification};
use train::data::{CsvStream, Part, Spill, Standardizer, StreamOptions};
use train::optim::{Adam, AdamConfig};
use train::trainer::{Control, Evaluate, Event, TrainConfig, Trainer};

use crate::common::{TempDir, gzip};

/// A seeded table of `n` rows: `d` features of different offsets and scales, and a label of
/// 3 classes that depends on the first two.
pub(crate) fn table(n: usize, d: usize) -> String {
    let mut text: String = (0..d).map(|j| format!("f{j},")).collect();
    text.push_str("label\n");
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64 - 0.5
    };
    for _ in 0..n {
        let row: Vec<f64> = (0..d)
            .map(|j| 10.0 * j as f64 + (1.0 + j as f64) * next())
            .collect();
        for x in &row {
            text.push_str(&format!("{x:.5},"));
        }
        let label = if row[0] > 0.15 {
            2
        } else if row[1] > 10.5 {
            1
        } else {
            0
        };
        text.push_str(&format!("{label}\n"));
    }
    text
}

fn adam() -> Adam<f32> {
    Adam::new(AdamConfig {
        lr: 0.01,
        ..AdamConfig::default()
    })
    .unwrap()
}

#[test]
fn streamed_training_with_a_whole_buffer_is_in_memory_training() {
    let dir = TempDir::new("stream-equal");
    let path = dir.write("t.csv", table(600, 5).as_bytes());
    let config = TrainConfig {
        epochs: 3,
        batch_size: 32,
        seed: 11,
        ..TrainConfig::default()
    };
    let trainer = Trainer::new(config).unwrap();

    // In memory: read, split, standardise with the training part's statistics, train.
    let (mut train_set, mut test_set) = read_classification::<f32>(&path, "label")
        .unwrap()
        .split(0.2, 11)
        .unwrap();
    let scaler = Standardizer::fit(train_set.features()).unwrap();
    scaler.apply(&mut train_set).unwrap();
    scaler.apply(&mut test_set).unwrap();
    let mut in_memory = Mlp::<f32>::new(&[5, 16, 3], Activation::Relu, 3).unwrap();
    let (mut opt, cont) = (adam(), |_: &Event<'_>| Control::Continue);
    let expected = trainer
        .fit(&mut in_memory, &mut opt, &train_set, Some(&test_set), cont)
        .unwrap();

    // Streamed, the buffer larger than the training part.
    let stream = CsvStream::<f32>::open(&path, "label", &CsvOptions::default())
        .unwrap()
        .split(0.2, 11)
        .unwrap()
        .with_shuffle_buffer(480)
        .unwrap();
    let stats = stream.training_statistics().unwrap();
    assert_eq!(
        stats.standardizer,
        Standardizer::fit(train_set_raw(&path).features()).unwrap()
    );
    assert_eq!(Some(stats.class_counts), train_set.class_counts());
    let stream = stream.with_scaler(Some(stats.standardizer)).unwrap();
    assert_eq!(stream.load(Part::Test).unwrap(), test_set);
    let mut streamed = Mlp::<f32>::new(&[5, 16, 3], Activation::Relu, 3).unwrap();
    let mut opt = adam();
    let test = Some(Evaluate::Stream(&stream, Part::Test));
    let history = trainer
        .fit_stream(&mut streamed, &mut opt, &stream, test, cont)
        .unwrap();
    assert_eq!(streamed, in_memory);
    let losses = |h: &train::trainer::History| -> Vec<(u64, u64)> {
        h.epochs
            .iter()
            .map(|e| (e.train_loss.to_bits(), e.test.unwrap().loss.to_bits()))
            .collect()
    };
    assert_eq!(losses(&history), losses(&expected));

    // A smaller buffer: another order, and so other weights.
    let small = stream.clone().with_shuffle_buffer(100).unwrap();
    let mut other = Mlp::<f32>::new(&[5, 16, 3], Activation::Relu, 3).unwrap();
    let mut opt = adam();
    trainer
        .fit_stream(&mut other, &mut opt, &small, None, cont)
        .unwrap();
    assert_ne!(other, in_memory);
}

/// The training part of `path` as read, before scaling.
fn train_set_raw(path: &Path) -> train::data::Dataset<f32> {
    read_classification::<f32>(path, "label")
        .unwrap()
        .split(0.2, 11)
        .unwrap()
        .0
}

#[test]
fn a_small_buffer_visits_every_row_once_shuffled_within_loads() {
    let dir = TempDir::new("stream-order");
    let path = dir.write("t.csv.gz", &gzip(table(1000, 2).as_bytes()));
    let stream = CsvStream::<f64>::open(&path, "label", &CsvOptions::default())
        .unwrap()
        .split(0.1, 0)
        .unwrap()
        .with_shuffle_buffer(128)
        .unwrap();
    let visit = |shuffle| -> Vec<usize> {
        stream
            .batches(Part::Train, 50, shuffle)
            .unwrap()
            .flat_map(|b| b.unwrap().indices)
            .collect()
    };
    let (epoch0, epoch1, in_order) = (visit(Some((0, 0))), visit(Some((0, 1))), visit(None));
    assert_eq!(in_order, (0..900).collect::<Vec<_>>());
    assert_ne!(epoch0, in_order);
    assert_ne!(epoch0, epoch1);
    assert_eq!(epoch0, visit(Some((0, 0))), "the order is seeded");
    for (load, rows) in epoch0.chunks(128).enumerate() {
        // Each load of 128 rows is a permutation of the next 128 rows of the file.
        let mut sorted = rows.to_vec();
        sorted.sort_unstable();
        let first = load * 128;
        assert_eq!(sorted, (first..first + rows.len()).collect::<Vec<_>>());
    }
}

#[test]
fn an_epoch_holds_its_buffer_not_the_table() {
    // 50,000 rows of 20 features: 4 MB of f32 and 0.4 MB of labels in memory. An epoch with
    // a buffer of 1,000 rows holds 80 kB of rows, a batch and the readers' buffers.
    let dir = TempDir::new("stream-memory");
    let path = dir.write("t.csv", table(50_000, 20).as_bytes());
    let stream = CsvStream::<f32>::open(&path, "label", &CsvOptions::default())
        .unwrap()
        .split(0.2, 1)
        .unwrap()
        .with_shuffle_buffer(1_000)
        .unwrap();
    let (capacity, peak) = crate::alloc::peak_bytes(|| {
        let mut batches = stream.batches(Part::Train, 64, Some((1, 0))).unwrap();
        let n: usize = batches.by_ref().map(|b| b.unwrap().len()).sum();
        assert_eq!(n, 40_000);
        batches.buffer_capacity()
    });
    assert_eq!(capacity, 1_000);
    let table_bytes = 50_000 * 20 * 4;
    assert!(peak < 1024 * 1024, "peak {peak} bytes");
    assert!(peak < table_bytes / 4, "peak {peak} bytes");

    // A whole run: the model and the optimiser's state are small next to the data.
    let (history, peak) = crate::alloc::peak_bytes(|| {
        let mut model = Mlp::<f32>::new(&[20, 8, 3], Activation::Relu, 0).unwrap();
        let mut opt = adam();
        let trainer = Trainer::new(TrainConfig {
            epochs: 1,
            ..TrainConfig::default()
        })
        .unwrap();
        trainer
            .fit_stream(&mut model, &mut opt, &stream, None, |_| Control::Continue)
            .unwrap()
    });
    assert_eq!(history.epochs.len(), 1);
    assert!(peak < 2 * 1024 * 1024, "peak {peak} bytes");
}

/// A stream of a 1000-row table of 3 features (buffer 256, split 0.2 with seed 0) that
/// reads the text on every pass (no spill file), the text of its file, and a trainer of 3
/// epochs.
fn stream_of_1000(dir: &TempDir) -> (std::path::PathBuf, String, CsvStream<f32>, Trainer) {
    let good = table(1000, 3);
    let path = dir.write("t.csv", good.as_bytes());
    let text = StreamOptions::new().spill(Spill::Off);
    let stream = CsvStream::<f32>::open_with(&path, "label", &CsvOptions::default(), &text)
        .unwrap()
        .split(0.2, 0)
        .unwrap()
        .with_shuffle_buffer(256)
        .unwrap();
    let trainer = Trainer::new(TrainConfig {
        epochs: 3,
        batch_size: 50,
        ..TrainConfig::default()
    })
    .unwrap();
    (path, good, stream, trainer)
}

#[test]
fn a_bad_field_mid_run_stops_it_before_its_epoch_is_reported() {
    let dir = TempDir::new("stream-bad");
    let (path, good, stream, trainer) = stream_of_1000(&dir);
    // After the first epoch, row 900 (line 902) gets a field that is not a number.
    let mut lines: Vec<&str> = good.lines().collect();
    let label = &lines[901][lines[901].rfind(',').unwrap() + 1..];
    let bad_row = format!("1.5,oops,2.5,{label}");
    lines[901] = &bad_row;
    let bad = lines.join("\n") + "\n";
    let mut finished = Vec::new();
    let mut model = Mlp::<f32>::new(&[3, 4, 3], Activation::Relu, 0).unwrap();
    let mut opt = adam();
    // Whether row 900 is a training row or a held-out one, epoch 1 reads it: in training,
    // or in the evaluation that ends the epoch.
    let test = Some(Evaluate::Stream(&stream, Part::Test));
    let err = trainer
        .fit_stream(&mut model, &mut opt, &stream, test, |event| {
            if let Event::EpochEnd(stats) = event {
                finished.push(stats.epoch);
                std::fs::write(&path, &bad).unwrap();
            }
            Control::Continue
        })
        .unwrap_err();
    assert_eq!(
        finished,
        vec![0],
        "the epoch that met the error is not reported"
    );
    match err {
        TrainError::Parse {
            line,
            column,
            message,
            ..
        } => assert_eq!(
            (line, column, message.as_str()),
            (902, 2, "`oops` is not a number")
        ),
        other => panic!("expected a parse error, got {other}"),
    }
}

#[test]
fn a_file_cut_short_mid_run_is_named_raw_or_gzip() {
    let dir = TempDir::new("stream-short");
    let (path, good, stream, trainer) = stream_of_1000(&dir);
    let mut model = Mlp::<f32>::new(&[3, 4, 3], Activation::Relu, 0).unwrap();
    let mut opt = adam();
    let mut finished = 0;
    let err = trainer
        .fit_stream(&mut model, &mut opt, &stream, None, |event| {
            if matches!(event, Event::EpochEnd(_)) {
                finished += 1;
                // The first 500 rows, ending with a whole line.
                let cut = good.match_indices('\n').nth(500).unwrap().0 + 1;
                std::fs::write(&path, &good[..cut]).unwrap();
            }
            Control::Continue
        })
        .unwrap_err();
    assert_eq!(finished, 1);
    assert!(
        err.to_string()
            .contains("the file has changed since it was first read"),
        "{err}"
    );
    let compressed = gzip(good.as_bytes());
    let gz = dir.write("t.csv.gz", &compressed);
    let text = StreamOptions::new().spill(Spill::Off);
    let stream = CsvStream::<f32>::open_with(&gz, "label", &CsvOptions::default(), &text)
        .unwrap()
        .split(0.2, 0)
        .unwrap();
    std::fs::write(&gz, &compressed[..compressed.len() - 20]).unwrap();
    // The training and the test part together reach the end of the file.
    let test = Some(Evaluate::Stream(&stream, Part::Test));
    let err = trainer
        .fit_stream(&mut model, &mut opt, &stream, test, |_| Control::Continue)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the gzip stream ends early (truncated file)",
            gz.display()
        )
    );
}

#[test]
fn opening_reports_what_reading_reports() {
    let dir = TempDir::new("stream-errors");
    for (name, text) in [
        ("field.csv", "a,label\n1,0\n2,1\nx,0\n"),
        ("blank.csv", "a,label\n1,0\n\n2,1\n"),
        ("count.csv", "a,label\n1,0\n2\n"),
        ("classes.csv", "a,label\n1,0\n2,2\n"),
        ("header.csv", "a,label\n"),
    ] {
        let path = dir.write(name, text.as_bytes());
        let in_memory = read_classification::<f32>(&path, "label").unwrap_err();
        let streamed = CsvStream::<f32>::open(&path, "label", &CsvOptions::default()).unwrap_err();
        assert_eq!(streamed.to_string(), in_memory.to_string(), "{name}");
    }
}

/// Trains a 3-8-3 MLP for 3 epochs on `stream` (buffer 128); the model and the history's
/// losses as bits.
fn three_epochs(stream: &CsvStream<f32>) -> (Mlp<f32>, Vec<(u64, u64)>) {
    let stream = stream.clone().with_shuffle_buffer(128).unwrap();
    let trainer = Trainer::new(TrainConfig {
        epochs: 3,
        batch_size: 40,
        seed: 2,
        ..TrainConfig::default()
    })
    .unwrap();
    let mut model = Mlp::<f32>::new(&[3, 8, 3], Activation::Relu, 1).unwrap();
    let mut opt = adam();
    let test = Some(Evaluate::Stream(&stream, Part::Test));
    let history = trainer
        .fit_stream(&mut model, &mut opt, &stream, test, |_| Control::Continue)
        .unwrap();
    let losses = history
        .epochs
        .iter()
        .map(|e| (e.train_loss.to_bits(), e.test.unwrap().loss.to_bits()))
        .collect();
    (model, losses)
}

#[test]
fn the_spill_file_gives_the_run_of_the_text_and_leaves_nothing_behind() {
    let dir = TempDir::new("stream-spill");
    let spill_dir = TempDir::new("stream-spill-files");
    let path = dir.write("t.csv", table(1000, 3).as_bytes());
    let open = |spill: Spill| {
        let options = StreamOptions::new().spill(spill);
        let stream = CsvStream::<f32>::open_with(&path, "label", &CsvOptions::default(), &options)
            .unwrap()
            .split(0.2, 0)
            .unwrap();
        let stats = stream.training_statistics().unwrap();
        stream.with_scaler(Some(stats.standardizer)).unwrap()
    };
    let spilled = open(Spill::Dir(spill_dir.path().to_path_buf()));
    let text = open(Spill::Off);
    assert!(spilled.is_spilled() && !text.is_spilled());
    // The spill file has no name: nothing in its directory, even while it is in use.
    assert_eq!(spill_dir.file_names(), Vec::<String>::new());
    assert_eq!(
        spilled.load(Part::Train).unwrap(),
        text.load(Part::Train).unwrap()
    );
    assert_eq!(
        spilled.load(Part::Test).unwrap(),
        text.load(Part::Test).unwrap()
    );
    assert_eq!(three_epochs(&spilled), three_epochs(&text));

    // f64 rows are spilled in 8 bytes, to the bit.
    let options = StreamOptions::new();
    let wide =
        CsvStream::<f64>::open_with(&path, "label", &CsvOptions::default(), &options).unwrap();
    let in_memory = read_classification::<f64>(&path, "label").unwrap();
    assert_eq!(wide.load(Part::Train).unwrap(), in_memory);
}

#[test]
fn a_spilled_stream_trains_on_the_rows_it_checked_whatever_happens_to_the_file() {
    let dir = TempDir::new("stream-spill-kept");
    let good = table(1000, 3);
    let path = dir.write("t.csv", good.as_bytes());
    let stream = CsvStream::<f32>::open(&path, "label", &CsvOptions::default())
        .unwrap()
        .split(0.2, 0)
        .unwrap();
    let expected = three_epochs(&stream);
    // The file is cut short, then removed: the spill file holds the rows.
    std::fs::write(&path, &good[..100]).unwrap();
    assert_eq!(three_epochs(&stream), expected);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(three_epochs(&stream), expected);
}

#[test]
fn a_spill_directory_that_cannot_hold_the_file_is_named() {
    let dir = TempDir::new("stream-spill-missing");
    let path = dir.write("t.csv", table(10, 2).as_bytes());
    let missing = dir.path().join("no-such-dir");
    let options = StreamOptions::new().spill(Spill::Dir(missing.clone()));
    let err = CsvStream::<f32>::open_with(&path, "label", &CsvOptions::default(), &options)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&missing.display().to_string()), "{err}");
    assert!(
        err.contains("cannot create a spill file for the parsed rows"),
        "{err}"
    );
}

#[test]
fn opening_splitting_and_the_statistics_take_memory_independent_of_the_rows() {
    // The split is decided again on every pass, so nothing grows with the rows: a
    // permutation of the rows (4 bytes each) would add 360 kB between these two tables, a
    // bitset of them 11 kB.
    let dir = TempDir::new("stream-flat");
    let peak = |n: usize| {
        let path = dir.write(&format!("t{n}.csv"), table(n, 2).as_bytes());
        let (_, peak) = crate::alloc::peak_bytes(|| {
            let stream = CsvStream::<f32>::open(&path, "label", &CsvOptions::default())
                .unwrap()
                .split(0.2, 1)
                .unwrap();
            let stats = stream.training_statistics().unwrap();
            assert_eq!(
                stream.total_len(Part::Train) + stream.total_len(Part::Test),
                n
            );
            stats
        });
        peak
    };
    let (small, large) = (peak(10_000), peak(100_000));
    assert!(
        large < small + 8 * 1024,
        "{small} bytes for 10,000 rows, {large} for 100,000"
    );
    assert!(large < 1024 * 1024, "{large} bytes");
}
