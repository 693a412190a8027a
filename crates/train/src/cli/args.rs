//! The command line, as `clap` derive types: [`Cli`], its subcommands and their options.
//!
//! The doc comments of the fields are the program's `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The `tapegrad` command line: a subcommand, or the options of `train` (the default).
///
/// ```
/// use clap::Parser;
/// use train::cli::{Cli, Command};
///
/// // No subcommand: train, with the options given.
/// let cli = Cli::try_parse_from(["tapegrad", "--hidden", "64", "--epochs", "3"])?;
/// let Command::Train(args) = cli.into_command() else { unreachable!() };
/// assert_eq!((args.hidden, args.epochs), (vec![64], 3));
///
/// let cli = Cli::try_parse_from(["tapegrad", "evaluate", "--weights", "w.safetensors"])?;
/// assert!(matches!(cli.into_command(), Command::Evaluate(_)));
///
/// // Bad values are refused with a message naming the option.
/// let err = Cli::try_parse_from(["tapegrad", "--hidden", "256,x"]).unwrap_err();
/// assert!(err.to_string().contains("--hidden"));
/// # Ok::<(), clap::Error>(())
/// ```
#[derive(Clone, Debug, Parser)]
#[command(
    name = "tapegrad",
    version,
    about = "Train, evaluate and apply multi-layer perceptrons with tapegrad.",
    long_about = "Train, evaluate and apply multi-layer perceptrons with tapegrad.\n\n\
        With no subcommand, trains: by default an MLP on the handwritten digits built into the \
        program (1,797 images of 8x8 pixels), reporting loss and accuracy per epoch.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; training if absent.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The options of training, when no subcommand is given.
    #[command(flatten)]
    pub train: TrainArgs,
}

impl Cli {
    /// The command to run: the subcommand, or `train` with the top-level options.
    ///
    /// ```
    /// use clap::Parser;
    /// let cli = train::cli::Cli::try_parse_from(["tapegrad"])?;
    /// assert!(matches!(cli.into_command(), train::cli::Command::Train(_)));
    /// # Ok::<(), clap::Error>(())
    /// ```
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Train(self.train))
    }
}

/// The subcommands.
///
/// ```
/// use clap::Parser;
/// let cli = train::cli::Cli::try_parse_from(
///     ["tapegrad", "predict", "--weights", "w.safetensors", "--limit", "5"],
/// )?;
/// let train::cli::Command::Predict(p) = cli.into_command() else { unreachable!() };
/// assert_eq!(p.limit, Some(5));
/// # Ok::<(), clap::Error>(())
/// ```
#[derive(Clone, Debug, Subcommand)]
// One value per process, parsed once: the size of its largest variant costs nothing worth a
// `Box` that every user of `Command::Train` would have to see through.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Train an MLP and report loss and accuracy per epoch (the default).
    Train(TrainArgs),
    /// Loss and accuracy of saved weights on a data set.
    Evaluate(EvaluateArgs),
    /// The predicted class of each sample of a data set.
    Predict(PredictArgs),
}

/// The options of `tapegrad train`.
///
/// [`Default`] gives the values the program uses when an option is absent.
///
/// ```
/// let args = train::cli::TrainArgs::default();
/// assert_eq!((args.hidden, args.epochs, args.batch_size), (vec![256, 128], 30, 32));
/// ```
#[derive(Clone, Debug, Args)]
pub struct TrainArgs {
    /// Training data: a directory of MNIST-style IDX files (train-images-idx3-ubyte[.gz] and
    /// the three others), or a CSV file with a header line. Default: the built-in digits.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,

    /// The CSV column holding the class labels (0, 1, 2, ...) [default: label].
    #[arg(long, value_name = "NAME")]
    pub label_column: Option<String>,

    /// The number of classes, for a CSV file whose labels do not all occur in it (labels
    /// 0 to N-1). Without it, the labels must be 0, 1, 2, ... with every class present.
    #[arg(long, value_name = "N", value_parser = parse_classes)]
    pub classes: Option<usize>,

