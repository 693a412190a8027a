//! Fuzzing the readers: the CSV, IDX and checkpoint readers get valid files mutated at
//! random — bits flipped, cut short, spliced with pieces of other files or with tokens that
//! readers trip on, stretched by repeating a part, bytes overwritten with extremes — raw and
//! gzip-compressed. Whatever comes in, a reader returns (`Ok` or an error), never panics,
//! never hangs (a watchdog aborts the run if one case takes more than 10 seconds), and never
//! holds more than [`bound`] bytes at once.
//!
//! Each reader gets `TAPEGRAD_FUZZ_CASES` cases (10,000 if unset); a longer run is
//! `TAPEGRAD_FUZZ_CASES=1000000 cargo test --release -p tapegrad-train --test train fuzz`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};
use tape::Array;
use train::checkpoint::Checkpoint;
use train::data::csv::CsvOptions;
use train::data::idx::{parse_images, parse_labels};

use crate::alloc::peak_bytes;
use crate::common::{TempDir, gzip};

/// The most bytes a reader may hold at once for a file whose content (decompressed, if it is
/// gzip) is `len` bytes: 1 MiB, plus 64 bytes per byte of content.
fn bound(len: usize) -> usize {
    (1 << 20) + 64 * len
}

/// How many cases each reader gets.
fn cases() -> u32 {
    std::env::var("TAPEGRAD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// One change to a file.
#[derive(Clone, Debug)]
enum Mutation {
    /// Flip one bit.
    Flip(Index, u8),
    /// Keep only the first part.
    Cut(Index),
    /// Insert a token at a place.
    Insert(Index, &'static [u8]),
    /// Insert a part of another seed file.
    Splice(Index, usize, Index, Index),
    /// Repeat a part of the file, up to 64 times.
    Repeat(Index, Index, u8),
    /// Overwrite four bytes with an extreme value.
    Overwrite(Index, [u8; 4]),
}

/// Tokens that readers have reasons to trip on.
const TOKENS: &[&[u8]] = &[
    b",",
    b";",
    b"\"",
    b"\"\"",
    b"\n",
    b"\r\n",
    b"\r",
    b"\n\n",
    b"1e39",
    b"-1e400",
    b"NaN",
    b"inf",
    b"-1",
    b"18446744073709551616",
    b"65536",
    b"3.5",
    b"",
    b"label",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\0",
    b"{",
    b"}",
    b"\"shape\":[4294967295,4294967295]",
    b"\"dtype\":\"F16\"",
    b"\"data_offsets\":[0,18446744073709551615]",
    b"__metadata__",
    b"\x1f\x8b",
];

fn mutation(n_seeds: usize) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        1 => any::<Index>().prop_map(Mutation::Cut),
        2 => (any::<Index>(), prop::sample::select(TOKENS)).prop_map(|(i, t)| Mutation::Insert(i, t)),
        1 => (any::<Index>(), 0..n_seeds, any::<Index>(), any::<Index>())
            .prop_map(|(i, s, a, b)| Mutation::Splice(i, s, a, b)),
        1 => (any::<Index>(), any::<Index>(), 1u8..64).prop_map(|(a, b, n)| Mutation::Repeat(a, b, n)),
        1 => (any::<Index>(), prop::sample::select(vec![
            [0xff; 4], [0; 4], [0x7f, 0xff, 0xff, 0xff], [0x80, 0, 0, 0], [0, 0, 0, 1],
        ])).prop_map(|(i, v)| Mutation::Overwrite(i, v)),
    ]
}

/// The range `a..b` of a slice of `len` bytes chosen by two indices, in order.
fn range(a: &Index, b: &Index, len: usize) -> std::ops::Range<usize> {
    let (x, y) = (a.index(len + 1), b.index(len + 1));
    x.min(y)..x.max(y)
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation, seeds: &[Vec<u8>]) {
    let len = bytes.len();
    match m {
        Mutation::Flip(i, bit) if len > 0 => bytes[i.index(len)] ^= 1 << bit,
        Mutation::Flip(..) => {}
        Mutation::Cut(i) => bytes.truncate(i.index(len + 1)),
        Mutation::Insert(i, token) => {
            let at = i.index(len + 1);
            bytes.splice(at..at, token.iter().copied());
        }
        Mutation::Splice(i, s, a, b) => {
            let other = &seeds[*s];
            let part = other[range(a, b, other.len())].to_vec();
            let at = i.index(len + 1);
            bytes.splice(at..at, part);
        }
        Mutation::Repeat(a, b, n) => {
            let r = range(a, b, len);
            let part = bytes[r.clone()].to_vec();
            let copies: Vec<u8> = part
                .iter()
                .copied()
                .cycle()
                .take(part.len() * *n as usize)
                .collect();
            bytes.splice(r.end..r.end, copies);
        }
        Mutation::Overwrite(i, v) if len >= 4 => {
            let at = i.index(len - 3);
            bytes[at..at + 4].copy_from_slice(v);
        }
        Mutation::Overwrite(..) => {}
    }
}

/// The case being run and when it started, for the watchdog.
static CURRENT: Mutex<Option<(Instant, String)>> = Mutex::new(None);

/// Starts (once) a thread that aborts the process if a case runs for more than 10 seconds,
/// printing which: a hang must fail the run, not stall it.
fn watchdog() {
    static START: std::sync::Once = std::sync::Once::new();
    START.call_once(|| {
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let current = CURRENT.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((started, what)) = current.as_ref() {
                    if started.elapsed() > Duration::from_secs(10) {
                        eprintln!("fuzz: a reader hangs on {what}");
                        std::process::abort();
                    }
                }
            }
        });
    });
}

