//! The `tapegrad` command-line program; see `tapegrad --help` and the `train::cli` module.

fn main() -> std::process::ExitCode {
    train::cli::main()
}
