//! The files `tapegrad train` writes (`--save`, `--plot`): checked before training, so that
//! a run never ends in an error it could have given at its start, and written afterwards
//! with a fallback, so that trained weights are not lost to a full disk.

use std::path::{Path, PathBuf};

use super::source::Source;
use crate::{Result, TrainError};

/// One output file and the option that named it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Output<'a> {
    pub(crate) option: &'static str,
    pub(crate) path: &'a Path,
    /// A file name to suggest when the path is a directory.
    pub(crate) example: &'static str,
}

/// Checks every output before training: each names a file (not a directory, nor a path
/// ending in a slash) in a directory that exists and can be written (a file is created and
/// removed there to find out), none is the data being read, and no two are the same file.
pub(crate) fn check(outputs: &[Output<'_>], source: &Source) -> Result<()> {
    let mut seen: Vec<(&'static str, PathBuf)> = Vec::new();
    for out in outputs {
        let canonical = check_one(out)?;
        if let Some(data) = data_file_at(source, &canonical) {
            return Err(TrainError::invalid(
                out.option,
                format!(
                    "`{}` is {}, which --data reads; writing there would destroy it. Name another file",
                    out.path.display(),
                    data
                ),
            ));
        }
        if let Some((other, _)) = seen.iter().find(|(_, p)| *p == canonical) {
            return Err(TrainError::invalid(
                out.option,
                format!(
                    "`{}` is also the file of {other}; the two need different files",
                    out.path.display()
                ),
            ));
        }
        seen.push((out.option, canonical));
    }
    Ok(())
}

/// Checks one output and returns its canonical path (the directory's, joined with the name).
fn check_one(out: &Output<'_>) -> Result<PathBuf> {
    let fail = |message: String| TrainError::invalid(out.option, message);
    let shown = out.path.display();
    let text = out.path.as_os_str().to_string_lossy();
    if text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) {
        return Err(fail(format!(
            "`{shown}` ends with a slash, so it names a directory; name a file, e.g. `{shown}{}`",
            out.example
        )));
    }
    let Some(name) = out.path.file_name() else {
        return Err(fail(format!("`{shown}` does not name a file")));
    };
    if out.path.is_dir() {
        return Err(fail(format!(
            "`{shown}` is a directory; name a file, e.g. `{}`",
            out.path.join(out.example).display()
        )));
    }
    let dir = match out.path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        let why = if dir.exists() {
            "is not a directory"
        } else {
            "does not exist"
        };
        return Err(fail(format!(
            "cannot write `{shown}`: the directory `{}` {why}",
            dir.display()
        )));
    }
    // Whether the directory can be written is known only by trying: permissions, a
    // read-only file system, access control lists. The probe's name is one that the next
    // save to this path removes if this process is killed before it does.
    let probe = dir.join(format!(
        ".{}.tmp-{}-probe",
        name.to_string_lossy(),
        std::process::id()
    ));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(file) => {
            drop(file);
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => {
            return Err(fail(format!(
                "cannot write in the directory `{}`: {e}",
                dir.display()
            )));
        }
    }
    let canonical_dir = dir
        .canonicalize()
        .map_err(|e| fail(format!("cannot resolve `{}`: {e}", dir.display())))?;
    Ok(canonical_dir.join(name))
}

/// What `--data` reads at `canonical`, if anything: the CSV file itself, or a file of the
/// IDX directory.
fn data_file_at(source: &Source, canonical: &Path) -> Option<String> {
    match source {
        Source::Digits => None,
        Source::Csv(file) => {
            let data = file.canonicalize().ok()?;
            (data == canonical).then(|| "the data file".to_string())
        }
        Source::Idx(dir) => {
            let data = dir.canonicalize().ok()?;
            let name = canonical.file_name()?.to_string_lossy();
            let is_idx = ["train-images", "train-labels", "t10k-images", "t10k-labels"]
                .iter()
                .any(|stem| name.starts_with(stem));
            (canonical.parent() == Some(data.as_path()) && is_idx)
                .then(|| "a file of the IDX directory".to_string())
        }
    }
}

/// Runs `write` on `path`; if it fails, runs it on a file of the same name in the system's
/// temporary directory, so that what was computed is not lost, and returns the error of the
/// first attempt naming the option and saying where the file went.
pub(crate) fn write_or_rescue(
    option: &'static str,
    path: &Path,
    write: impl Fn(&Path) -> Result<()>,
) -> Result<()> {
    let Err(first) = write(path) else {
        return Ok(());
    };
    let name = path
        .file_name()
        .map_or_else(|| "weights".into(), |n| n.to_string_lossy().into_owned());
    let rescue =
        std::env::temp_dir().join(format!("tapegrad-rescued-{}-{name}", std::process::id()));
    let message = match write(&rescue) {
        Ok(()) => format!(
            "{first}; it was written to {} instead, so nothing is lost. Move it where it belongs once there is room",
            rescue.display()
        ),
        Err(second) => format!(
            "{first}; writing it to {} failed too: {second}",
            rescue.display()
        ),
    };
    Err(TrainError::invalid(option, message))
}
