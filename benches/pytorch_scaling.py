"""The scaling runs of tapegrad's `workloads scale` in PyTorch on the CPU, for a side-by-side
table: W1 (the scalar tape) at N ops, and the W2 step at other batch sizes and hidden widths.

Usage: python3 benches/pytorch_scaling.py THREADS [--w1-max N]
Prints one line per figure, `name value unit`, with the names `workloads scale` prints.
PyTorch records a scalar op in microseconds, so W1 stops at --w1-max ops (default 1,000,000).
"""
import sys, time, statistics
import torch
import torch.nn.functional as F

args = sys.argv[1:]
threads = int(args[0]) if args else 1
w1_max = int(args[args.index("--w1-max") + 1]) if "--w1-max" in args else 1_000_000
torch.set_num_threads(threads)
torch.manual_seed(0)


def median_time(fn, reps, warm):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


# W1: acc = acc*0.999 + x[k % 1000] * x[(7k) % 1000], three ops per iteration, then backward.
def w1_total(n_ops):
    xs = [torch.tensor(0.001 * i, dtype=torch.float64, requires_grad=True) for i in range(1000)]
    t0 = time.perf_counter()
    acc = torch.tensor(0.0, dtype=torch.float64)
    for k in range(n_ops // 3):
        acc = acc * 0.999 + xs[k % 1000] * xs[(7 * k) % 1000]
    acc.backward()
    return (time.perf_counter() - t0) / n_ops * 1e9


for n in [10_000, 100_000, 1_000_000, 10_000_000]:
    if n > w1_max:
        continue
    reps = 3 if n >= 1_000_000 else 5
    print(f"W1_total_N{n} {statistics.median(w1_total(n) for _ in range(reps)):.1f} ns/op", flush=True)


# W2 step (784-h-h-10 or 784-256-128-10, ReLU, softmax cross-entropy, SGD lr 0.05) on
# 8 * max(batch, 128) random samples: the median of 30 steps after 5 warm-up steps.
def w2_step(sizes, batch):
    layers = [torch.nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
    params = [p for l in layers for p in l.parameters()]
    opt = torch.optim.SGD(params, lr=0.05)
    samples = 8 * max(batch, 128)
    X = torch.rand(samples, sizes[0]); Y = torch.randint(0, sizes[-1], (samples,))
    state = {"i": 0}

    def step():
        i = state["i"]; state["i"] = (i + batch) % (samples - batch)
        h = X[i:i + batch]
        for l in layers[:-1]:
            h = torch.relu(l(h))
        loss = F.cross_entropy(layers[-1](h), Y[i:i + batch])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()

    return median_time(step, 30, 5) * 1e3


for batch in [32, 128, 512, 1024]:
    print(f"W2_step_batch{batch} {w2_step([784, 256, 128, 10], batch):.3f} ms", flush=True)
for width in [64, 256, 1024, 2048]:
    print(f"W2_step_width{width} {w2_step([784, width, width, 10], 128):.3f} ms", flush=True)
print("torch", torch.__version__, "threads", threads)
