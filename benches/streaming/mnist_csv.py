"""Writes MNIST's training images as a CSV table for the streaming measurements of
docs/PERFORMANCE.md: 784 pixel columns (0-255) and a `label` column, one row per image, in the
order of the IDX file, or sorted by label with --sorted (the worst case for a shuffle buffer).

    python3 benches/streaming/mnist_csv.py ../shared/data/mnist OUT.csv [--sorted]

Reads train-images-idx3-ubyte(.gz) and train-labels-idx1-ubyte(.gz) from the directory. The
sort is stable, so the same input always gives the same bytes.
"""

import gzip
import os
import struct
import sys


def read_idx(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            opener = gzip.open if candidate.endswith(".gz") else open
            with opener(path, "rb") as f:
                return f.read()
    sys.exit(f"{name}(.gz) not found in {directory}")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    directory, out = sys.argv[1], sys.argv[2]
    sort = "--sorted" in sys.argv[3:]
    images = read_idx(directory, "train-images-idx3-ubyte")
    labels = read_idx(directory, "train-labels-idx1-ubyte")
    magic, n, rows, cols = struct.unpack(">IIII", images[:16])
    assert magic == 2051, "not an IDX image file"
    assert struct.unpack(">II", labels[:8]) == (2049, n), "labels do not match the images"
    size = rows * cols
    order = list(range(n))
    if sort:
        order.sort(key=lambda i: labels[8 + i])
    with open(out, "w") as f:
        f.write(",".join(f"p{j}" for j in range(size)) + ",label\n")
        for i in order:
            pixels = images[16 + i * size : 16 + (i + 1) * size]
            f.write(",".join(map(str, pixels)) + f",{labels[8 + i]}\n")


if __name__ == "__main__":
    main()
