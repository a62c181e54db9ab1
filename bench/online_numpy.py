"""Quasi-static online learning in numpy, the same work as bench/online.cpp: for each image,
normalise it, I = ln(W) y, s = softmax(I), W += eps s (y - W).

    /usr/bin/python3 bench/online_numpy.py [images.idx.gz] [repetitions]

Prints one line per C: "numpy presentations/C <median seconds per pattern>".
"""

import sys
import time

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from em_numpy import read_idx  # noqa: E402

A, EPS, N, BATCH = 900.0, 0.01, 2000, 200


def present(W, raw):
    y = (A - raw.size) * raw / raw.sum() + 1.0
    I = np.log(W) @ y
    s = np.exp(I - I.max())
    s /= s.sum()
    W += EPS * s[:, None] * (y[None, :] - W)


def main(path, repetitions):
    X = read_idx(path)[:N]
    D = X.shape[1]
    Y = (A - D) * X / X.sum(axis=1, keepdims=True) + 1.0
    rng = np.random.default_rng(1)
    for C in (100, 400, 1000):
        mean = Y.mean(axis=0)
        W = mean + 0.5 * mean.mean() * rng.random((C, D))
        W *= A / W.sum(axis=1, keepdims=True)
        times, k = [], 0
        for _ in range(repetitions):
            start = time.perf_counter()
            for _ in range(BATCH):
                present(W, X[k % N])
                k += 1
            times.append((time.perf_counter() - start) / BATCH)
        print(f"numpy presentations/{C} {float(np.median(times)):.8f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
         int(sys.argv[2]) if len(sys.argv) > 2 else 5)
