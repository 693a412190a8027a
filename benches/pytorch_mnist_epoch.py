"""One real MNIST training epoch in PyTorch on the CPU, the loop of the `mnist` workload of
examples/workloads.rs, to compare tapegrad against in one run on one machine.
Usage: python3 pytorch_mnist_epoch.py THREADS [MNIST_DIR] [sgd128|adam32]
(default ../shared/data/mnist and sgd128; needs torch and numpy: python3 -m venv v;
v/bin/pip install torch numpy)
MLP 784-256-128-10, ReLU, softmax cross-entropy (mean), f32, SGD lr 0.05, batches of 128 in a
new random order each epoch, gathered by index from the 60,000 training images (bytes / 255).
Prints the median epoch time over 5 epochs after 1 warm-up epoch (reading the files is not
timed) and the mean training loss of the last epoch: name value unit.
With adam32, the loop of the `mnist-adam` workload (tapegrad's command-line default):
Adam at lr 0.001 on batches of 32, the median of 3 epochs after 1 warm-up epoch
(MNIST_adam32_epoch)."""
import gzip, os, sys, time, statistics
import numpy as np
import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
data_dir = sys.argv[2] if len(sys.argv) > 2 else "../shared/data/mnist"
mode = sys.argv[3] if len(sys.argv) > 3 else "sgd128"
if mode not in ("sgd128", "adam32"):
    sys.exit(f"mnist: unknown mode {mode!r} (sgd128 or adam32)")
torch.set_num_threads(threads)
torch.manual_seed(0)

def read_idx(name, ndim):
    path = os.path.join(data_dir, name)
    if not os.path.isfile(path):
        sys.exit(f"mnist: no MNIST file {path} (give the directory of the IDX files as the second argument)")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != 0x0800 | ndim:
        sys.exit(f"mnist: {path}: bad magic number 0x{magic:08X}")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)

images = read_idx("train-images-idx3-ubyte.gz", 3)
labels = read_idx("train-labels-idx1-ubyte.gz", 1)
n = images.shape[0]
X = torch.from_numpy(images.reshape(n, -1).astype(np.float32) / np.float32(255))
Y = torch.from_numpy(labels.astype(np.int64))

sizes = [784, 256, 128, 10]
layers = [torch.nn.Linear(sizes[i], sizes[i + 1]) for i in range(3)]
params = [p for l in layers for p in l.parameters()]
if mode == "adam32":
    opt = torch.optim.Adam(params, lr=0.001)
    batch = 32
else:
    opt = torch.optim.SGD(params, lr=0.05)
    batch = 128

def epoch():
    """One epoch; returns the mean loss over its samples."""
    perm = torch.randperm(n)
    total = 0.0
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        xb = X[idx]; yb = Y[idx]
        h = torch.relu(layers[0](xb)); h = torch.relu(layers[1](h)); z = layers[2](h)
        loss = F.cross_entropy(z, yb)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        total += loss.item() * len(idx)
    return total / n

epoch()
ts = []
for _ in range(3 if mode == "adam32" else 5):
    t0 = time.perf_counter(); loss = epoch(); ts.append(time.perf_counter() - t0)
if mode == "adam32":
    print(f"MNIST_adam32_epoch {statistics.median(ts):.3f} s")
else:
    print(f"MNIST_epoch {statistics.median(ts):.3f} s")
    print(f"MNIST_loss {loss:.3f} -")
print("torch", torch.__version__, "threads", threads)