    /// The character between the fields of a CSV file [default: ,]; `tab` for tabs.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// Fraction of the samples held out for testing, for data without a test split of its own
    /// (the digits, a CSV file) [default: 0.2].
    #[arg(long, value_name = "F", value_parser = parse_fraction, allow_negative_numbers = true)]
    pub test_fraction: Option<f64>,

    /// Widths of the hidden layers, comma-separated.
    #[arg(long, value_name = "WIDTHS", value_delimiter = ',', default_value = "256,128",
          value_parser = parse_width)]
    pub hidden: Vec<usize>,

    /// How features are scaled before training (statistics of the training part, saved with
    /// the weights): per feature to mean 0 and standard deviation 1, all features by one
    /// common mean and standard deviation, or not at all; auto is global for the images of an
    /// IDX directory and standard for tables.
    #[arg(long, value_enum, default_value_t = Scale::Auto)]
    pub scale: Scale,

    /// The activation between layers.
    #[arg(long, value_enum, default_value_t = ActivationName::Relu)]
    pub activation: ActivationName,

    /// Passes over the training data.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = parse_count)]
    pub epochs: usize,

    /// Samples per mini-batch.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = parse_count)]
    pub batch_size: usize,

    /// The optimiser.
    #[arg(long, value_enum, default_value_t = OptimizerName::Adam)]
    pub optimizer: OptimizerName,

    /// Learning rate (at the first epoch, with a schedule) [default: 0.001 for adam and
    /// adamw, 0.05 for sgd].
    #[arg(long, value_name = "LR", value_parser = parse_positive, allow_negative_numbers = true)]
    pub lr: Option<f64>,

    /// How the learning rate changes over the epochs: constant, or cosine annealing down to
    /// 1% of --lr at the last epoch.
    #[arg(long, value_enum, default_value_t = ScheduleName::Cosine)]
    pub schedule: ScheduleName,

    /// Momentum, for sgd only, in [0, 1) [default: 0.9].
    #[arg(long, value_name = "M", value_parser = parse_momentum, allow_negative_numbers = true)]
    pub momentum: Option<f64>,

    /// Weight decay: an L2 penalty for sgd and adam, decoupled for adamw [default: 0, and
    /// 0.01 for adamw].
    #[arg(long, value_name = "W", value_parser = parse_non_negative, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,

    /// Clip the gradients before each update so that their global L2 norm is at most MAX
    /// (PyTorch's clip_grad_norm_).
    #[arg(long, value_name = "MAX", value_parser = parse_positive, allow_negative_numbers = true)]
    pub clip_grad_norm: Option<f64>,

    /// Visit the training samples in their stored order every epoch, not shuffled.
    #[arg(long)]
    pub no_shuffle: bool,

    /// Seed of the initial weights, the train/test split and the batch order.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Train on a CSV file larger than memory, without loading it: one pass parses and
    /// checks every row and writes the parsed rows to a temporary spill file, two passes
    /// find the training part's statistics, and each epoch reads the rows again, shuffling
    /// within a buffer of --shuffle-buffer rows. The same test rows as without it; with a
    /// buffer that holds the whole training part, the same run, bit for bit. Under mpirun,
    /// each process reads only its share of the file.
    #[arg(long)]
    pub stream: bool,

    /// With --stream: the directory of the spill file (it needs about the size of the parsed
    /// table: 4 bytes a number in f32, 8 in f64) [default: the system's temporary directory,
    /// TMPDIR]
    #[arg(
        long,
        value_name = "DIR",
        requires = "stream",
        conflicts_with = "no_spill"
    )]
    pub spill_dir: Option<PathBuf>,

    /// With --stream: no spill file; every pass parses the text of the file again (slower,
    /// but no disk space taken)
    #[arg(long, requires = "stream")]
    pub no_spill: bool,

    /// With --stream: the rows an epoch shuffles at once; a row only mixes with the rows of
    /// its own buffer load, which come in file order [default: 65536].
    #[arg(long, value_name = "ROWS", requires = "stream", value_parser = parse_count)]
    pub shuffle_buffer: Option<usize>,

    /// Threads that share each batch (data parallelism): the batch is cut into W shards,
    /// each run on its own tape and thread, and their gradients summed in a fixed order
    /// before one update. The same steps as one worker up to the rounding of the sums, and
    /// the same bits for the same W. Matrix products use TAPEGRAD_THREADS threads on top.
    #[arg(long, value_name = "W", default_value_t = 1, value_parser = parse_count)]
    pub workers: usize,

    /// Element type of the computation and of the saved weights.
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    pub dtype: Dtype,

    /// Save the trained weights (safetensors; PyTorch's layout and names).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,

    /// With --save: store the whole training state in the same file, beside the weights
    /// (the optimiser's moments and step counts, the epochs done; under names of their own,
    /// `optimizer.*` and `train.*`), and write it after every epoch, so that a run that is
    /// interrupted can be continued with --resume.
    #[arg(long, requires = "save")]
    pub save_state: bool,

    /// Continue the run whose state FILE holds (written with --save-state), from its last
    /// complete epoch to --epochs; give the options of that run (--epochs, --lr, the outputs
    /// and the threads may differ). With the same options and threads, the weights at the end
    /// are those of the uninterrupted run, bit for bit.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,

    /// Plot loss and accuracy per epoch to an SVG file.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,

    /// Print only the final result: no progress bar, no table.
    #[arg(long, short)]
    pub quiet: bool,
}

