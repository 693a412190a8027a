//! SIGINT and SIGTERM: the program ends as it would without a handler, but first removes
//! the temporary file of a save in progress, so that an interrupted `--save` leaves nothing
//! behind (the file at the target is the previous one, whole, as the rename never happened).

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::checkpoint;

/// Starts a thread that waits for SIGINT or SIGTERM, removes the temporary files being
/// written, and ends the process by the signal's default action. Without a handler (if it
/// cannot be installed) the signals keep their default action.
pub(crate) fn clean_up_on_interrupt() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            // Held to the end: no save can start or finish while the process ends.
            let files = checkpoint::temporary_files();
            for file in files.iter() {
                let _ = std::fs::remove_file(file);
            }
            let _ = signal_hook::low_level::emulate_default_handler(signal);
            // Not reached where the default action ends the process, as it does for both.
            std::process::exit(128 + signal);
        }
    });
}
