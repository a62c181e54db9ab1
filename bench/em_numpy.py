"""One batch-EM step in numpy, the same computation as bench/em.cpp, for the comparison.

    /usr/bin/python3 bench/em_numpy.py [images.idx.gz] [repetitions]

Prints one line per C: "numpy em_step/C <median seconds per step> <GFLOP/s>".
"""

import gzip
import struct
import sys
import time

import numpy as np

A = 900.0


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, kind, rank = struct.unpack(">HBB", data[:4])
    dims = struct.unpack(f">{rank}I", data[4 : 4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims[0], -1).astype(np.float64)


def em_step(Y, W):
    """Y: N × D normalised data; W: C × D. Returns the new W and the log-likelihood term."""
    L = Y @ np.log(W).T - W.sum(axis=1)  # N × C
    top = L.max(axis=1, keepdims=True)
    lse = top + np.log(np.exp(L - top).sum(axis=1, keepdims=True))
    R = np.exp(L - lse)
    S = R.T @ Y  # C × D
    return A * S / S.sum(axis=1, keepdims=True), lse.sum()


def main(path, repetitions):
    raw = read_idx(path)
    D = raw.shape[1]
    Y = (A - D) * raw / raw.sum(axis=1, keepdims=True) + 1.0
    rng = np.random.default_rng(1)
    for C in (100, 400):
        mean = Y.mean(axis=0)
        W = mean + 0.5 * mean.mean() * rng.random((C, D))
        W = A * W / W.sum(axis=1, keepdims=True)
        times = []
        for _ in range(repetitions):
            start = time.perf_counter()
            W, _ = em_step(Y, W)
            times.append(time.perf_counter() - start)
        median = float(np.median(times))
        print(f"numpy em_step/{C} {median:.6f} {4.0 * C * D * Y.shape[0] / median / 1e9:.2f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
         int(sys.argv[2]) if len(sys.argv) > 2 else 5)
