//! CSV readers: good files in their variants, and every kind of broken file.

use std::path::Path;

use train::TrainError;
use train::data::csv::{read_classification, read_regression};

use crate::common::{TempDir, gzip};

#[track_caller]
fn bad_file_message(err: TrainError, path: &Path) -> String {
    match err {
        TrainError::BadFile { path: p, message } => {
            assert_eq!(p, path);
            message
        }
        other => panic!("expected BadFile, got {other:?}"),
    }
}

/// `(line, column, column_name, message)` of a [`TrainError::Parse`] about `path`.
#[track_caller]
fn parse_error(err: TrainError, path: &Path) -> (usize, usize, String, String) {
    match err {
        TrainError::Parse {
            path: p,
            line,
            column,
            column_name,
            message,
        } => {
            assert_eq!(p, path);
            (line, column, column_name, message)
        }
        other => panic!("expected Parse, got {other:?}"),
    }
}

#[test]
fn classification_reads_features_and_labels() {
    let dir = TempDir::new("csv-good");
    // The label column need not be last; features keep their order around it.
    let text = "a,label,b\n1.5,2,-3\n0,0,1e2\n7,1,8\n";
    let path = dir.write("t.csv", text.as_bytes());
    let ds = read_classification::<f64>(&path, "label").unwrap();
    assert_eq!(ds.features().shape(), &[3, 2]);
    assert_eq!(ds.features().data(), &[1.5, -3.0, 0.0, 100.0, 7.0, 8.0]);
    assert_eq!(ds.labels().unwrap(), &[2, 0, 1]);
    // The largest label is 2, so there are 3 classes.
    assert_eq!(ds.n_classes(), Some(3));
}

#[test]
fn gzip_crlf_bom_and_float_labels_are_accepted() {
    let dir = TempDir::new("csv-variants");
    let text = "\u{feff}x,y,label\r\n1,2,1.0\r\n3,4,0\r\n";
    let path = dir.write("t.csv.gz", &gzip(text.as_bytes()));
    let ds = read_classification::<f32>(&path, "label").unwrap();
    assert_eq!(ds.features().data(), &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(ds.labels().unwrap(), &[1, 0]);
    // No trailing newline is fine too.
    let path = dir.write("u.csv", b"x,label\n7,1\n8,0");
    assert_eq!(read_classification::<f32>(&path, "label").unwrap().len(), 2);
}

#[test]
fn regression_reads_real_targets() {
    let dir = TempDir::new("csv-regression");
    let path = dir.write("r.csv", b"age,bmi,target\n59,32.1,151\n48,21.6,75.5\n");
    let ds = read_regression::<f64>(&path, "target").unwrap();
    assert_eq!(ds.features().data(), &[59.0, 32.1, 48.0, 21.6]);
    assert_eq!(ds.values().unwrap().shape(), &[2, 1]);
    assert_eq!(ds.values().unwrap().data(), &[151.0, 75.5]);
}

#[test]
fn a_non_numeric_field_names_line_and_column() {
    let dir = TempDir::new("csv-nan");
    let path = dir.write("t.csv", b"a,b,label\n1,2,0\n3,x4,1\n");
    let err = read_classification::<f32>(&path, "label").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: line 3, column 2 (`b`): `x4` is not a number",
            path.display()
        )
    );
    let (line, column, name, _) = parse_error(err, &path);
    assert_eq!((line, column, name.as_str()), (3, 2, "b"));
}

