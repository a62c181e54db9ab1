"""The seed's circuit from Python: feedforward inhibition, softmax competition and
Hebbian learning with synaptic scaling learn the bars; the weights are read back as a
numpy view, the traces go to HDF5.

    python examples/keck2012.py [out.h5]      # with the package installed (README.md)
    PYTHONPATH=build/python /usr/bin/python3 examples/keck2012.py [out.h5]   # from the build
"""

import sys

import numpy as np

import ratesim
from ratesim import traces

A, C, side = 40.0, 10, 5
D = side * side
rng = np.random.default_rng(2)

# Bars: each image one horizontal or vertical bar (intensity 10) on a background of 1.
generating = np.ones((C, D))
for b in range(side):
    generating[b].reshape(side, side)[b, :] = 10.0
    generating[side + b].reshape(side, side)[:, b] = 10.0
patterns = rng.poisson(generating[rng.integers(0, C, 2000)]).astype(float)

net = ratesim.Network()
net.add_population("feedforward_inhibition", "input", size=D, A=A)
net.add_population("softmax_competition", "output", size=C)
y = (A - D) * patterns / patterns.sum(axis=1, keepdims=True) + 1.0  # normalised input
W0 = y.mean(axis=0) + 0.5 * y.mean() * rng.random((C, D))
W0 *= A / W0.sum(axis=1, keepdims=True)
net.connect("input", "output", "ff", W0, rule="synaptic_scaling", tau=500.0)
net.stimulate_patterns("input", patterns, duration=1.0, shuffle=True, seed=7)

sim = ratesim.QuasiStaticSimulation(net)
out = ratesim.Recorder(sys.argv[1] if len(sys.argv) > 1 else "keck2012-python.h5", mode="overwrite")
out.record_weight_sums("ff", every=1000.0)
out.record("output", "rate", every=100.0)
sim.attach(out)
sim.run_presentations(40000)
out.close()

W = net.weights("ff")  # a view of the network's own memory
target = (A - D) * generating / generating.sum(axis=1, keepdims=True) + 1.0
errors = [np.abs(W - t).sum(axis=1).min() / np.abs(t).sum() for t in target]
print(f"worst relative L1 error over the bars: {max(errors):.4f}")
print(f"weight sums: {W.sum(axis=1).min():.12f} .. {W.sum(axis=1).max():.12f} (A = {A})")
with traces.open_run(out.path) as run:
    print("recorded:", ", ".join(traces.names(run)))
