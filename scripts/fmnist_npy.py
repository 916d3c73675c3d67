#!/usr/bin/python3
"""Fashion-MNIST idx.gz files -> .npy for calibration and accuracy tests.

Reads Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist/*.gz) and writes,
normalized as in training, x = (pixel / 255 - 0.2860) / 0.3530 (tests/data/fmnist/PROVENANCE.md):

  OUT/calib.npy        [C,1,28,28] float32, the first C images of the train set (default 500)
  OUT/test.npy         [T,1,28,28] float32, the first T images of the t10k test set (default 1000)
  OUT/test_labels.npy  [T] int64, their labels

Run with Debian's python (python3-numpy): /usr/bin/python3 scripts/fmnist_npy.py OUT [--calib C] [--test T]
"""
import argparse
import gzip
import os
import sys

import numpy as np

MEAN, STD = 0.2860, 0.3530


def read_idx(path, magic, count):
    with gzip.open(path, "rb") as f:
        head = f.read(4)
        if int.from_bytes(head, "big") != magic:
            sys.exit(f"fmnist_npy: '{path}' is not an idx file with magic {magic:#x}")
        dims = [int.from_bytes(f.read(4), "big") for _ in range(magic & 0xFF)]
        if count > dims[0]:
            sys.exit(f"fmnist_npy: '{path}' holds {dims[0]} items, {count} asked")
        per = int(np.prod(dims[1:])) if len(dims) > 1 else 1
        data = np.frombuffer(f.read(count * per), dtype=np.uint8)
        return data.reshape([count] + dims[1:])


def images(path, count):
    x = read_idx(path, 0x803, count).astype(np.float32)
    x = (x / np.float32(255.0) - np.float32(MEAN)) / np.float32(STD)
    return x.reshape(count, 1, 28, 28).astype(np.float32)


def save(path, array):
    tmp = path + ".tmp.npy"
    np.save(tmp, array)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--calib", type=int, default=500)
    p.add_argument("--test", type=int, default=1000)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    d = a.data_dir
    save(os.path.join(a.out, "calib.npy"), images(os.path.join(d, "train-images-idx3-ubyte.gz"), a.calib))
    save(os.path.join(a.out, "test.npy"), images(os.path.join(d, "t10k-images-idx3-ubyte.gz"), a.test))
    labels = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"), 0x801, a.test).astype(np.int64)
    save(os.path.join(a.out, "test_labels.npy"), labels)
    print(f"fmnist_npy: wrote {a.calib} calibration and {a.test} test images to {a.out}")


if __name__ == "__main__":
    main()
