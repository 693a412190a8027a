//! What `tapegrad train` shows while it runs: a progress bar with the running loss (on a
//! terminal only) and a table with one row per epoch.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::data::ReadCounter;
use crate::trainer::EpochStats;
use crate::{Result, TrainError};

/// Writes a line to the program's output, turning an I/O error into a [`TrainError`].
macro_rules! say {
    ($out:expr) => {
        writeln!($out).map_err($crate::cli::report::stdout_error)
    };
    ($out:expr, $($arg:tt)*) => {
        writeln!($out, $($arg)*).map_err($crate::cli::report::stdout_error)
    };
}
pub(crate) use say;

/// An error writing to standard output, as a [`TrainError`] naming it.
pub(crate) fn stdout_error(e: std::io::Error) -> TrainError {
    TrainError::io("<standard output>", e)
}

/// The table's header line.
pub(crate) const HEADER: &str = "epoch  train loss  train acc  test loss  test acc  seconds";

/// One row of the table.
pub(crate) fn row(stats: &EpochStats) -> String {
    let pct = |a: Option<f64>| a.map_or("-".into(), |a| format!("{:.2}%", 100.0 * a));
    let (test_loss, test_acc) = match &stats.test {
        Some(t) => (format!("{:.4}", t.loss), pct(t.accuracy)),
        None => ("-".into(), "-".into()),
    };
    format!(
        "{:>5}  {:>10.4}  {:>9}  {:>9}  {:>8}  {:>7.2}",
        stats.epoch + 1,
        stats.train_loss,
        pct(stats.train_accuracy),
        test_loss,
        test_acc,
        stats.seconds
    )
}

/// The live part of the report: a progress bar over every batch of the run, or nothing.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
    /// Running mean of the current epoch's batch losses, weighted by batch size.
    loss_sum: f64,
    count: usize,
}

impl Progress {
    /// A bar over `epochs` epochs if `show`, else an inert reporter.
    pub(crate) fn new(show: bool, epochs: usize) -> Self {
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30.cyan/blue} epoch {msg} [{elapsed_precise}, {eta} left]",
                )
                .expect("internal error: the progress template is invalid")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Progress {
            bar,
            epochs,
            loss_sum: 0.0,
            count: 0,
        }
    }

    /// An epoch of `n_batches` starts.
    pub(crate) fn epoch_start(&mut self, epoch: usize, n_batches: usize) {
        self.loss_sum = 0.0;
        self.count = 0;
        if let Some(bar) = &self.bar {
            if bar.length().is_none() {
                bar.set_length((n_batches * self.epochs) as u64);
            }
            bar.set_message(format!("{}/{}", epoch + 1, self.epochs));
        }
    }

    /// A batch of `size` samples had this loss.
    pub(crate) fn batch(&mut self, epoch: usize, size: usize, loss: f64) {
        self.loss_sum += loss * size as f64;
        self.count += size;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(format!(
                "{}/{}, loss {:.4}",
                epoch + 1,
                self.epochs,
                self.loss_sum / self.count as f64
            ));
        }
    }

    /// Writes `line` to `out` without tearing the bar.
    pub(crate) fn println(&self, out: &mut dyn Write, line: &str) -> Result<()> {
        match &self.bar {
            Some(bar) => bar.suspend(|| say!(out, "{line}")),
            None => say!(out, "{line}"),
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        // Also on an error: never leave a half-drawn bar behind the message.
        self.finish();
    }
}

/// A bar over the bytes of a file being loaded (the bytes read, the rate, the time left),
/// moved by a thread that looks at a [`ReadCounter`] ten times a second; or nothing.
pub(crate) struct LoadBar {
    shown: Option<(ProgressBar, Arc<AtomicBool>, JoinHandle<()>)>,
}

impl LoadBar {
    /// A bar titled `what` over `total` bytes, following `counter`, if `show`.
    pub(crate) fn start(show: bool, what: &str, total: u64, counter: &ReadCounter) -> Self {
        let shown = show.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} {wide_bar:.cyan/blue} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
                )
                .expect("internal error: the progress template is invalid")
                .progress_chars("=> "),
            );
            bar.set_message(what.to_string());
            let stop = Arc::new(AtomicBool::new(false));
            let (ticker_bar, ticker_stop, counter) =
                (bar.clone(), Arc::clone(&stop), counter.clone());
            let ticker = std::thread::spawn(move || {
                while !ticker_stop.load(Ordering::Relaxed) {
                    ticker_bar.set_position(counter.bytes());
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
            (bar, stop, ticker)
        });
        LoadBar { shown }
    }
}

impl Drop for LoadBar {
    fn drop(&mut self) {
        // Also on an error: the bar goes before the message.
        if let Some((bar, stop, ticker)) = self.shown.take() {
            stop.store(true, Ordering::Relaxed);
            let _ = ticker.join();
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trainer::Evaluation;

    #[test]
    fn rows_line_up_with_the_header() {
        let stats = EpochStats {
            epoch: 9,
            lr: 0.001,
            train_loss: 0.012_345,
            train_accuracy: Some(0.9987),
            test: Some(Evaluation {
                loss: 0.0876,
                accuracy: Some(0.975),
                n_samples: 359,
            }),
            seconds: 0.125,
        };
        let r = row(&stats);
        assert_eq!(
            r,
            "   10      0.0123     99.87%     0.0876    97.50%     0.12"
        );
        assert_eq!(r.len(), HEADER.len());
    }
}
