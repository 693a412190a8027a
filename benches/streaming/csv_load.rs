//! Reads a CSV classification table with `train::data::csv` and prints rows per second, for
//! the reader's figures in docs/PERFORMANCE.md.
//!
//! ```text
//! cargo run --release --example csv_load -- FILE.csv [label]
//! ```

use std::time::Instant;

use tapegrad::train;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: csv_load FILE.csv [LABEL_COLUMN]");
        std::process::exit(2);
    };
    let label = args.get(2).map_or("label", String::as_str);
    let start = Instant::now();
    let ds = train::data::csv::read_classification::<f32>(path, label)?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{} rows, {} features in {seconds:.2} s: {:.0} rows/s",
        ds.len(),
        ds.n_features(),
        ds.len() as f64 / seconds
    );
    Ok(())
}
