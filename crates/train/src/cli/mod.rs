//! The `tapegrad` command-line program: train an MLP, evaluate saved weights, predict.
//!
//! `src/main.rs` of the `tapegrad` package only calls [`main`]; everything else is here, so it
//! can be tested and reused. [`run`] runs a parsed [`Cli`] and writes what the program prints
//! to any [`Write`]:
//!
//! ```
//! use clap::Parser;
//! use train::cli::{run, Cli};
//!
//! // Two epochs of a small MLP on the built-in digits, printing only the result.
//! let cli = Cli::try_parse_from(["tapegrad", "--hidden", "32", "--epochs", "2", "--quiet"])?;
//! let mut out = Vec::new();
//! run(cli, &mut out)?;
//! let out = String::from_utf8(out)?;
//! assert!(out.starts_with("test accuracy: "), "{out}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - `tapegrad` (or `tapegrad train`) trains: the data is split (unless it has a test split
//!   of its own), features are standardised with statistics of the training part, an MLP
//!   with the chosen hidden widths and activation is trained with softmax cross-entropy, and
//!   a table reports loss and accuracy per epoch. `--save` writes the weights (see
//!   [`crate::checkpoint`]; the activation and the standardisation go into the metadata),
//!   `--plot` the curves as SVG.
//! - `tapegrad evaluate --weights W` reports loss and accuracy of saved weights.
//! - `tapegrad predict --weights W` prints the predicted class of every sample.
//!
//! Every mistake in the input is an error naming what is wrong — an option's value, a file,
//! a line of a CSV file — and the program exits with a non-zero status, never a panic.

mod apply;
mod args;
mod fit;
mod model_file;
mod outputs;
mod plot;
mod report;
mod signals;
mod source;
mod stream;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::{Result, TrainError};

pub use args::{
    ActivationName, Cli, Command, Dtype, EvaluateArgs, OptimizerName, PredictArgs, Scale,
    ScheduleName, Split, TrainArgs,
};
use model_file::AnySavedMlp;

/// Samples per forward pass in evaluation and prediction (memory only: results do not
/// depend on it).
const EVAL_BATCH: usize = 1000;

/// The program: parses the command line, runs it, prints any error to standard error, and
/// returns the exit status — 0 on success, 1 on an error, 2 for a command line that does not
/// parse (with `clap`'s message and usage). SIGINT and SIGTERM end it as usual, but remove
/// the temporary file of a save in progress first.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     train::cli::main()
/// }
/// ```
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    signals::clean_up_on_interrupt();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match run(cli, &mut out) {
        Ok(()) => ExitCode::SUCCESS,
        // `tapegrad predict | head`: the reader has seen enough; that is not a failure.
        Err(TrainError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = out.flush();
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a parsed command line, writing the program's output to `out`.
///
/// The progress bar of `train` goes to standard error, and only when both standard output
/// and standard error are terminals and `--quiet` is not given.
///
/// ```
/// use clap::Parser;
/// let cli = train::cli::Cli::try_parse_from(["tapegrad", "--data", "no/such/dir"])?;
/// let err = train::cli::run(cli, &mut Vec::new()).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "--data: `no/such/dir` does not exist; give a directory of IDX files (MNIST) or a CSV file"
/// );
/// # Ok::<(), clap::Error>(())
/// ```
///
/// # Errors
/// Any [`TrainError`]: a missing or malformed data file or checkpoint, options that do not
/// go together, a model that does not fit the data, a non-finite loss, a file that cannot
/// be written.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<()> {
    let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    match cli.into_command() {
        Command::Train(args) => {
            let show = terminal && !args.quiet;
            match args.dtype {
                Dtype::F32 => fit::train::<f32>(&args, out, show),
                Dtype::F64 => fit::train::<f64>(&args, out, show),
            }
        }
        Command::Evaluate(args) => match model_file::load_noting(&args.weights)? {
            AnySavedMlp::F32(m) => apply::evaluate(&m, &args, out),
            AnySavedMlp::F64(m) => apply::evaluate(&m, &args, out),
        },
        Command::Predict(args) => match model_file::load_noting(&args.data.weights)? {
            AnySavedMlp::F32(m) => apply::predict(&m, &args, out),
            AnySavedMlp::F64(m) => apply::predict(&m, &args, out),
        },
    }
}
