#!/usr/bin/env python3
"""The cost model of data-parallel training on N machines in docs/distributed.md.

A step on N machines takes the compute of its share of the global batch plus one ring
all-reduce of the gradients:

    T(N) = T1 / N  +  2 (N - 1) alpha  +  2 (N - 1) / N * S / beta

T1 is the step time of the whole batch on one machine, S the gradient buffer in bytes
(4 bytes per parameter in f32), alpha the latency of one message and beta the bandwidth of
one link. The compute term is optimistic (it assumes 1/N of the batch runs at the same
speed, while smaller products run slower), so the scaling limits it gives are upper bounds.

Usage: python3 benches/dp_cost_model.py W2_STEP_MS GEMM_GFLOPS
  W2_STEP_MS   the measured W2 step (batch 128) on one machine, in milliseconds
  GEMM_GFLOPS  the measured large-GEMM rate of one machine (W3 1024^3), in GFLOP/s
"""

import sys

NETWORKS = {
    "10 GbE (1.25 GB/s, 30 us)": (1.25e9, 30e-6),
    "100 Gb/s InfiniBand (12.5 GB/s, 2 us)": (12.5e9, 2e-6),
}


def mlp_params(sizes):
    return sum(a * b + b for a, b in zip(sizes, sizes[1:]))


def mlp_flops(sizes, batch):
    """Forward and two backward products per layer, minus the first layer's input gradient."""
    macs = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return 2 * batch * macs * 3 - 2 * batch * sizes[0] * sizes[1]


def step(n, t1, size_bytes, beta, alpha):
    comm = 0.0 if n == 1 else 2 * (n - 1) * alpha + 2 * (n - 1) / n * size_bytes / beta
    return t1 / n + comm


def main():
    w2_step = float(sys.argv[1]) * 1e-3
    gemm = float(sys.argv[2]) * 1e9
    models = {
        "MNIST MLP 784-256-128-10": [784, 256, 128, 10],
        "10x wider 784-2560-1280-10": [784, 2560, 1280, 10],
    }
    ns = [1, 2, 4, 8, 16, 32, 64]
    for name, sizes in models.items():
        p = mlp_params(sizes)
        for batch in (128, 1024):
            if sizes[1] == 256:
                # Measured for batch 128; larger batches scale the products.
                t1 = w2_step * batch / 128
            else:
                t1 = mlp_flops(sizes, batch) / gemm
            print(f"\n{name}: {p:,} parameters ({4 * p / 1e6:.2f} MB in f32), "
                  f"global batch {batch}, T1 = {t1 * 1e3:.2f} ms")
            for net, (beta, alpha) in NETWORKS.items():
                times = [step(n, t1, 4 * p, beta, alpha) for n in ns]
                best = ns[times.index(min(times))]
                half = max(n for n, t in zip(ns, times) if t1 / (n * t) >= 0.5)
                cells = "  ".join(f"N={n}: {t * 1e3:.2f} ms ({t1 / (n * t):.0%})"
                                  for n, t in zip(ns, times))
                print(f"  {net}: fastest at N={best}, efficiency >= 50 % up to N={half}\n    {cells}")


if __name__ == "__main__":
    main()
