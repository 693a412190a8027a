//! `tapegrad train` across processes: `mpirun -np 2` on this machine's loopback, against
//! one process with the same global batch, and with a rank killed mid-run.
//!
//! Built only with the feature `mpi`; `mpirun` (OpenMPI) must be on the path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tape::Array;

/// How long a run of the small test model may take before the test calls it a hang.
const LIMIT: Duration = Duration::from_secs(120);

/// `mpirun -np {ranks} tapegrad {args}`, allowed to run as root (as CI does) and to put
/// two ranks on fewer cores.
fn mpirun(ranks: usize, args: &[&str]) -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["--oversubscribe", "-np", &ranks.to_string()])
        .arg(env!("CARGO_BIN_EXE_tapegrad"))
        .args(args)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Waits for `child`, killing it and failing the test if it takes longer than [`LIMIT`].
fn finish(mut child: Child, what: &str) -> Output {
    let start = Instant::now();
    while child.try_wait().expect("the child can be polled").is_none() {
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{what} did not end within {LIMIT:?}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-mpi-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn weights(path: &Path) -> BTreeMap<String, Array<f64>> {
    let ck = train::checkpoint::load::<f64>(path).unwrap();
    ck.tensors
        .into_iter()
        .filter(|(name, _)| !name.starts_with("optimizer."))
        .collect()
}

/// The options of both runs: f64, momentum SGD, batches of 37 (odd, so the ranks' shards
/// differ in size), three epochs on the built-in digits.
const RUN: [&str; 14] = [
    "--hidden",
    "16",
    "--epochs",
    "3",
    "--batch-size",
    "37",
    "--dtype",
    "f64",
    "--optimizer",
    "sgd",
    "--momentum",
    "0.9",
    "--lr",
    "0.05",
];

#[test]
fn two_ranks_train_as_one_process_with_the_same_global_batch_and_rank_0_alone_speaks() {
    let dir = temp_dir("same");
    let (two, threads, one) = (
        dir.join("two-ranks.safetensors"),
        dir.join("two-threads.safetensors"),
        dir.join("one.safetensors"),
    );
    let mut args = RUN.to_vec();
    args.extend(["--save", two.to_str().unwrap()]);
    let out = finish(
        mpirun(2, &args).spawn().expect("mpirun starts"),
        "mpirun -np 2",
    );
    assert_ok(&out, "mpirun -np 2");
    let printed = text(&out.stdout);
    assert_eq!(printed.matches("test accuracy: ").count(), 1, "{printed}");
    assert_eq!(printed.matches("saved the weights").count(), 1, "{printed}");
    assert!(printed.contains("2 processes"), "{printed}");

    for (path, workers) in [(&threads, "2"), (&one, "1")] {
        let mut args = RUN.to_vec();
        args.extend(["--workers", workers, "--save", path.to_str().unwrap()]);
        let out = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
            .args(&args)
            .output()
            .unwrap();
        assert_ok(&out, "one process");
    }
    let (two, threads, one) = (weights(&two), weights(&threads), weights(&one));
    assert_eq!(
        two.keys().collect::<Vec<_>>(),
        one.keys().collect::<Vec<_>>()
    );
    // Two ranks add the two halves of each batch as two threads do: the same bits.
    assert_eq!(two, threads);
    // Against one process, only the rounding of that sum differs (f64).
    let mut worst = 0.0f64;
    for (name, w) in &two {
        for (a, b) in w.data().iter().zip(one[name].data()) {
            worst = worst.max((a - b).abs() / b.abs().max(1.0));
        }
    }
    assert!(worst < 1e-12, "largest relative difference {worst:e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The process `mpirun` (pid `launcher`) started as rank `rank`.
fn rank_pid(launcher: u32, rank: usize) -> Option<u32> {
    let want = format!("OMPI_COMM_WORLD_RANK={rank}");
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            // `pid (comm) state ppid ...`; comm may hold spaces, so split after the `)`.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            let environ = std::fs::read(entry.path().join("environ")).ok()?;
            let has_rank = environ.split(|&b| b == 0).any(|v| v == want.as_bytes());
            (ppid == launcher && has_rank).then_some(pid)
        })
}

#[test]
fn killing_a_rank_stops_the_other_with_an_error_and_keeps_the_last_state_file_whole() {
    let dir = temp_dir("kill");
    let state = dir.join("state.safetensors");
    let args = [
        "--hidden",
        "16",
        "--epochs",
        "100000",
        "--dtype",
        "f64",
        "--save",
        state.to_str().unwrap(),
        "--save-state",
        "--quiet",
    ];
    let child = mpirun(2, &args).spawn().expect("mpirun starts");
    let launcher = child.id();
    // Training is under way once rank 0 has written the state of an epoch or two.
    let start = Instant::now();
    while !state.exists() && start.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(state.exists(), "no state file after {LIMIT:?}");
    std::thread::sleep(Duration::from_millis(300));
    let victim = rank_pid(launcher, 1).expect("rank 1 is running");
    let killed = Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let killed_at = Instant::now();

    let out = finish(child, "mpirun after a rank was killed");
    let stopped_in = killed_at.elapsed();
    assert!(
        !out.status.success(),
        "mpirun reported success after a rank was killed"
    );
    let said = text(&out.stderr) + &text(&out.stdout);
    assert!(
        said.contains("rank 1") && said.contains("signal 9"),
        "{said}"
    );
    assert!(stopped_in < Duration::from_secs(60), "took {stopped_in:?}");
    // Each epoch's state replaced the file atomically: what is there is one epoch, whole.
    let ck = train::checkpoint::load::<f64>(&state).unwrap();
    let epochs: usize = ck.metadata[train::resume::EPOCHS_DONE_KEY].parse().unwrap();
    assert!(epochs >= 1);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_diverging_run_stops_every_rank_at_the_same_step_and_rank_0_keeps_the_last_good_weights() {
    let dir = temp_dir("diverge");
    let saved = dir.join("w.safetensors");
    let args = [
        "--hidden",
        "32",
        "--epochs",
        "5",
        "--optimizer",
        "sgd",
        "--lr",
        "30",
        "--dtype",
        "f64",
        "--save",
        saved.to_str().unwrap(),
    ];
    let out = finish(
        mpirun(2, &args).spawn().expect("mpirun starts"),
        "a diverging run",
    );
    let said = text(&out.stderr);
    assert!(!out.status.success(), "{}{said}", text(&out.stdout));
    assert_eq!(said.matches("error: ").count(), 1, "{said}");
    assert!(
        said.contains("training stopped and the parameters were restored"),
        "{said}"
    );
    assert!(!said.contains("MPI_ABORT"), "{said}");
    assert!(
        text(&out.stdout).contains("saved the weights"),
        "{}",
        text(&out.stdout)
    );
    let kept = weights(&saved);
    assert!(
        kept.values()
            .all(|w| w.data().iter().all(|v| v.is_finite()))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_two_rank_run_stopped_and_resumed_ends_with_the_weights_of_one_never_stopped() {
    let dir = temp_dir("resume");
    let (whole, parts) = (dir.join("whole.safetensors"), dir.join("parts.safetensors"));
    let run = |epochs: &str, save: &Path, resume: bool| {
        let mut args = vec![
            "--hidden",
            "16",
            "--dtype",
            "f64",
            "--schedule",
            "constant",
            "--save-state",
            "--quiet",
            "--epochs",
            epochs,
            "--save",
            save.to_str().unwrap(),
        ];
        if resume {
            args.extend(["--resume", save.to_str().unwrap()]);
        }
        let out = finish(
            mpirun(2, &args).spawn().expect("mpirun starts"),
            "mpirun -np 2",
        );
        assert_ok(&out, "mpirun -np 2");
    };
    run("4", &whole, false);
    run("2", &parts, false);
    assert_ne!(weights(&parts), weights(&whole));
    run("4", &parts, true);
    let (a, b) = (
        train::checkpoint::load::<f64>(&parts).unwrap(),
        train::checkpoint::load::<f64>(&whole).unwrap(),
    );
    // The weights and Adam's moments, bit for bit.
    assert_eq!(a.tensors, b.tensors);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The coefficients `examples/mpi_regression.rs` prints, run on `ranks` ranks (alone, not
/// under `mpirun`, for 0).
fn regression(ranks: usize) -> Vec<f64> {
    // `cargo test` builds the examples beside the test binaries' directory.
    let exe = std::env::current_exe().unwrap();
    let example = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/mpi_regression");
    assert!(
        example.exists(),
        "{} is not built: cargo build --release --features mpi --example mpi_regression",
        example.display()
    );
    let out = if ranks == 0 {
        Command::new(&example).output().unwrap()
    } else {
        let mut cmd = Command::new("mpirun");
        cmd.args(["--oversubscribe", "-np", &ranks.to_string()])
            .arg(&example)
            .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
            .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        finish(cmd.spawn().unwrap(), "the regression example")
    };
    assert_ok(&out, "the regression example");
    let printed = text(&out.stdout);
    let line = printed
        .lines()
        .find(|l| l.starts_with("ranks "))
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        line.starts_with(&format!("ranks {}", ranks.max(1))),
        "{line}"
    );
    line.split(": ")
        .nth(1)
        .unwrap()
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect()
}

#[test]
fn a_hand_written_loop_on_the_communicator_matches_one_process() {
    let alone = regression(0);
    assert_eq!(alone.len(), 11);
    for ranks in [2, 3] {
        let shared = regression(ranks);
        for (a, b) in shared.iter().zip(&alone) {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs(),
                "{ranks} ranks: {a} against {b}"
            );
        }
    }
}

/// A seeded CSV table of `n` rows: 4 features and a label of 3 classes that depends on
/// the first two, with fields of varying width (so that equal shares of bytes hold
/// different numbers of rows).
fn csv_table(n: usize) -> String {
    let mut text = String::from("a,b,c,d,label\n");
    let mut state = 99u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64 - 0.5
    };
    for i in 0..n {
        let row = [next(), 10.0 * next(), 100.0 * next(), next() * i as f64];
        let label = if row[0] > 0.2 {
            2
        } else if row[1] > 0.0 {
            1
        } else {
            0
        };
        text.push_str(&format!(
            "{:.3},{:.5},{:.2},{:.4},{label}\n",
            row[0], row[1], row[2], row[3]
        ));
    }
    text
}

/// The `(correct, total)` of the line `test accuracy: X% (C of N), ...`.
fn test_counts(printed: &str) -> (usize, usize) {
    let line = printed
        .lines()
        .find(|l| l.starts_with("test accuracy: "))
        .unwrap_or_else(|| panic!("no result line in:\n{printed}"));
    let inner = &line[line.find('(').unwrap() + 1..line.find(')').unwrap()];
    let (c, n) = inner.split_once(" of ").unwrap();
    (c.parse().unwrap(), n.parse().unwrap())
}

#[test]
fn two_ranks_stream_their_own_shares_of_a_csv_file() {
    let dir = temp_dir("stream");
    let table = csv_table(3000);
    let path = dir.join("t.csv");
    std::fs::write(&path, &table).unwrap();
    let file = path.to_str().unwrap();
    let args = [
        "--data", file, "--hidden", "16", "--epochs", "5", "--dtype", "f64", "--seed", "3",
    ];
    let alone = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(args)
        .output()
        .unwrap();
    assert_ok(&alone, "one process in memory");
    let (correct_alone, total) = test_counts(&text(&alone.stdout));
    let mut streamed = args.to_vec();
    streamed.push("--stream");
    let out = finish(
        mpirun(2, &streamed).spawn().expect("mpirun starts"),
        "mpirun -np 2 --stream",
    );
    assert_ok(&out, "mpirun -np 2 --stream");
    let printed = text(&out.stdout);
    assert_eq!(printed.matches("test accuracy: ").count(), 1, "{printed}");
    // The test part is the one process's, evaluated as the sum of the two shares.
    let (correct, n) = test_counts(&printed);
    assert_eq!(n, total, "{printed}");
    // Another batch order (each process shuffles its own rows), so other weights; both
    // learn the table (chance is a third).
    let (a, b) = (correct as f64 / n as f64, correct_alone as f64 / n as f64);
    assert!(
        a > 0.8 && b > 0.8,
        "streamed {a}, in memory {b}:\n{printed}"
    );

    // A bad field in the second half: process 1 meets it and names its line in the file,
    // which it numbers without having read the first half.
    let mut lines: Vec<&str> = table.lines().collect();
    let bad_row = "0.1,oops,1,2,0";
    lines[2500] = bad_row;
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let alone = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["--data", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let message = text(&alone.stderr);
    assert!(message.contains("line 2501"), "{message}");
    let message = message.trim().strip_prefix("error: ").unwrap().to_string();
    let out = finish(
        mpirun(2, &["--data", bad.to_str().unwrap(), "--stream"])
            .spawn()
            .expect("mpirun starts"),
        "mpirun -np 2 --stream on a bad file",
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("error (rank 1 of 2): {message}")),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
