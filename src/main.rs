//! The `tapegrad` command-line program.

fn main() {
    println!("tapegrad {}", env!("CARGO_PKG_VERSION"));
}
