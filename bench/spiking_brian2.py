"""The spiking circuit in Brian2 (Cython target, the fastest runtime target here), the same
work as bench/spiking.cpp: a stochastic winner-take-all learning a Poisson mixture (Nessler
et al. 2013). Fashion-MNIST images ỹ, normalised by feedforward inhibition to
y_d = (A − D) ỹ_d / Σ_d ỹ_d + 1, each presented for 50 ms, in order, drive D Poisson inputs
at ν y_d; their traces x_d (τ_x = 20 ms, +1 per spike) normalised to x̂ = A x / Σ_d x_d drive
C output units u_c = Σ_d x̂_d ln W_cd, which fire together at R spikes/ms, unit c with
probability softmax(u)_c; a spike of unit c moves W_c· by η (x̂ − W_c·). Steps of 0.5 ms.

    /usr/bin/python3 bench/spiking_brian2.py [images.idx.gz] [repetitions]

Prints "brian2 spiking/C <median seconds per simulated ms>" (compare.sh's case "C") and, on
stderr, the input and output spikes per ms (≈ A ν = 450 and R = 0.2).

Each step, in Brian2's schedule (the groups' `order` chains the summed variables): the
traces decay; Σ_d x_d, x̂, u and the softmax from them; input and output spikes; the weight
update of each output spike; the input spikes' jumps of x. The softmax shifts by unit 0, as
bench/ode_brian2.py does (Brian2 has no max over a group; with A − D = 116 the units stay
within tens of each other). Output unit c fires with probability R softmax(u)_c dt per step,
the same process as one population at rate R as dt → 0. ln W is kept beside W (updated at
each output spike) so the 78,400-synapse sum takes no logarithm; that sum is ~60% of the
time. The numpy target is ~4× slower than Cython here; input spikes driving the outputs
event-driven (on_pre) instead of the summed variable is no faster.
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

A, C, N, DT = 900.0, 100, 1000, 0.5            # N patterns for the initial weights; dt [ms]
NU, R, ETA, TAU_X, T = 0.5, 0.2, 0.01, 20.0, 50.0  # ν, R [1/ms]; η; τ_x, presentation T [ms]
PRESENTATIONS = 100                             # per timed run (5 s simulated)


def build(X, presentations):
    b2.prefs.codegen.target = "cython"
    b2.prefs.logging.std_redirection = False
    b2.BrianLogger.suppress_name("brian2")
    logging.getLogger("brian2").setLevel(logging.ERROR)
    b2.start_scope()
    b2.seed(1)
    b2.defaultclock.dt = DT * b2.ms
    D = X.shape[1]
    Y = (A - D) * X / X.sum(axis=1, keepdims=True) + 1.0
    y = b2.TimedArray(Y[np.arange(presentations) % len(Y)], dt=T * b2.ms)  # in order
    names = dict(A=A, D=D, y=y, nu=NU / b2.ms, R=R / b2.ms, eta=ETA, tau_x=TAU_X * b2.ms)
    inp = b2.NeuronGroup(D, """dx/dt = -x / tau_x : 1
                               xhat : 1
                               X : 1 (linked)""",
                         threshold="rand() < nu * y(t, i) * dt", reset="x += 1",
                         method="exact")                # x decays at order 0
    pool = b2.NeuronGroup(1, "Xsum : 1", order=2)      # Σ_d x_d, summed at order 1
    out = b2.NeuronGroup(C, """u : 1
                               ex : 1
                               u0 : 1 (linked)
                               Z : 1 (linked)""",
                         threshold="rand() < R * ex / Z * dt", order=4)  # u summed at order 3
    norm = b2.NeuronGroup(1, "Zsum : 1", order=6)      # Σ_c exp(u_c − u_0), summed at order 5
    inp.X = b2.linked_var(pool, "Xsum", index=np.zeros(D, dtype=int))
    out.u0 = b2.linked_var(out, "u", index=np.zeros(C, dtype=int))
    out.Z = b2.linked_var(norm, "Zsum", index=np.zeros(C, dtype=int))
    xsum = b2.Synapses(inp, pool, "Xsum_post = x_pre : 1 (summed)")
    # x̂ = A/D each before the first spike (Σ_d x_d = 0)
    inp.run_regularly("xhat = A * (x + int(X == 0)) / (X + D * int(X == 0))",
                      when="groups", order=2)
    ff = b2.Synapses(inp, out, """w : 1
                                  lw : 1
                                  u_post = xhat_pre * lw : 1 (summed)""",
                     on_post="w += eta * (xhat_pre - w)\nlw = log(w)")
    out.run_regularly("ex = exp(u - u0)", when="groups", order=4)
    zsum = b2.Synapses(out, norm, "Zsum_post = ex_pre : 1 (summed)")
    for s in (xsum, ff, zsum):
        s.connect()
    rng = np.random.default_rng(1)
    mean = Y.mean(axis=0)
    W = mean + 0.5 * mean.mean() * rng.random((C, D))
    W *= A / W.sum(axis=1, keepdims=True)
    ff.w[:] = W.T.ravel()  # connect() orders synapses by presynaptic index
    ff.lw[:] = np.log(W.T.ravel())
    net = b2.Network(inp, pool, out, norm, xsum, ff, zsum)
    return net, names, (inp, out)


def main(path, repetitions):
    X = read_idx(path)[:N]
    net, names, groups = build(X, 1 + (repetitions + 1) * PRESENTATIONS)
    net.run(T * b2.ms, namespace=names)  # one presentation; compiles the Cython code
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        net.run(PRESENTATIONS * T * b2.ms, namespace=names)
        times.append((time.perf_counter() - start) / (PRESENTATIONS * T))
    spikes = [b2.SpikeMonitor(g, record=False) for g in groups]  # counted after the timing
    net.add(spikes)
    net.run(PRESENTATIONS * T * b2.ms, namespace=names)
    inputs, outputs = (m.num_spikes / (PRESENTATIONS * T) for m in spikes)
    print(f"spikes per ms: input {inputs:.1f} (A nu = {A * NU:g}), output {outputs:.3f} (R = {R:g})",
          file=sys.stderr)
    print(f"brian2 spiking/{C} {statistics.median(times):.9f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else
         "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
         int(sys.argv[2]) if len(sys.argv) > 2 else 5)
