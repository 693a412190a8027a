"""Runs tapegrad's workloads and PyTorch's side by side, alternating, and prints how each
figure compares with the performance targets in docs/PERFORMANCE.md.

Usage (from the repository root, after `cargo build --release --example workloads`):

    python3 benches/compare.py [--rounds R] [--threads 1,2] [--python PY]
                               [--pytorch-script PATH] [--mnist DIR] [--json FILE]

Each round runs, for every thread count, `target/release/examples/workloads --threads T W1 W2
W3 W4` and `PY PYTORCH_SCRIPT T` (by default `python3 ../shared/bench/pytorch_workloads.py`),
in alternating order from round to round, so that a host that slows down or speeds up during
the sitting weighs on both sides alike. With `--mnist DIR` each round also runs the real MNIST
epoch on both sides (`workloads --mnist DIR mnist` and `benches/pytorch_mnist_epoch.py T DIR`).

Both programs print `name value unit` lines. A ratio is tapegrad / PyTorch for one figure in
one round (for GFLOP/s too, so there a ratio above 1 means tapegrad is faster). The table gives
each side's median, the median and range of the per-round ratios, the target, and in how many
rounds the target was met. "best / best" sets each side's best round against the other's
(lowest time, highest GFLOP/s): on a shared host whose speed changes from minute to minute,
the best round is the one least disturbed. `--json FILE` also writes every round's figures.
Only the standard library is needed here; PY must have torch (and numpy for --mnist)."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = os.path.join(ROOT, "target", "release", "examples", "workloads")


def target(name, threads):
    """The target for a figure as (kind, bound, text): kind "ratio_max" bounds tapegrad /
    PyTorch from above, "ratio_min" from below, "abs_max" bounds tapegrad's own value."""
    if name == "W1_total":
        return ("abs_max", 10.0, "≤ 10 ns/op")
    if name == "W1_memory":
        # The target is 32 bytes per scalar node (a 24-byte node and its 8-byte value, pinned
        # by a unit test); the figure is the growth of resident memory per op while W1 is
        # recorded, which also counts the inputs and the allocator's pages.
        return ("abs_max", 32.5, "32 B/node (≤ 32.5 B/op of RSS)")
    if name in ("W2_step", "W2_epoch", "MNIST_epoch"):
        bound = 0.7 if threads == 1 else 0.6
        return ("ratio_max", bound, f"≤ {bound}× PyTorch")
    if name.startswith("W3_gemm"):
        return ("ratio_min", 0.9, "≥ 0.9× PyTorch")
    if name == "W4_add4":
        return ("abs_max", 100.0, "≤ 100 ns/op")
    return None


def parse(text):
    """`name value unit` lines into {name: (value, unit)}; other lines are skipped."""
    figures = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        try:
            figures[parts[0]] = (float(parts[1]), parts[2])
        except ValueError:
            continue
    return figures


def run(cmd):
    """Runs `cmd` from the repository root and returns its figures; stops the comparison with
    the command and its error output if it fails."""
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(
            f"compare: `{' '.join(cmd)}` failed with exit code {done.returncode}:\n"
            f"{done.stderr.strip()}"
        )
    figures = parse(done.stdout)
    if not figures:
        sys.exit(f"compare: `{' '.join(cmd)}` printed no figures:\n{done.stdout.strip()}")
    return figures


def fmt(x):
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=5, help="rounds per thread count (default 5)")
    p.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    p.add_argument("--python", default="python3", help="a Python with torch (default python3)")
    p.add_argument(
        "--pytorch-script",
        default=os.path.join(ROOT, "..", "shared", "bench", "pytorch_workloads.py"),
        help="the PyTorch workloads script (default ../shared/bench/pytorch_workloads.py)",
    )
    p.add_argument("--mnist", metavar="DIR", help="also compare a real MNIST epoch, data in DIR")
    p.add_argument("--json", metavar="FILE", help="write every round's figures to FILE")
    args = p.parse_args()
    if args.rounds < 1:
        sys.exit("compare: --rounds must be at least 1")
    try:
        thread_counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        sys.exit(f"compare: --threads takes numbers separated by commas, not {args.threads!r}")
    if not os.path.isfile(WORKLOADS):
        sys.exit(
            f"compare: no {WORKLOADS}; build it first with "
            "`cargo build --release --example workloads`"
        )
    if not os.path.isfile(args.pytorch_script):
        sys.exit(f"compare: no PyTorch script at {args.pytorch_script} (see --pytorch-script)")

    # ours[t][name] and theirs[t][name]: one value per round.
    ours = {t: {} for t in thread_counts}
    theirs = {t: {} for t in thread_counts}
    start = time.time()
    for r in range(args.rounds):
        for t in thread_counts:
            sides = [
                (ours, [WORKLOADS, "--threads", str(t), "W1", "W2", "W3", "W4"]),
                (theirs, [args.python, args.pytorch_script, str(t)]),
            ]
            if args.mnist:
                sides.append((ours, [WORKLOADS, "--threads", str(t), "--mnist", args.mnist, "mnist"]))
                sides.append(
                    (theirs, [args.python, os.path.join(HERE, "pytorch_mnist_epoch.py"), str(t), args.mnist])
                )
            # Alternate who goes first, so that drift in the host's speed is shared.
            if r % 2 == 1:
                sides.reverse()
            for store, cmd in sides:
                for name, (value, unit) in run(cmd).items():
                    store[t].setdefault(name, []).append((value, unit))
            print(
                f"round {r + 1}/{args.rounds}, {t} thread(s) done ({time.time() - start:.0f} s, "
                f"load {os.getloadavg()[0]:.2f})",
                file=sys.stderr,
            )

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tapegrad": ours, "pytorch": theirs}, f, indent=1)

    print(
        "| threads | figure | tapegrad (median) | PyTorch (median) | ratio, median (range) "
        "| best / best | target | rounds met |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for t in thread_counts:
        for name, mine in ours[t].items():
            unit = mine[0][1]
            values = [v for v, _ in mine]
            other = [v for v, _ in theirs[t].get(name, [])]
            tgt = target(name, t)
            ratios = [a / b for a, b in zip(values, other) if b > 0]
            if tgt is None and not ratios:
                continue
            med = statistics.median(values)
            cells = [str(t), name, f"{fmt(med)} {unit}"]
            if ratios:
                cells.append(f"{fmt(statistics.median(other))} {unit}")
                cells.append(
                    f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"
                )
                best = max if unit.endswith("FLOP/s") else min
                cells.append(f"{best(values) / best(other):.2f}")
            else:
                cells += ["–", "–", "–"]
            if tgt is None:
                cells += ["–", "–"]
            else:
                kind, bound, text = tgt
                if kind == "abs_max":
                    met = sum(v <= bound for v in values)
                    n = len(values)
                elif kind == "ratio_max":
                    met = sum(x <= bound for x in ratios)
                    n = len(ratios)
                else:
                    met = sum(x >= bound for x in ratios)
                    n = len(ratios)
                cells += [text, f"{met} of {n}"]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
