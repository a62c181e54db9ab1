"""The ODE regime in Brian2 (Cython target), the same work as bench/ode.cpp's euler case:
feedforward inhibition (a pool h and D input rates y), C softmax output units u, and
all-to-all plastic log-weight synapses with synaptic scaling, Euler steps of 0.1 ms,
Fashion-MNIST images presented for 1 ms each.

    /usr/bin/python3 bench/ode_brian2.py [images.idx.gz] [repetitions]

Prints "brian2 steps/euler/C <median seconds per step>". The softmax s_c = exp(u_c − u_0) / Z
takes Z = Σ_c exp(u_c − u_0) from a summed variable (linked variables reach neither
synapses nor summed variables, so ex = exp(u − u_0) and s are computed by run_regularly) (Brian2 has no max over a group; the
shift by unit 0 keeps exp finite while the units stay within ~700 of each other, as they
do here).
"""

import logging
import statistics
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from em_numpy import read_idx  # noqa: E402

import brian2 as b2  # noqa: E402

A, C, N, TAU, TAU_W, DT, STEPS = 900.0, 100, 200, 1.0, 100.0, 0.1, 100


def build(X):
    b2.prefs.codegen.target = "cython"
    b2.prefs.logging.std_redirection = False
    b2.BrianLogger.suppress_name("brian2")
    logging.getLogger("brian2").setLevel(logging.ERROR)
    b2.start_scope()
    b2.defaultclock.dt = DT * b2.ms
    D = X.shape[1]
    tau, tau_w = TAU * b2.ms, TAU_W * b2.ms
    gain = A - D
    x = b2.TimedArray(X, dt=1 * b2.ms)                 # raw pixels, pattern by pattern
    total = b2.TimedArray(X.sum(axis=1), dt=1 * b2.ms)  # Σ_d x_d
    pool = b2.NeuronGroup(1, "dh/dt = (total(t) - h) / tau : 1", method="euler")
    inp = b2.NeuronGroup(D, """dy/dt = (gain * x(t, i) / h_pool + 1 - y) / tau : 1
                               h_pool : 1 (linked)""", method="euler")
    inp.h_pool = b2.linked_var(pool, "h")
    out = b2.NeuronGroup(C, """du/dt = (I - u) / tau : 1
                               I : 1
                               u0 : 1 (linked)
                               Z : 1 (linked)
                               ex : 1
                               s : 1""", method="euler")
    norm = b2.NeuronGroup(1, "Zsum : 1")
    out.u0 = b2.linked_var(out, "u", index=np.zeros(C, dtype=int))
    out.Z = b2.linked_var(norm, "Zsum", index=np.zeros(C, dtype=int))
    zsum = b2.Synapses(out, norm, "Zsum_post = ex_pre : 1 (summed)")
    zsum.connect()
    out.run_regularly("ex = exp(u - u0)", when="start")
    out.run_regularly("s = ex / Z", when="before_groups", order=1)
    ff = b2.Synapses(inp, out, """dw/dt = s_post * (y_pre - w) / tau_w : 1 (clock-driven)
                                  I_post = log(w) * y_pre : 1 (summed)""", method="euler")
    ff.connect()
    # Initial state: the input at its fixed point, weights at the data mean plus noise.
    y = gain * X / X.sum(axis=1, keepdims=True) + 1.0
    rng = np.random.default_rng(1)
    W = y.mean(axis=0)[None, :] + 0.5 * y.mean() * rng.uniform(size=(C, D))
    W *= A / W.sum(axis=1, keepdims=True)
    ff.w[:] = W.T.ravel()  # connect() orders synapses by presynaptic index
    pool.h = X[0].sum()
    inp.y = y[0]
    u = np.log(W) @ y[0]
    out.u = u
    out.ex = np.exp(u - u[0])
    norm.Zsum = out.ex[:].sum()
    out.s = out.ex[:] / norm.Zsum[0]
    net = b2.Network(pool, inp, out, norm, zsum, ff)
    return net, dict(tau=tau, tau_w=tau_w, gain=gain, x=x, total=total)


def main(path, repetitions):
    X = read_idx(path)[:N].astype(float)
    net, names = build(X)
    net.run(10 * DT * b2.ms, namespace=names)  # compiles the Cython code
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        net.run(STEPS * DT * b2.ms, namespace=names)
        times.append((time.perf_counter() - start) / STEPS)
    print(f"brian2 steps/euler/{C} {statistics.median(times):.9f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
         int(sys.argv[2]) if len(sys.argv) > 2 else 5)
