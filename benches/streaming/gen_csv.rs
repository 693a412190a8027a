//! Writes a seeded CSV classification table for the streaming measurements of
//! docs/PERFORMANCE.md: 20 numeric features and a `label` column of 4 classes.
//!
//! Each feature is `offset_j + scale_j · z` with `z` standard normal, so that standardising
//! matters; the label is the class whose fixed random direction has the largest dot product
//! with `z`, plus Gaussian noise (so about 80–90 % is learnable).
//!
//! ```text
//! cargo run --release --example gen_csv -- ROWS OUT.csv [SEED]
//! ```
//!
//! The same `ROWS` and `SEED` give the same bytes. It uses no random-number crate: SplitMix64
//! and Box–Muller are a few lines and fix the stream for good.

use std::io::{BufWriter, Write};

const FEATURES: usize = 20;
const CLASSES: usize = 4;

/// SplitMix64: a seeded stream of 64-bit words.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller, one of the pair).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(rows), Some(out)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: gen_csv ROWS OUT.csv [SEED]");
        std::process::exit(2);
    };
    let rows: u64 = rows
        .replace('_', "")
        .parse()
        .expect("ROWS is a whole number");
    let seed: u64 = args
        .get(3)
        .map_or(1, |s| s.parse().expect("SEED is a whole number"));
    let mut rng = SplitMix(seed);
    let offsets: Vec<f64> = (0..FEATURES).map(|_| 10.0 * rng.normal()).collect();
    let scales: Vec<f64> = (0..FEATURES).map(|_| 0.1 + 5.0 * rng.uniform()).collect();
    let directions: Vec<f64> = (0..CLASSES * FEATURES).map(|_| rng.normal()).collect();

    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    for j in 0..FEATURES {
        write!(w, "x{j},")?;
    }
    writeln!(w, "label")?;
    let mut z = [0.0f64; FEATURES];
    for _ in 0..rows {
        for (j, zj) in z.iter_mut().enumerate() {
            *zj = rng.normal();
            write!(w, "{:.4},", offsets[j] + scales[j] * *zj)?;
        }
        let label = (0..CLASSES)
            .map(|c| {
                let d = &directions[c * FEATURES..(c + 1) * FEATURES];
                z.iter().zip(d).map(|(a, b)| a * b).sum::<f64>() + 1.5 * rng.normal()
            })
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(c, _)| c);
        writeln!(w, "{label}")?;
    }
    w.flush()
}