impl Default for TrainArgs {
    fn default() -> Self {
        TrainArgs {
            data: None,
            label_column: None,
            classes: None,
            delimiter: None,
            test_fraction: None,
            hidden: vec![256, 128],
            scale: Scale::Auto,
            activation: ActivationName::Relu,
            epochs: 30,
            batch_size: 32,
            optimizer: OptimizerName::Adam,
            lr: None,
            schedule: ScheduleName::Cosine,
            momentum: None,
            weight_decay: None,
            clip_grad_norm: None,
            no_shuffle: false,
            seed: 0,
            stream: false,
            spill_dir: None,
            no_spill: false,
            shuffle_buffer: None,
            workers: 1,
            dtype: Dtype::F32,
            save: None,
            save_state: false,
            resume: None,
            plot: None,
            quiet: false,
        }
    }
}

/// The options of `tapegrad evaluate`: saved weights and the data to measure them on.
///
/// ```
/// use clap::Parser;
/// let cli = train::cli::Cli::try_parse_from(
///     ["tapegrad", "evaluate", "--weights", "w.safetensors", "--split", "all"],
/// )?;
/// let train::cli::Command::Evaluate(e) = cli.into_command() else { unreachable!() };
/// assert_eq!(e.split, Some(train::cli::Split::All));
/// # Ok::<(), clap::Error>(())
/// ```
#[derive(Clone, Debug, Args)]
pub struct EvaluateArgs {
    /// Weights saved by `tapegrad train --save`.
    #[arg(long, value_name = "FILE")]
    pub weights: PathBuf,

    /// The data: an IDX directory or a CSV file, as for training. Default: the built-in
    /// digits.
    #[arg(long, value_name = "PATH")]
    pub data: Option<PathBuf>,

    /// The CSV column holding the class labels [default: label].
    #[arg(long, value_name = "NAME")]
    pub label_column: Option<String>,

    /// The character between the fields of a CSV file [default: ,]; `tab` for tabs.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,

    /// Which samples: the test part (the IDX test files, or the part of a CSV file or of the
    /// digits that training held out, with the fraction and seed saved with the weights),
    /// the training part, or all [default: test; all for a CSV file without labels].
    #[arg(long, value_enum)]
    pub split: Option<Split>,
}

/// The options of `tapegrad predict`: those of `evaluate`, and how many samples to show.
///
/// ```
/// use clap::Parser;
/// let cli = train::cli::Cli::try_parse_from(
///     ["tapegrad", "predict", "--weights", "w.safetensors", "--data", "new.csv"],
/// )?;
/// let train::cli::Command::Predict(p) = cli.into_command() else { unreachable!() };
/// assert_eq!((p.data.data.unwrap().to_str(), p.limit), (Some("new.csv"), None));
/// # Ok::<(), clap::Error>(())
/// ```
#[derive(Clone, Debug, Args)]
pub struct PredictArgs {
    /// The weights and the data.
    #[command(flatten)]
    pub data: EvaluateArgs,