/// Runs `read` on each mutation of the seeds for [`cases`] cases, checking the bound on
/// memory; returns how many inputs were accepted and the largest peak seen.
fn fuzz(name: &str, seeds: Vec<Vec<u8>>, read: impl Fn(&[u8]) -> bool) -> (u32, usize) {
    watchdog();
    let n_seeds = seeds.len();
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    let accepted = std::cell::Cell::new(0u32);
    let largest = std::cell::Cell::new(0usize);
    let strategy = (
        0..n_seeds,
        prop::collection::vec(mutation(n_seeds), 1..6),
        any::<bool>(),
    );
    let result = runner.run(&strategy, |(seed, mutations, compress)| {
        let mut bytes = seeds[seed].clone();
        for m in &mutations {
            apply(&mut bytes, m, &seeds);
        }
        let content = bytes.len();
        if compress {
            bytes = gzip(&bytes);
        }
        *CURRENT.lock().unwrap() =
            Some((Instant::now(), format!("{name} seed {seed} {mutations:?}")));
        let (ok, peak) = peak_bytes(|| read(&bytes));
        *CURRENT.lock().unwrap() = None;
        accepted.set(accepted.get() + u32::from(ok));
        largest.set(largest.get().max(peak));
        prop_assert!(
            peak <= bound(content),
            "{name}: {peak} bytes held at once for a file of {content} bytes of content"
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!(
        "fuzz {name}: {} cases, {} accepted, largest peak {} bytes",
        cases(),
        accepted.get(),
        largest.get()
    );
    (accepted.get(), largest.get())
}

#[test]
fn the_csv_reader_survives_mutated_files() {
    let seeds: Vec<Vec<u8>> = vec![
        b"a,b,label\n1.5,2,0\n-3,4e2,1\n0,0,2\n".to_vec(),
        b"\xef\xbb\xbf\"x, y\",z,label\r\n\"1\",2,1\r\n3,\"4\",0\r\n".to_vec(),
        b"p0,p1,p2,p3,label\n0,1,2,3,0\n4,5,6,7,1\n8,9,10,11,1\n12,13,14,15,0\n".to_vec(),
        b"a,label,b\n1,0,2\n3,1,4\n".to_vec(),
    ];
    let name = Path::new("fuzz.csv");
    let semicolons = CsvOptions {
        delimiter: b';',
        n_classes: Some(3),
    };
    let (accepted, _) = fuzz("csv", seeds, |bytes| {
        let a = CsvOptions::default().parse_classification::<f32>(bytes, name, "label");
        let b = CsvOptions::default().parse_features::<f64>(bytes, name, "label");
        let c = semicolons.parse_classification::<f32>(bytes, name, "label");
        if let Ok(ds) = &a {
            assert!(ds.features().data().iter().all(|v| v.is_finite()));
            assert!(ds.n_classes().unwrap() >= 2);
        }
        a.is_ok() || b.is_ok() || c.is_ok()
    });
    assert!(
        accepted > 0,
        "no mutated file was accepted: the seeds are broken"
    );
}

#[test]
fn the_idx_reader_survives_mutated_files() {
    let idx = |dims: &[u32], data: &[u8]| {
        let mut out = vec![0, 0, 0x08, dims.len() as u8];
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(data);
        out
    };
    let pixels: Vec<u8> = (0..72).map(|i| (i * 37 % 256) as u8).collect();
    let seeds = vec![
        idx(&[2, 6, 6], &pixels),
        idx(&[3, 2, 4], &pixels[..24]),
        idx(&[5], &[1, 2, 3, 4, 9]),
        gzip(&idx(&[4], &[0, 1, 2, 3])),
    ];
    let name = Path::new("fuzz-idx");
    let (accepted, _) = fuzz("idx", seeds, |bytes| {
        let images = parse_images::<f32>(bytes, name);
        if let Ok(a) = &images {
            assert!(a.shape().iter().all(|&d| d > 0));
            assert!(a.data().iter().all(|&v| (0.0..=1.0).contains(&v)));
        }
        images.is_ok() | parse_labels(bytes, name).is_ok()
    });
    assert!(
        accepted > 0,
        "no mutated file was accepted: the seeds are broken"
    );
}

#[test]
fn the_checkpoint_reader_survives_mutated_files() {
    use nn::{Activation, Mlp};
    let dir = TempDir::new("fuzz-ckpt");
    let mut seeds = Vec::new();
    for (i, sizes) in [vec![3, 4, 2], vec![2, 2]].iter().enumerate() {
        let path = dir.path().join(format!("m{i}.safetensors"));
        let mlp = Mlp::<f32>::new(sizes, Activation::Tanh, i as u64).unwrap();
        let meta = BTreeMap::from([("activation".to_string(), "tanh".to_string())]);
        train::checkpoint::save_model(&path, &mlp, &meta).unwrap();
        seeds.push(std::fs::read(&path).unwrap());
    }
    let path = dir.path().join("w64.safetensors");
    let w = Array::from_vec(vec![1.0f64, -2.0, 0.5], &[3]).unwrap();
    train::checkpoint::save(&path, [("w", &w)], &BTreeMap::new()).unwrap();
    seeds.push(std::fs::read(&path).unwrap());
    let name = Path::new("fuzz.safetensors");
    let (accepted, _) = fuzz("checkpoint", seeds, |bytes| {
        let a = Checkpoint::<f32>::from_bytes(bytes, name);
        if let Ok(ck) = &a {
            for t in ck.tensors.values() {
                assert!(t.data().iter().all(|v| v.is_finite()));
            }
        }
        a.is_ok() | Checkpoint::<f64>::from_bytes(bytes, name).is_ok()
    });
    assert!(
        accepted > 0,
        "no mutated file was accepted: the seeds are broken"
    );
}