#[test]
fn empty_and_non_finite_fields_are_errors() {
    let dir = TempDir::new("csv-empty-field");
    let path = dir.write("t.csv", b"a,b,label\n1,,0\n");
    let (line, column, _, msg) = parse_error(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!((line, column, msg.as_str()), (2, 2, "the field is empty"));
    let path = dir.write("u.csv", b"a,b,label\n1,2,0\ninf,2,0\n");
    let (line, column, _, msg) = parse_error(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(
        (line, column, msg.as_str()),
        (3, 1, "`inf` is not a finite number")
    );
    let path = dir.write("v.csv", b"a,target\n1,NaN\n");
    let (_, column, name, msg) =
        parse_error(read_regression::<f32>(&path, "target").unwrap_err(), &path);
    assert_eq!(
        (column, name.as_str(), msg.as_str()),
        (2, "target", "`NaN` is not a finite number")
    );
}

#[test]
fn labels_must_be_non_negative_integers_of_sane_size() {
    let dir = TempDir::new("csv-labels");
    for (field, expected) in [
        ("-1", "`-1` is not a class label (a non-negative integer)"),
        ("1.5", "`1.5` is not a class label (a non-negative integer)"),
        ("two", "`two` is not a class label (a non-negative integer)"),
        (
            "4000000000",
            "label 4000000000 is too large: at most 65536 classes are supported",
        ),
    ] {
        let path = dir.write("t.csv", format!("a,label\n1,0\n2,{field}\n").as_bytes());
        let (line, column, name, msg) = parse_error(
            read_classification::<f32>(&path, "label").unwrap_err(),
            &path,
        );
        assert_eq!((line, column, name.as_str()), (3, 2, "label"), "{field}");
        assert_eq!(msg, expected);
    }
}

#[test]
fn ragged_rows_are_errors() {
    let dir = TempDir::new("csv-ragged");
    let path = dir.write("short.csv", b"a,b,label\n1,2,0\n3,1\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "line 3 has 2 fields but the header has 3 columns");
    let path = dir.write("long.csv", b"a,b,label\n1,2,0,9\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "line 2 has 4 fields but the header has 3 columns");
    let path = dir.write("blank.csv", b"a,b,label\n1,2,0\n\n3,4,1\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "line 3 is empty");
    let path = dir.write("one.csv", b"a,b,label\n1,2,0\n3\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "line 3 has 1 field but the header has 3 columns");
}

#[test]
fn the_label_column_must_exist_once() {
    let dir = TempDir::new("csv-column");
    let path = dir.write("t.csv", b"a,b,class\n1,2,0\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(
        msg,
        "no column named `label` in the header (3 columns: a, b, class)"
    );
    let wide: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
    let path = dir.write("w.csv", format!("{}\n", wide.join(",")).as_bytes());
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(
        msg,
        "no column named `label` in the header (20 columns: c0, c1, c2, c3, c4, …, c18, c19)"
    );
    let path = dir.write("d.csv", b"label,a,label\n1,2,0\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(
        msg,
        "the header names column `label` 2 times (columns 1, 3)"
    );
    let path = dir.write("o.csv", b"label\n1\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(
        msg,
        "the only column is the target `label`; there are no features"
    );
}

#[test]
fn empty_files_header_only_files_and_binary_files_are_errors() {
    let dir = TempDir::new("csv-empty");
    let path = dir.write("e.csv", b"");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "the file is empty: expected a header line");
    let path = dir.write("h.csv", b"a,label\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "the file has a header but no data rows");
    let path = dir.write("b.csv", &[b'a', b',', 0xff, 0xfe, b'\n']);
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "not valid UTF-8 text (first bad byte at offset 2)");
}

#[test]
fn a_truncated_gzip_csv_is_an_error() {
    let dir = TempDir::new("csv-gzip");
    let text: String = std::iter::once("a,label\n".to_string())
        .chain((0..200).map(|i| format!("{i},{}\n", i % 2)))
        .collect();
    let gz = gzip(text.as_bytes());
    let path = dir.write("t.csv.gz", &gz[..gz.len() - 20]);
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "the gzip stream ends early (truncated file)");
}

#[test]
fn quoted_fields_other_delimiters_and_line_numbers_after_crlf() {
    use train::data::csv::CsvOptions;
    let dir = TempDir::new("csv-quoted");
    // Quoted names and numbers, a quoted comma in a header name, CRLF line endings.
    let text = "\u{feff}\"height, m\",\"label\"\r\n\"1.5\",0\r\n 2.5 ,\"1\"\r\n";
    let path = dir.write("q.csv", text.as_bytes());
    let ds = read_classification::<f64>(&path, "label").unwrap();
    assert_eq!(ds.features().data(), &[1.5, 2.5]);
    assert_eq!(ds.labels().unwrap(), &[0, 1]);
    // A bad field after CRLF lines is on the line an editor shows.
    let path = dir.write("e.csv", b"a,label\r\n1,0\r\n2,1\r\nx,0\r\n");
    let (line, column, _, _) = parse_error(
        read_classification::<f64>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!((line, column), (4, 1));
    // A blank line between CRLF rows is found too.
    let path = dir.write("b.csv", b"a,label\r\n1,0\r\n\r\n2,1\r\n");
    let msg = bad_file_message(
        read_classification::<f64>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "line 3 is empty");
    // A quoted field spanning two lines: the next row's error names its own line.
    let path = dir.write("m.csv", b"a,b,label\n1,\"2\n\",0\n3,?,1\n");
    let (line, column, name, msg) = parse_error(
        read_classification::<f64>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!((line, column, name.as_str()), (4, 2, "b"), "{msg}");
    // Tabs and semicolons, as chosen.
    let path = dir.write("t.tsv", b"a\tb\tlabel\n1,5\t2\t0\n3\t4\t1\n");
    let tabs = CsvOptions {
        delimiter: b'\t',
        ..CsvOptions::default()
    };
    let (_, column, _, msg) = parse_error(
        tabs.read_classification::<f64>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!((column, msg.as_str()), (1, "`1,5` is not a number"));
    let path = dir.write("s.csv", b"a;label\n\"1;5\";0\n2;1\n");
    let semi = CsvOptions {
        delimiter: b';',
        ..CsvOptions::default()
    };
    let (line, _, _, msg) = parse_error(
        semi.read_classification::<f64>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!((line, msg.as_str()), (2, "`1;5` is not a number"));
    let err = CsvOptions {
        delimiter: b'"',
        ..CsvOptions::default()
    }
    .read_classification::<f64>(&path, "label")
    .unwrap_err();
    assert!(matches!(err, TrainError::InvalidArgument { .. }), "{err:?}");
}

#[test]
fn values_beyond_the_element_type_are_refused_where_they_stand() {
    let dir = TempDir::new("csv-range");
    // 1e39 is finite in f64 but infinite in f32.
    let path = dir.write("t.csv", b"a,b,label\n1,2,0\n3,1e39,1\n");
    let (line, column, name, msg) = parse_error(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!((line, column, name.as_str()), (3, 2, "b"));
    assert_eq!(
        msg,
        "`1e39` is too large for f32: its largest finite value is about 3.4028234663852886e38"
    );
    assert!(read_classification::<f64>(&path, "label").is_ok());
    let features_only = train::data::csv::read_features::<f32>(&path, "none");
    assert!(matches!(
        features_only,
        Err(TrainError::Parse { line: 3, .. })
    ));
    let path = dir.write("r.csv", b"a,target\n1,-1e39\n");
    let (_, column, _, _) =
        parse_error(read_regression::<f32>(&path, "target").unwrap_err(), &path);
    assert_eq!(column, 2);
    // A huge label names the field as written, not a saturated integer.
    let path = dir.write("l.csv", b"a,label\n1,0\n2,1e39\n");
    let (_, _, _, msg) = parse_error(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(
        msg,
        "label 1e39 is too large: at most 65536 classes are supported"
    );
}

#[test]
fn one_class_and_labels_with_gaps_are_refused_unless_the_count_is_given() {
    use train::data::csv::CsvOptions;
    let dir = TempDir::new("csv-classes");
    let path = dir.write("one.csv", b"a,label\n1,0\n2,0\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(
        msg,
        "the label column `label` holds only one class, 0: a classifier needs at least two"
    );
    let path = dir.write("gap.csv", b"a,label\n1,0\n2,999\n3,0\n");
    let msg = bad_file_message(
        read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(
        msg,
        "the label column `label` holds the labels 0, 999, which leave 998 of the classes 0 to 999 without a sample; renumber the labels 0 to 1, or give the number of classes if the others exist"
    );
    // Stated: gaps are allowed, labels must stay below the count.
    let stated = CsvOptions {
        n_classes: Some(1000),
        ..CsvOptions::default()
    };
    let ds = stated.read_classification::<f32>(&path, "label").unwrap();
    assert_eq!(ds.n_classes(), Some(1000));
    let few = CsvOptions {
        n_classes: Some(10),
        ..CsvOptions::default()
    };
    let (line, _, _, msg) = parse_error(
        few.read_classification::<f32>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(
        (line, msg.as_str()),
        (3, "label 999 is not below the number of classes, 10")
    );
}

/// A table of `n` rows of `d` numeric features and a label, every field a few characters.
fn wide_table(n: usize, d: usize) -> String {
    let mut text: String = (0..d).map(|j| format!("x{j},")).collect();
    text.push_str("label\n");
    for i in 0..n {
        for j in 0..d {
            text.push_str(&format!("{}.{:03},", (i + j) % 97, (i * 7 + j) % 1000));
        }
        text.push_str(&format!("{}\n", i % 3));
    }
    text
}

#[test]
fn loading_holds_the_parsed_table_not_the_file() {
    // 40,000 rows of 20 features: 3.2 MB of f32 (and 0.3 MB of labels) from about 7 MB of
    // text. Reading the whole file first would hold the text beside the table.
    let (n, d) = (40_000, 20);
    let text = wide_table(n, d);
    let dir = TempDir::new("csv-memory");
    for (name, bytes) in [
        ("t.csv", text.clone().into_bytes()),
        ("t.csv.gz", gzip(text.as_bytes())),
    ] {
        let path = dir.write(name, &bytes);
        let (ds, peak) =
            crate::alloc::peak_bytes(|| read_classification::<f32>(&path, "label").unwrap());
        assert_eq!((ds.len(), ds.n_features()), (n, d));
        let parsed = n * d * 4 + n * std::mem::size_of::<usize>();
        // The vectors grow by an eighth at a time; the buffers are a few hundred KiB.
        let bound = parsed + parsed / 4 + 2 * 1024 * 1024;
        assert!(peak < bound, "{name}: peak {peak} bytes, bound {bound}");
        assert!(peak < text.len(), "{name}: peak {peak} bytes");
    }
}

#[test]
fn lines_are_counted_across_buffers_and_every_line_ending() {
    let dir = TempDir::new("csv-far-lines");
    // A bad field 100,000 rows down, after a quoted field spanning two lines: line numbers
    // stay right across many refills of the reader's buffers.
    let mut text = String::from("a,b,label\n1,\"2\n\",0\n");
    for i in 0..100_000 {
        text.push_str(&format!("{i},{},{}\n", i + 1, i % 2));
    }
    text.push_str("5,oops,1\n");
    let path = dir.write("far.csv", text.as_bytes());
    let (line, column, name, msg) = parse_error(
        read_classification::<f64>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!((line, column, name.as_str()), (100_004, 2, "b"), "{msg}");
    // Lone `\r` line endings, as old Mac files have: each ends a line.
    let path = dir.write("cr.csv", b"a,label\r1,0\r2,1\rx,0\r");
    let (line, _, _, _) = parse_error(
        read_classification::<f64>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(line, 4);
    let path = dir.write("crb.csv", b"a,label\r1,0\r\r2,1\r");
    let msg = bad_file_message(
        read_classification::<f64>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "line 3 is empty");
    // A file of blank lines and spaces is empty.
    let path = dir.write("spaces.csv", b"  \n\n \r\n");
    let msg = bad_file_message(
        read_classification::<f64>(&path, "label").unwrap_err(),
        &path,
    );
    assert_eq!(msg, "the file is empty: expected a header line");
}
