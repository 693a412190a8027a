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

use crate::distributed::Collective;
use crate::{Result, TrainError};

pub use args::{
    ActivationName, Cli, Command, Dtype, EvaluateArgs, OptimizerName, PredictArgs, Scale,
    ScheduleName, Split, TrainArgs,
};
use model_file::AnySavedMlp;

/// `train` in the element type `--dtype` names.
fn train_as(
    args: &TrainArgs,
    out: &mut dyn Write,
    show: bool,
    group: Option<std::rc::Rc<dyn Collective>>,
) -> Result<()> {
    match args.dtype {
        Dtype::F32 => fit::train::<f32>(args, out, show, group),
        Dtype::F64 => fit::train::<f64>(args, out, show, group),
    }
}

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
///
/// Built with the feature `mpi` and started by `mpirun`, `train` runs on all the ranks
/// together (see [`crate::distributed`]); rank 0 alone prints, plots and saves. An error
/// that one rank alone meets ends the whole job: the rank prints it and aborts MPI, and
/// `mpirun` stops the others.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    signals::clean_up_on_interrupt();
    let group = match launched_group() {
        Ok(group) => group,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = run_in(cli, &mut out, group.clone().map(|g| g as _));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `tapegrad predict | head`: the reader has seen enough; that is not a failure.
        Err(TrainError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = out.flush();
            match &group {
                // Every rank met it at the same step; rank 0 says it for all.
                Some(g) if g.size() > 1 && shared(&e) => {
                    if g.rank() == 0 {
                        write_error_line(&format!("error: {e}"));
                    }
                }
                Some(g) if g.size() > 1 => {
                    write_error_line(&format!("error (rank {} of {}): {e}", g.rank(), g.size()));
                    abort(g);
                }
                _ => write_error_line(&format!("error: {e}")),
            }
            ExitCode::FAILURE
        }
    }
}

/// Writes `line` to standard error in one piece, so that the lines of several processes
/// sharing it (under `mpirun`) do not interleave.
fn write_error_line(line: &str) {
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// The ranks `mpirun` started, when built with `mpi` and started by it.
#[cfg(feature = "mpi")]
fn launched_group() -> Result<Option<std::rc::Rc<crate::distributed::MpiCommunicator>>> {
    use crate::distributed::MpiCommunicator;
    Ok(match MpiCommunicator::launched() {
        true => Some(std::rc::Rc::new(MpiCommunicator::init()?)),
        false => None,
    })
}

#[cfg(not(feature = "mpi"))]
fn launched_group() -> Result<Option<std::rc::Rc<crate::distributed::SingleProcess>>> {
    Ok(None)
}

/// Whether every rank of a group meets error `e` at the same point: a non-finite loss is a
/// sum over the ranks, so all of them stop at the same step and end normally. Any other
/// error may be one rank's alone, while the others wait for it in a collective.
fn shared(e: &TrainError) -> bool {
    matches!(e, TrainError::NonFinite { .. })
}

/// Ends the job after an error of this rank alone (see [`shared`]).
#[cfg(feature = "mpi")]
fn abort(group: &crate::distributed::MpiCommunicator) {
    group.abort(1);
}

#[cfg(not(feature = "mpi"))]
fn abort(_: &crate::distributed::SingleProcess) {}

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
    run_in(cli, out, None)
}

/// [`run`] as one rank of `group`: `train` shares each batch among the ranks (see
/// [`crate::trainer::Trainer::with_collective`]), and only rank 0 writes to `out`, shows
/// the progress bar and writes `--save` and `--plot`. The other commands run on every rank
/// alike. `None` is [`run`].
///
/// ```
/// use std::rc::Rc;
/// use clap::Parser;
/// use train::cli::{run_in, Cli};
/// use train::distributed::SingleProcess;
/// let cli = Cli::try_parse_from(["tapegrad", "--hidden", "16", "--epochs", "1", "--quiet"])?;
/// let mut out = Vec::new();
/// run_in(cli, &mut out, Some(Rc::new(SingleProcess)))?; // rank 0 of 1 prints
/// assert!(String::from_utf8(out)?.starts_with("test accuracy: "));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// As [`run`].
pub fn run_in(
    cli: Cli,
    out: &mut dyn Write,
    group: Option<std::rc::Rc<dyn Collective>>,
) -> Result<()> {
    let terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    match cli.into_command() {
        Command::Train(args) => {
            let rank = group.as_ref().map_or(0, |g| g.rank());
            if rank > 0 {
                // The others compute; rank 0 speaks and writes.
                let quiet = TrainArgs {
                    save: None,
                    save_state: false,
                    plot: None,
                    quiet: true,
                    ..args
                };
                return train_as(&quiet, &mut std::io::sink(), false, group);
            }
            train_as(&args, out, terminal && !args.quiet, group)
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