    /// Predict only the first N samples.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub limit: Option<usize>,
}

/// The activation functions the command line offers (see [`nn::Activation`]).
///
/// ```
/// use train::cli::ActivationName;
/// assert_eq!(ActivationName::LeakyRelu.activation(), nn::Activation::LeakyRelu(0.01));
/// assert_eq!(ActivationName::from_name("gelu"), Some(ActivationName::Gelu));
/// assert_eq!(ActivationName::Gelu.name(), "gelu");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ActivationName {
    /// `max(x, 0)`.
    Relu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
    /// GELU, exact (with the error function).
    Gelu,
    /// SiLU (swish), `x·σ(x)`.
    Silu,
    /// Leaky ReLU with slope 0.01 for negative inputs (PyTorch's default).
    LeakyRelu,
}

impl ActivationName {
    /// The activation it names.
    pub fn activation(self) -> nn::Activation {
        match self {
            ActivationName::Relu => nn::Activation::Relu,
            ActivationName::Tanh => nn::Activation::Tanh,
            ActivationName::Sigmoid => nn::Activation::Sigmoid,
            ActivationName::Gelu => nn::Activation::Gelu,
            ActivationName::Silu => nn::Activation::Silu,
            ActivationName::LeakyRelu => nn::Activation::LeakyRelu(0.01),
        }
    }

    /// Its name on the command line and in checkpoint metadata.
    pub fn name(self) -> &'static str {
        match self {
            ActivationName::Relu => "relu",
            ActivationName::Tanh => "tanh",
            ActivationName::Sigmoid => "sigmoid",
            ActivationName::Gelu => "gelu",
            ActivationName::Silu => "silu",
            ActivationName::LeakyRelu => "leaky-relu",
        }
    }

    /// The activation called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        <Self as ValueEnum>::from_str(name, false).ok()
    }
}

/// The optimisers the command line offers: [`crate::optim::Sgd`], [`crate::optim::Adam`] and
/// [`crate::optim::AdamW`].
///
/// ```
/// assert_eq!(train::cli::OptimizerName::Adam.default_lr(), 1e-3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerName {
    /// Stochastic gradient descent with momentum.
    Sgd,
    /// Adam.
    Adam,
    /// Adam with decoupled weight decay (AdamW).
    Adamw,
}

impl OptimizerName {
    /// The learning rate used when `--lr` is not given.
    pub fn default_lr(self) -> f64 {
        match self {
            OptimizerName::Sgd => 0.05,
            OptimizerName::Adam | OptimizerName::Adamw => 1e-3,
        }
    }
}

/// Learning-rate schedules of the command line (see [`crate::optim::LrSchedule`]).
///
/// ```
/// use clap::ValueEnum;
/// assert_eq!(train::cli::ScheduleName::from_str("cosine", false), Ok(train::cli::ScheduleName::Cosine));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleName {
    /// The same learning rate every epoch.
    Constant,
    /// Cosine annealing from `--lr` to `--lr / 100` at the last epoch.
    Cosine,
}

/// How `tapegrad train` scales the features (see [`crate::data::Standardizer`]).
///
/// ```
/// assert_eq!(train::cli::TrainArgs::default().scale, train::cli::Scale::Auto);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Scale {
    /// Global for images (an IDX directory), whose pixels share one scale and where a pixel
    /// that is almost always blank would be blown up by its tiny deviation; standard for
    /// tables (the digits, a CSV file), whose columns may have any units.
    Auto,
    /// Each feature to mean 0 and standard deviation 1 (a constant feature is only centred).
    Standard,
    /// Every feature by the same mean and standard deviation, those of all training values.
    Global,
    /// The features as they are.
    None,
}

/// Element types (see [`tape::Element`]).
///
/// ```
/// assert_eq!(train::cli::Dtype::F32, train::cli::TrainArgs::default().dtype);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Dtype {
    /// 32-bit floats.
    F32,
    /// 64-bit floats.
    F64,
}

/// Which samples `evaluate` and `predict` use.
///
/// ```
/// use clap::ValueEnum;
/// assert_eq!(train::cli::Split::from_str("train", false), Ok(train::cli::Split::Train));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Split {
    /// The held-out test part.
    Test,
    /// The training part.
    Train,
    /// Every sample.
    All,
}

fn parse_width(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("a layer width must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "`{s}` is not a layer width; give positive integers separated by commas, e.g. 256,128"
        )),
    }
}

fn parse_classes(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (2..=crate::data::MAX_CLASSES).contains(&n) => Ok(n),
        Ok(n) => Err(format!(
            "{n} classes: a classifier has 2 to {} classes",
            crate::data::MAX_CLASSES
        )),
        Err(_) => Err(format!("`{s}` is not a positive integer")),
    }
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    let byte = match s {
        "tab" | "\\t" | "\t" => b'\t',
        _ if s.len() == 1 => s.as_bytes()[0],
        _ => {
            return Err(format!(
                "`{s}` is not one character; give e.g. `;` or `tab`"
            ));
        }
    };
    if byte.is_ascii() && !matches!(byte, b'"' | b'\r' | b'\n') {
        Ok(byte)
    } else {
        Err(format!(
            "`{s}` cannot separate fields; use an ASCII character other than a quote"
        ))
    }
}

fn parse_count(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("it must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a positive integer")),
    }
}

fn parse_number(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("`{s}` is not a finite number")),
    }
}

fn parse_positive(s: &str) -> Result<f64, String> {
    let v = parse_number(s)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} is not positive"))
    }
}

fn parse_non_negative(s: &str) -> Result<f64, String> {
    let v = parse_number(s)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} is negative"))
    }
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    let v = parse_number(s)?;
    if v > 0.0 && v < 1.0 {
        Ok(v)
    } else {
        Err(format!("{v} is not strictly between 0 and 1"))
    }
}

fn parse_momentum(s: &str) -> Result<f64, String> {
    let v = parse_number(s)?;
    if (0.0..1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not in [0, 1)"))
    }
}

/// The label column of a CSV file when `--label-column` is not given.
pub const DEFAULT_LABEL_COLUMN: &str = "label";

impl TrainArgs {
    /// `--label-column`, or `label` when it is not given.
    pub fn label_column(&self) -> &str {
        self.label_column.as_deref().unwrap_or(DEFAULT_LABEL_COLUMN)
    }
}

impl EvaluateArgs {
    /// `--label-column`, or `label` when it is not given.
    pub fn label_column(&self) -> &str {
        self.label_column.as_deref().unwrap_or(DEFAULT_LABEL_COLUMN)
    }
}

/// How CSV files are read: `--delimiter` (a comma if not given) and, for training,
/// `--classes`.
pub(crate) fn csv_options(
    delimiter: Option<u8>,
    classes: Option<usize>,
) -> crate::data::csv::CsvOptions {
    crate::data::csv::CsvOptions {
        delimiter: delimiter.unwrap_or(b','),
        n_classes: classes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_of_the_parser_equal_train_args_default() {
        let Command::Train(parsed) = Cli::try_parse_from(["tapegrad"]).unwrap().into_command()
        else {
            panic!("no subcommand must mean train");
        };
        let d = TrainArgs::default();
        assert_eq!(
            format!("{parsed:?}"),
            format!("{d:?}"),
            "TrainArgs::default() must match the command line's defaults"
        );
    }

    #[test]
    fn bad_values_name_the_option() {
        for (args, option) in [
            (&["--hidden", "256,0"][..], "--hidden"),
            (&["--epochs", "0"], "--epochs"),
            (&["--lr", "-1"], "--lr"),
            (&["--test-fraction", "1"], "--test-fraction"),
            (&["--momentum", "1.5"], "--momentum"),
            (&["--activation", "swish"], "--activation"),
        ] {
            let err = Cli::try_parse_from(std::iter::once("tapegrad").chain(args.iter().copied()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(option), "{args:?}: {err}");
        }
    }
}
